import DaemonSettings
import Foundation
import JourneyCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The Unix and TCP listeners of `cjmd run` (docs/events.md, docs/reliability.md): bound from the configuration,
/// or adopted from systemd socket activation by source name. On graceful shutdown it stops
/// accepting and reading, waits until everything received is committed (so pending
/// acknowledgements go out), then closes the connections.
public final class SocketSources: SourceService, Sendable {
    private let initialSources: [SourceSettings]
    private let inherited: [String: Int32]
    /// Bound listeners by source name, with the settings they were bound for.
    private let listeners = NIOLockedValueBox([String: (settings: SourceSettings, channel: any Channel)]())
    private let pipeline: LivePipeline
    private let group: any EventLoopGroup
    private let clock: @Sendable () -> EventTime
    private let logger: Logger
    private let onListening: @Sendable ([String]) -> Void
    private let onConnections: @Sendable (_ source: String, _ open: Int) -> Void
    private let openBySource = NIOLockedValueBox([String: Int]())
    private let connections = NIOLockedChannelSet()
    private let refusals = RefusalCounter()
    private let idleCloses = RefusalCounter()

    /// - Parameters:
    ///   - inherited: socket-activated listening descriptors by name (`LISTEN_FDNAMES`).
    ///   - onListening: called once every listener is bound, with their descriptions.
    ///   - onConnections: told a source's number of open client connections when it changes.
    public init(
        sources: [SourceSettings], inherited: [String: Int32] = [:], pipeline: LivePipeline,
        group: any EventLoopGroup, clock: @escaping @Sendable () -> EventTime, logger: Logger,
        onListening: @escaping @Sendable ([String]) -> Void = { _ in },
        onConnections: @escaping @Sendable (_ source: String, _ open: Int) -> Void = { _, _ in }
    ) {
        self.initialSources = Self.ownSources(sources)
        self.inherited = inherited
        self.pipeline = pipeline
        self.group = group
        self.clock = clock
        self.logger = logger
        self.onListening = onListening
        self.onConnections = onConnections
    }

    public static func runs(_ kind: SourceSettings.Kind) -> Bool {
        switch kind {
        case .unix, .tcp: true
        case .tail, .http, .jetstream: false
        }
    }

    public func run() async throws {
        var descriptions: [String] = []
        do {
            for source in initialSources {
                let channel = try await bind(source)
                listeners.withLockedValue { $0[source.name] = (source, channel) }
                descriptions.append("\(source.name) (\(channel.localAddress.map { "\($0)" } ?? "?"))")
            }
        } catch {
            for listener in listeners.withLockedValue({ $0.values.map(\.channel) }) { try? await listener.close() }
            throw error
        }
        logger.info("listening", metadata: ["sources": "\(descriptions.joined(separator: ", "))"])
        onListening(descriptions)

        try? await gracefulShutdown()

        // Stop accepting and reading; then let the pipeline commit what was received.
        let bound = listeners.withLockedValue { current in
            defer { current = [:] }
            return Array(current.values)
        }
        for listener in bound { try? await listener.channel.close() }
        connections.forEach { channel in
            channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        }
        let queue = pipeline.queue
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.whenCommittedOrAbandoned(through: queue.lastSubmittedTicket) { continuation.resume() }
        }
        // Give the event loops a moment to write the acknowledgements just released.
        try? await Task.sleep(for: .milliseconds(100))
        connections.forEach { $0.close(promise: nil) }
        // Socket files this process created go with it (systemd removes its own).
        for listener in bound where inherited[listener.settings.name] == nil {
            if case .unix(let path, _) = listener.settings.kind { unlink(path) }
        }
        if queue.isAbandoned {
            logger.warning("sources closed; what was received and not committed is left to the clients to send again")
        } else {
            logger.info("sources closed; everything received is committed")
        }
    }

    /// Reload: binds sources that are new or changed, closes listeners of sources that are
    /// gone or changed (their open connections stay until the clients close them).
    /// - Returns: a description of what changed, for the log.
    public func apply(_ sources: [SourceSettings]) async throws -> [String] {
        let wanted = Dictionary(Self.ownSources(sources).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let current = listeners.withLockedValue { $0 }
        var changes: [String] = []
        for (name, listener) in current where wanted[name] != listener.settings {
            try? await listener.channel.close()
            if inherited[name] == nil, case .unix(let path, _) = listener.settings.kind { unlink(path) }
            _ = listeners.withLockedValue { $0.removeValue(forKey: name) }
            changes.append("closed \(name)")
        }
        for (name, source) in wanted where current[name]?.settings != source {
            let channel = try await bind(source)
            listeners.withLockedValue { $0[name] = (source, channel) }
            changes.append("listening on \(name)")
        }
        return changes
    }

    /// Tells a connection over `ingest.max_connections` why, and closes it (once it is
    /// active: writing from the initializer, before registration, is not reliable). Logs at
    /// most every 10 s, with the count, so a flood of connections cannot flood the journal.
    private static func refuse(
        _ channel: any Channel, limit: Int, refusals: RefusalCounter, logger: Logger
    ) -> EventLoopFuture<Void> {
        if let count = refusals.countAndReport(every: .seconds(10)) {
            logger.warning(
                "connection refused: too many connections",
                metadata: [
                    "limit": "\(limit)", "refused_since_last_report": "\(count)",
                    "remote": "\(channel.remoteAddress.map { "\($0)" } ?? "local")",
                ])
        }
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                RefusingHandler(
                    message:
                        "{\"error\": \"too many connections (ingest.max_connections is \(limit)); try again later\"}\n")
            )
        }
    }

    private func bind(_ source: SourceSettings) async throws -> any Channel {
        let queue = pipeline.queue
        let pipeline = self.pipeline
        let clock = self.clock
        let connections = self.connections
        let name = source.name
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.autoRead, value: true)
            // A client that closes its sending side after `{"ack": true}` still gets the reply.
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { [logger, refusals, idleCloses, openBySource, onConnections] channel in
                // Read per connection, so a reload's ingest limits apply to new connections.
                let settings = pipeline.configuration.ingest
                guard connections.insert(channel, limit: settings.maxConnections) else {
                    return Self.refuse(channel, limit: settings.maxConnections, refusals: refusals, logger: logger)
                }
                let opened = openBySource.withLockedValue { open -> Int in
                    open[name, default: 0] += 1
                    return open[name, default: 0]
                }
                onConnections(name, opened)
                channel.closeFuture.whenComplete { _ in
                    let left = openBySource.withLockedValue { open -> Int in
                        open[name, default: 1] -= 1
                        return open[name, default: 0]
                    }
                    onConnections(name, left)
                }
                let onIdleClose: @Sendable () -> Void = {
                    if let count = idleCloses.countAndReport(every: .seconds(10)) {
                        logger.info(
                            "closed idle connections",
                            metadata: [
                                "idle_timeout": "\(settings.idleTimeout)", "closed_since_last_report": "\(count)",
                            ])
                    }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        LineConnectionHandler(
                            source: name, settings: settings, queue: queue, clock: clock,
                            forwards: pipeline.forwards(source: name), onIdleClose: onIdleClose))
                }
            }
        if let fd = inherited[source.name] {
            return try await bootstrap.withBoundSocket(fd).get()
        }
        switch source.kind {
        case .unix(let path, let mode):
            // The socket file is created by bind() under the process umask: narrow the umask for
            // that moment, so the file never exists with more permissions than configured.
            let channel = try await SocketFileMask.creating(mode: mode_t(mode)) {
                try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
            }
            guard chmod(path, mode_t(mode)) == 0 else {
                try? await channel.close()
                throw SourceError(
                    message: "cannot set mode \(String(mode, radix: 8)) on \(path): \(String(cString: strerror(errno)))"
                )
            }
            return channel
        case .tcp(let host, let port):
            return try await bootstrap.bind(host: host, port: port).get()
        case .tail, .http, .jetstream:
            preconditionFailure("SocketSources.runs(_:) admits no tail source")
        }
    }
}

/// Answers a connection the daemon will not serve with one line, then closes it.
final class RefusingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let message: String

    init(message: String) { self.message = message }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        let reply = context.channel.allocator.buffer(string: message)
        context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Whatever the client sends is not read into the daemon.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Counts refused connections and says when to report them (at most once per interval).
final class RefusalCounter: Sendable {
    private let state = NIOLockedValueBox((unreported: 0, lastReport: NIODeadline.distantPast))

    /// Counts one refusal; returns the refusals to report when the interval has passed.
    func countAndReport(every interval: TimeAmount) -> Int? {
        state.withLockedValue { state in
            state.unreported += 1
            let now = NIODeadline.now()
            guard now - state.lastReport >= interval else { return nil }
            defer { state = (0, now) }
            return state.unreported
        }
    }
}

/// A source that could not be set up.
public struct SourceError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// The open client connections, for shutdown.
final class NIOLockedChannelSet: Sendable {
    private let channels = NIOLockedValueBox([ObjectIdentifier: any Channel]())

    /// Adds the channel unless `limit` channels are open already; returns whether it did.
    func insert(_ channel: any Channel, limit: Int = .max) -> Bool {
        let id = ObjectIdentifier(channel)
        let inserted = channels.withLockedValue { open in
            guard open.count < limit else { return false }
            open[id] = channel
            return true
        }
        guard inserted else { return false }
        channel.closeFuture.whenComplete { [channels] _ in
            _ = channels.withLockedValue { $0.removeValue(forKey: id) }
        }
        return true
    }

    func forEach(_ body: (any Channel) -> Void) {
        channels.withLockedValue { Array($0.values) }.forEach(body)
    }

    var count: Int { channels.withLockedValue { $0.count } }
}
