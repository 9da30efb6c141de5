import DaemonSettings
import Foundation
import IngestEnvelope
import JourneyCore
import JourneyStore
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// The `type: tail` sources of `cjmd run`, one ``TailSource`` thread each. On graceful
/// shutdown they stop reading and the service returns once everything they read is
/// committed, checkpoints included.
public final class TailSources: SourceService, Sendable {
    private let initialSources: [SourceSettings]
    private let pipeline: LivePipeline
    private let loadCheckpoints: @Sendable (String) throws -> [SourceCheckpoint]
    private let clock: @Sendable () -> EventTime
    private let logger: Logger
    /// The sources following now, and whether the service has stopped (no more starts).
    private let running = NIOLockedValueBox([String: TailSource]())
    private let stopped = NIOLockedValueBox(false)

    /// - Parameter loadCheckpoints: reads a source's stored checkpoints by source name.
    public init(
        sources: [SourceSettings], pipeline: LivePipeline,
        loadCheckpoints: @escaping @Sendable (String) throws -> [SourceCheckpoint],
        clock: @escaping @Sendable () -> EventTime, logger: Logger
    ) {
        self.initialSources = Self.ownSources(sources)
        self.pipeline = pipeline
        self.loadCheckpoints = loadCheckpoints
        self.clock = clock
        self.logger = logger
    }

    public static func runs(_ kind: SourceSettings.Kind) -> Bool {
        switch kind {
        case .tail: true
        case .unix, .tcp, .http, .jetstream: false
        }
    }

    public func run() async throws {
        for source in initialSources where running.withLockedValue({ $0[source.name] == nil }) { start(source) }
        try? await gracefulShutdown()
        let all = running.withLockedValue { current in
            stopped.withLockedValue { $0 = true }
            defer { current = [:] }
            return Array(current.values)
        }
        await stopAndSettle(all)
        if !all.isEmpty { logger.info("tail sources stopped; everything read is committed with its checkpoint") }
    }

    /// Reload: starts sources that are new, stops those that are gone, and restarts changed
    /// ones once what they read is committed (so the new follower starts from the committed
    /// checkpoints and reads nothing twice).
    /// - Returns: a description of what changed, for the log.
    public func apply(_ sources: [SourceSettings]) async -> [String] {
        let wanted = Dictionary(Self.ownSources(sources).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let current = running.withLockedValue { $0 }
        var changes: [String] = []
        var leaving: [TailSource] = []
        for (name, source) in current where wanted[name] != source.settings {
            leaving.append(source)
            _ = running.withLockedValue { $0.removeValue(forKey: name) }
            changes.append("stopped following \(name)")
        }
        await stopAndSettle(leaving)
        for (name, source) in wanted where current[name]?.settings != source {
            start(source)
            changes.append("following \(name)")
        }
        return changes
    }

    /// Starts following a source, unless one of that name follows already (a reload racing
    /// the start) or the service has stopped (a reload racing the shutdown).
    private func start(_ settings: SourceSettings) {
        let source = TailSource(
            settings: settings, ingest: pipeline.configuration.ingest, queue: pipeline.queue,
            loadCheckpoints: loadCheckpoints, clock: clock, logger: logger)
        let admitted = running.withLockedValue { current in
            guard current[settings.name] == nil, !stopped.withLockedValue({ $0 }) else { return false }
            current[settings.name] = source
            return true
        }
        if admitted { source.start() }
    }

    /// Stops the sources (their threads block, so off the cooperative pool) and waits until
    /// their last items are committed.
    private func stopAndSettle(_ sources: [TailSource]) async {
        guard !sources.isEmpty else { return }
        let tickets: [Int64] = await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: sources.map { $0.stop() }) }
        }
        let queue = pipeline.queue
        let last = tickets.max() ?? 0
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.whenCommittedOrAbandoned(through: last) { continuation.resume() }
        }
    }
}
