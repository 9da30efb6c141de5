import Foundation
import JourneyCore
import Logging
import NIOCore
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle

/// The Unix and TCP listeners of `cjmd run` (SPEC §8, sockets): bound from the configuration,
/// or adopted from systemd socket activation by source name. On graceful shutdown it stops
/// accepting and reading, waits until everything received is committed (so pending
/// acknowledgements go out), then closes the connections.
public final class SocketSources: Service, Sendable {
    private let sources: [SourceSettings]
    private let inherited: [String: Int32]
    private let pipeline: LivePipeline
    private let group: any EventLoopGroup
    private let clock: @Sendable () -> EventTime
    private let logger: Logger
    private let onListening: @Sendable ([String]) -> Void
    private let connections = NIOLockedChannelSet()

    /// - Parameters:
    ///   - inherited: socket-activated listening descriptors by name (`LISTEN_FDNAMES`).
    ///   - onListening: called once every listener is bound, with their descriptions.
    public init(
        sources: [SourceSettings], inherited: [String: Int32] = [:], pipeline: LivePipeline,
        group: any EventLoopGroup, clock: @escaping @Sendable () -> EventTime, logger: Logger,
        onListening: @escaping @Sendable ([String]) -> Void = { _ in }
    ) {
        self.sources = sources.filter {
            if case .tail = $0.kind { return false }
            return true
        }
        self.inherited = inherited
        self.pipeline = pipeline
        self.group = group
        self.clock = clock
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        var listeners: [any Channel] = []
        var descriptions: [String] = []
        do {
            for source in sources {
                let channel = try await bind(source)
                listeners.append(channel)
                descriptions.append("\(source.name) (\(channel.localAddress.map { "\($0)" } ?? "?"))")
            }
        } catch {
            for listener in listeners { try? await listener.close() }
            throw error
        }
        logger.info("listening", metadata: ["sources": "\(descriptions.joined(separator: ", "))"])
        onListening(descriptions)

        try? await gracefulShutdown()

        // Stop accepting and reading; then let the pipeline commit what was received.
        for listener in listeners { try? await listener.close() }
        connections.forEach { channel in
            channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        }
        let queue = pipeline.queue
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.whenCommitted(through: queue.lastSubmittedTicket) { continuation.resume() }
        }
        // Give the event loops a moment to write the acknowledgements just released.
        try? await Task.sleep(for: .milliseconds(100))
        connections.forEach { $0.close(promise: nil) }
        // Socket files this process created go with it (systemd removes its own).
        for source in sources where inherited[source.name] == nil {
            if case .unix(let path, _) = source.kind { unlink(path) }
        }
        logger.info("sources closed; everything received is committed")
    }

    private func bind(_ source: SourceSettings) async throws -> any Channel {
        let queue = pipeline.queue
        let settings = pipeline.configuration.ingest
        let clock = self.clock
        let connections = self.connections
        let name = source.name
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.autoRead, value: true)
            .childChannelInitializer { channel in
                connections.insert(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        LineConnectionHandler(source: name, settings: settings, queue: queue, clock: clock))
                }
            }
        if let fd = inherited[source.name] {
            return try await bootstrap.withBoundSocket(fd).get()
        }
        switch source.kind {
        case .unix(let path, let mode):
            let channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
            guard chmod(path, mode_t(mode)) == 0 else {
                try? await channel.close()
                throw SourceError(message: "cannot set mode \(String(mode, radix: 8)) on \(path): \(String(cString: strerror(errno)))")
            }
            return channel
        case .tcp(let host, let port):
            return try await bootstrap.bind(host: host, port: port).get()
        case .tail:
            preconditionFailure("tail sources are not socket sources")
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

    func insert(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLockedValue { $0[id] = channel }
        channel.closeFuture.whenComplete { [channels] _ in
            _ = channels.withLockedValue { $0.removeValue(forKey: id) }
        }
    }

    func forEach(_ body: (any Channel) -> Void) {
        channels.withLockedValue { Array($0.values) }.forEach(body)
    }

    var count: Int { channels.withLockedValue { $0.count } }
}
