import DaemonSettings
import EventDecoding
import Foundation
import JourneyCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The `http` sources of `cjmd run` (docs/http.md): listeners that speak the wire formats of
/// the analytics SDKs (Segment, RudderStack, PostHog), each request answered by
/// ``SDKConnectionHandler``. On graceful shutdown they stop accepting, let what was accepted
/// commit (so waiting requests get their `200`), then close the connections.
public final class HTTPSources: SourceService, Sendable {
    private let initialSources: [SourceSettings]
    private let listeners = NIOLockedValueBox([String: (settings: SourceSettings, channel: any Channel)]())
    private let pipeline: LivePipeline
    private let group: any EventLoopGroup
    private let clock: @Sendable () -> EventTime
    private let logger: Logger
    private let connections = NIOLockedChannelSet()
    private let onListening: @Sendable () -> Void
    private let onConnections: @Sendable (_ source: String, _ open: Int) -> Void
    private let onResponse: @Sendable (_ source: String, _ status: Int) -> Void
    private let openBySource = NIOLockedValueBox([String: Int]())

    /// - Parameters:
    ///   - onListening: called once every listener is bound (also when there are none).
    ///   - onConnections: told a source's number of open client connections when it changes.
    ///   - onResponse: told the status of every answered request, on its event loop.
    public init(
        sources: [SourceSettings], pipeline: LivePipeline, group: any EventLoopGroup,
        clock: @escaping @Sendable () -> EventTime, logger: Logger, onListening: @escaping @Sendable () -> Void = {},
        onConnections: @escaping @Sendable (_ source: String, _ open: Int) -> Void = { _, _ in },
        onResponse: @escaping @Sendable (_ source: String, _ status: Int) -> Void = { _, _ in }
    ) {
        self.onListening = onListening
        self.onConnections = onConnections
        self.onResponse = onResponse
        self.initialSources = Self.ownSources(sources)
        self.pipeline = pipeline
        self.group = group
        self.clock = clock
        self.logger = logger
    }

    public static func runs(_ kind: SourceSettings.Kind) -> Bool {
        if case .http = kind { true } else { false }
    }

    public func run() async throws {
        do {
            for source in initialSources {
                let channel = try await bind(source)
                listeners.withLockedValue { $0[source.name] = (source, channel) }
                logger.info(
                    "listening for SDK requests",
                    metadata: ["source": "\(source.name)", "address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            }
        } catch {
            for listener in listeners.withLockedValue({ $0.values.map(\.channel) }) { try? await listener.close() }
            throw error
        }
        onListening()

        try? await gracefulShutdown()

        let bound = listeners.withLockedValue { current in
            defer { current = [:] }
            return Array(current.values)
        }
        for listener in bound { try? await listener.channel.close() }
        let queue = pipeline.queue
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.whenCommittedOrAbandoned(through: queue.lastSubmittedTicket) { continuation.resume() }
        }
        // Let the event loops write the answers just released.
        try? await Task.sleep(for: .milliseconds(100))
        connections.forEach { $0.close(promise: nil) }
    }

    /// Reload: binds sources that are new or changed, closes the listeners of sources that
    /// are gone or changed (open connections finish their requests).
    public func apply(_ sources: [SourceSettings]) async throws -> [String] {
        let wanted = Dictionary(Self.ownSources(sources).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let current = listeners.withLockedValue { $0 }
        var changes: [String] = []
        for (name, listener) in current where wanted[name] != listener.settings {
            try? await listener.channel.close()
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

    private func bind(_ source: SourceSettings) async throws -> any Channel {
        guard case .http(let settings) = source.kind else {
            preconditionFailure("HTTPSources.runs(_:) admits http sources only")
        }
        let pipeline = self.pipeline
        let clock = self.clock
        let connections = self.connections
        let name = source.name
        let openBySource = self.openBySource
        let onConnections = self.onConnections
        let onResponse = self.onResponse
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                // Read per connection, so a reload's ingest limits apply to new connections.
                let ingest = pipeline.configuration.ingest
                guard connections.insert(channel, limit: ingest.maxConnections) else {
                    return channel.close()
                }
                onConnections(
                    name,
                    openBySource.withLockedValue {
                        $0[name, default: 0] += 1
                        return $0[name]!
                    })
                channel.closeFuture.whenComplete { _ in
                    onConnections(
                        name,
                        openBySource.withLockedValue {
                            $0[name, default: 1] -= 1
                            return $0[name]!
                        })
                }
                let reader = SDKRequestReader(
                    source: name, settings: settings, ingest: ingest, forwards: pipeline.forwards(source: name))
                return channel.eventLoop.makeCompletedFuture {
                    let handlers = channel.pipeline.syncOperations
                    if ingest.idleTimeout > .zero {
                        try handlers.addHandler(
                            IdleStateHandler(readTimeout: .microseconds(ingest.idleTimeout.microseconds)))
                    }
                    try handlers.configureHTTPServerPipeline(withErrorHandling: true)
                    try handlers.addHandler(
                        SDKConnectionHandler(
                            reader: reader, queue: pipeline.queue,
                            databaseAvailable: { pipeline.isDatabaseAvailable }, clock: clock,
                            requestDeadline: ingest.idleTimeout > .zero
                                ? .microseconds(ingest.idleTimeout.microseconds) : nil,
                            onResponse: { onResponse(name, $0) }))
                }
            }
        do {
            return try await bootstrap.bind(host: settings.host, port: settings.port).get()
        } catch {
            throw SourceError(
                message: "cannot listen on \(settings.host):\(settings.port) for source \(name): \(error)")
        }
    }
}
