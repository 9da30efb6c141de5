import DaemonSettings
import Foundation
import IngestEnvelope
import JourneyCore
import JourneyStore
import Logging
import NIOConcurrencyHelpers
import PostgresClient
import ServiceLifecycle

/// The committing side of `cjmd run`: one dedicated thread (libpq blocks, so it never runs
/// on an event loop) takes batches from the ``CommitQueue`` by size or delay, commits each in
/// one transaction with the live watermark (wall clock − allowed lateness), and wakes the
/// sources' acknowledgement callbacks. While idle it still commits once a second, so
/// abandonment and expiry deadlines take effect on time without traffic, and sooner when a
/// buffered event comes due or derived rows wait (``idleWait(until:now:)``).
///
/// When PostgreSQL is unavailable it keeps the batch, reconnects with backoff (logging the
/// outage once, and the recovery once) and retries; the queue fills, sources stop reading,
/// and TCP flow control slows the clients. Nothing accepted is dropped.
///
/// On graceful shutdown it commits everything queued, then returns. Should the database be
/// unavailable then, it keeps retrying for ``drainTimeout`` (from ``beginDraining()``) and
/// then gives up with ``UncommittedAtShutdown``, which says what was left and what becomes
/// of it.
public final class LivePipeline: Service, Sendable {
    /// The configuration in force (replaced by ``reload(_:)``).
    public var configuration: CJMConfiguration { current.withLockedValue { $0.configuration } }
    private let current: NIOLockedValueBox<(configuration: CJMConfiguration, pendingReload: Bool)>
    let queue: CommitQueue
    private let connect: @Sendable (CJMConfiguration) throws -> PostgresConnection
    private let clock: @Sendable () -> EventTime
    private let logger: Logger
    private let observer: PipelineObserver
    private let heartbeat = NIOLockedValueBox<UInt64>(DispatchTime.now().uptimeNanoseconds)

    /// Seconds since the commit loop last came round (it does at least once a second, or
    /// once per retry while the database is away): a stuck loop shows here.
    public var secondsSinceHeartbeat: Double {
        Double(DispatchTime.now().uptimeNanoseconds - heartbeat.withLockedValue { $0 }) / 1e9
    }

    /// How often at most a live batch writes the derived rows (instances, moments,
    /// aggregates, alerts); the batches in between commit their events and positions and
    /// journal themselves (``JourneySink/WritePolicy/liveDerivedWriteSpacing``). Half a second keeps what
    /// is acknowledged visible in the funnel within about a second of its lateness, while an
    /// instance touched several times meanwhile is written once. A write that took that long
    /// or longer is followed by half of it of batches that only journal
    /// (``JourneySink/WritePolicy/liveClock``), so that events keep coming in while a burst's rows are
    /// written.
    public static let derivedWriteSpacing = TimeSpan.milliseconds(500)

    /// The longest the loop waits without events before committing anyway: deadlines
    /// (abandonment, expiry) take effect within this.
    static let maximumIdleWait: TimeInterval = 1
    /// The shortest such wait: bounds the commits of an idle loop (a clock stopped in a test,
    /// a due time that a commit does not clear) to 20 a second.
    static let minimumIdleWait: TimeInterval = 0.05

    /// How long the loop waits for events before committing without them: until `due` (see
    /// ``JourneySink/nextLiveDueTime``: a buffered event comes due, or the derived rows may be
    /// written), within ``minimumIdleWait`` … ``maximumIdleWait``. Waiting the full second
    /// instead kept the last events before a pause out of the funnel for up to a second past
    /// their lateness.
    static func idleWait(until due: EventTime?, now: EventTime) -> TimeInterval {
        guard let due else { return maximumIdleWait }
        let seconds = Double(due.microseconds &- now.microseconds) / 1e6
        return min(maximumIdleWait, max(minimumIdleWait, seconds))
    }

    /// Items accepted and not yet committed.
    public var queuedItems: Int { queue.depth }

    /// False from a commit that lost the database until one succeeds again: sources that
    /// answer at once (HTTP) tell clients to come back rather than queue what cannot commit.
    public var isDatabaseAvailable: Bool { databaseUp.withLockedValue { $0 } }
    private let databaseUp = NIOLockedValueBox(true)

    /// How long a shutdown keeps retrying commits the database refuses or cannot take (an
    /// outage) before giving up on what is left. Under systemd, keep it below the unit's
    /// `TimeoutStopSec`, so that cjmd exits with a message instead of being killed.
    public let drainTimeout: TimeInterval

    /// - Parameters:
    ///   - connect: opens a connection to the (migrated) database of a configuration.
    ///   - observer: told about commits and outages (metrics, health).
    ///   - drainTimeout: see ``drainTimeout``.
    public init(
        configuration: CJMConfiguration, connect: @escaping @Sendable (CJMConfiguration) throws -> PostgresConnection,
        clock: @escaping @Sendable () -> EventTime, logger: Logger, observer: PipelineObserver = PipelineObserver(),
        drainTimeout: TimeInterval = 30
    ) {
        self.drainTimeout = drainTimeout
        self.current = NIOLockedValueBox((configuration, false))
        self.queue = CommitQueue(capacity: max(configuration.ingest.batchMaxEvents * 8, 10_000))
        self.connect = connect
        self.clock = clock
        self.logger = logger
        self.observer = observer
    }

    /// Runs the commit loop until graceful shutdown, then drains the queue.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let thread = Thread { [self] in
                    if let abandoned = commitLoop() {
                        continuation.resume(throwing: abandoned)
                    } else {
                        continuation.resume()
                    }
                }
                thread.name = "cjmd-commit"
                thread.start()
            }
        } onGracefulShutdown: { [queue] in
            queue.close()
        }
    }

    /// Stops taking input and lets the loop drain (also used by tests).
    public func shutdown() { queue.close() }

    /// Tells the loop that the daemon is shutting down: the sources stop and wait for their
    /// last lines to commit before the queue closes, and from now on ``drainTimeout`` bounds
    /// how long failing commits are retried.
    public func beginDraining() { draining.withLockedValue { $0 = true } }
    private let draining = NIOLockedValueBox(false)

    /// Applies a new configuration from the next batch on: journeys (for events committed from
    /// then on; open instances of a journey whose stages changed are left as they are),
    /// ingest settings and the database. The engine is restored from the database under the
    /// new journeys, exactly as at a restart.
    public func reload(_ configuration: CJMConfiguration) {
        current.withLockedValue { $0 = (configuration, true) }
    }

    // MARK: The loop (on the commit thread)

    /// Returns nil once everything accepted is committed, or what a shutdown gave up on.
    private func commitLoop() -> UncommittedAtShutdown? {
        var session: Session? = nil
        var forwarders = BusForwarders()
        var state = CommitLoopState(drainTimeout: drainTimeout)
        var memoryTrim = MemoryTrimSchedule()
        var storageMeasure = StorageMeasureSchedule()
        while true {
            heartbeat.withLockedValue { $0 = DispatchTime.now().uptimeNanoseconds }
            let limits = self.configuration.ingest
            let taken = queue.take(
                maxItems: limits.batchMaxEvents,
                maxDelay: Double(limits.batchMaxDelay.microseconds) / 1e6,
                idle: Self.idleWait(until: session?.sink.nextLiveDueTime, now: clock()))
            // A reload that arrived while waiting applies to this batch already.
            let (configuration, reloaded) = current.withLockedValue { state in
                defer { state.pendingReload = false }
                return state
            }
            if reloaded {
                // Restoring the engine reads every instance: only when what it depends on changed.
                let decision = CommitLoopState.afterReload(
                    hasSession: session != nil,
                    sessionServesNewConfiguration: session.map {
                        CommitLoopState.session(madeFor: $0.configuration, serves: configuration)
                    } ?? false)
                switch decision {
                case .keepSession:
                    logger.notice(
                        "applying the reloaded configuration; journeys, alerts and database unchanged, journey state kept"
                    )
                case .replaceSession, .noSession:
                    // Batches applied under the old journeys are written under them, not
                    // applied again under the new ones by the next session's restore (should
                    // this write fail, they are: the journal is all that survives).
                    writeWaitingDerivedRows(session)
                    session = nil
                    logger.notice(
                        "applying the reloaded configuration",
                        metadata: ["journeys": "\(configuration.journeys.map(\.name).joined(separator: ", "))"])
                }
            }
            observer.onQueue(queue.depth + taken.items.count, queue.isFull)
            // Busy while events arrive or still wait in the reorder buffer (applying them
            // allocates too); the first batch after both is idle.
            let busy = !taken.items.isEmpty || (session?.sink.bufferedEvents ?? 0) > 0
            if memoryTrim.isDue(busy: busy, now: DispatchTime.now().uptimeNanoseconds) {
                FreedMemory.release()
            }
            var batch = IngestBatch()
            for item in taken.items { batch.append(item) }
            batch.token = Int64.random(in: 1...Int64.max)
            state.batchStarted()
            if let abandoned = forward(&batch, with: &forwarders, configuration: configuration) { return abandoned }
            while true {
                do {
                    if session == nil {
                        session = try Session(
                            configuration: configuration, connect: { try connect(configuration) }, clock: clock,
                            logger: logger)
                        FreedMemory.release()
                    }
                    if state.outcomeUnknown, let token = batch.token,
                        try session!.sink.isLastCommitted(batchToken: token)
                    {
                        // The new session's engine was restored with this batch applied.
                        logger.notice(
                            "the batch was committed before the connection was lost; not storing it again",
                            metadata: ["events": "\(batch.events.count)", "rejected": "\(batch.rejections.count)"])
                        databaseAvailable(after: state.committed(now: Self.monotonicSeconds()))
                        break
                    }
                    let started = DispatchTime.now().uptimeNanoseconds
                    let outcome = try session!.sink.commit(batch, watermark: .live(now: clock()))
                    observer.onCommit(batch, outcome, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
                    observer.onState(
                        PipelineState(
                            watermark: session!.sink.watermark, reorderBuffer: session!.sink.bufferedEvents,
                            queueDepth: queue.depth, openInstances: session!.sink.openInstances,
                            firingAlerts: session!.sink.firingAlerts.count))
                    databaseAvailable(after: state.committed(now: Self.monotonicSeconds()))
                    break
                } catch {
                    let connectionLost =
                        (error as? PostgresError)?.isConnectionProblem ?? false
                        || session?.connection.status != .ok
                    let failure: CommitLoopState.Failure =
                        connectionLost || session == nil
                        ? .connection(duringAttempt: session != nil) : .refused(batchHasEvents: !batch.events.isEmpty)
                    let shuttingDown = queue.isClosed || draining.withLockedValue { $0 }
                    let (decision, outageBegan) = state.failed(
                        failure, shuttingDown: shuttingDown, now: Self.monotonicSeconds())
                    if case .connection = failure {
                        session = nil
                        databaseUp.withLockedValue { $0 = false }
                        observer.onDatabase(false)
                        if outageBegan {
                            logger.error(
                                "database unavailable; holding accepted events and retrying (sources pause when the buffer is full)",
                                metadata: ["error": "\(error)", "queued": "\(queue.depth + batch.count)"])
                        }
                    }
                    switch decision {
                    case .isolateRefusedEvents:
                        // The database refused the batch itself: find and dead-letter the culprit
                        // rather than stall every client behind it.
                        batch = isolateRefused(batch, error: error, session: session!)
                        continue
                    case .retry(let seconds):
                        if case .refused = failure {
                            // No event left to isolate: PostgreSQL refuses the dead letters or the
                            // file positions themselves (a constraint or permission an operator
                            // changed, say). Retried with backoff, as in an outage.
                            logger.error(
                                "PostgreSQL refused the batch's dead letters or file positions; retrying",
                                metadata: [
                                    "error": "\(error)", "retry_in_seconds": "\(seconds)",
                                    "rejected": "\(batch.rejections.count)", "positions": "\(batch.checkpoints.count)",
                                ])
                        }
                        observer.onQueue(queue.depth + batch.count, queue.isFull)
                        Thread.sleep(forTimeInterval: seconds)
                    case .giveUp:
                        observer.onQueue(queue.depth + batch.count, queue.isFull)
                        return giveUp(batch, error: error, left: "committed")
                    }
                }
            }
            queue.markCommitted(through: taken.lastTicket)
            // After the acknowledgements are released, not before them.
            session?.sink.maintainRetention(now: clock())
            if let session, storageMeasure.isDue(now: DispatchTime.now().uptimeNanoseconds) {
                measureStorage(on: session.connection)
            }
            if queue.isClosed && queue.depth == 0 && taken.items.isEmpty {
                writeWaitingDerivedRows(session)
                break
            }
        }
        logger.info("committed everything accepted; commit loop stopped")
        return nil
    }

    /// Publishes the batch's events of sources with `forward_to` to their bus and takes them
    /// out of the batch (gateway mode), retrying while the bus is unavailable; nil once done,
    /// or what a shutdown gave up on after ``drainTimeout``.
    private func forward(
        _ batch: inout IngestBatch, with forwarders: inout BusForwarders, configuration: CJMConfiguration
    ) -> UncommittedAtShutdown? {
        var delay = 0.25
        var failing = false
        var drainingSince: Double? = nil
        while true {
            do {
                let forwarded = try forwarders.forward(&batch, configuration: configuration)
                if !forwarded.isEmpty { observer.onForward(forwarded) }
                if failing { logger.notice("the bus took the held events; forwarding again") }
                return nil
            } catch {
                let now = Self.monotonicSeconds()
                if !failing {
                    failing = true
                    logger.error(
                        "bus unavailable; holding accepted events and retrying (clients get no acknowledgement meanwhile)",
                        metadata: ["error": "\(error)", "queued": "\(queue.depth + batch.count)"])
                }
                if queue.isClosed || draining.withLockedValue({ $0 }) {
                    drainingSince = drainingSince ?? now
                    if now - drainingSince! >= drainTimeout { return giveUp(batch, error: error, left: "forwarded") }
                }
                observer.onQueue(queue.depth + batch.count, queue.isFull)
                heartbeat.withLockedValue { $0 = DispatchTime.now().uptimeNanoseconds }
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 5)
            }
        }
    }

    /// A shutdown gives up on `batch` and what is queued, not `left` ("committed",
    /// "forwarded") after ``drainTimeout``: says so, and closes the queue.
    private func giveUp(_ batch: IngestBatch, error: any Error, left: String) -> UncommittedAtShutdown {
        let abandoned = UncommittedAtShutdown(
            items: queue.depth + batch.count, seconds: drainTimeout, lastError: "\(error)")
        logger.critical(
            "stopping with accepted lines not \(left)",
            metadata: [
                "items": "\(abandoned.items)", "error": "\(error)", "hint": "\(UncommittedAtShutdown.consequences)",
            ])
        queue.close()
        queue.abandon()
        return abandoned
    }

    /// What the commit loop's sink keeps: nothing but dead letters and file positions when
    /// the daemon has a bus and every other source forwards to it (a gateway, a shard: the
    /// journeys are the shards' partitions'), the whole database's journeys otherwise.
    public static func sinkScope(for configuration: CJMConfiguration) -> SinkScope {
        let hasBus = configuration.sources.contains { if case .jetstream = $0.kind { true } else { false } }
        let processesHere = configuration.sources.contains { source in
            if case .jetstream = source.kind { return false }
            return source.forwardTo == nil
        }
        return hasBus && !processesHere ? .deadLettersOnly : .whole
    }

    /// Whether `source` forwards its events to a bus under the configuration in force.
    public func forwards(source: String) -> Bool {
        configuration.sources.contains { $0.name == source && $0.forwardTo != nil }
    }

    /// Reports what schema `cjm` takes on disk. A failure only costs this measurement: the
    /// next commit finds out whether the connection is still good.
    private func measureStorage(on connection: PostgresConnection) {
        do {
            observer.onStorage(try StorageSize.totalBytes(on: connection))
        } catch {
            logger.debug("could not measure the database's size", metadata: ["error": "\(error)"])
        }
    }

    /// The database took a batch: says so, and logs the end of an outage that lasted `outage` seconds.
    private func databaseAvailable(after outage: Double?) {
        if let outage {
            logger.notice("database is back; resuming", metadata: ["outage_seconds": "\(Int(outage))"])
        }
        databaseUp.withLockedValue { $0 = true }
        observer.onDatabase(true)
    }

    /// Seconds on the monotonic clock, for the loop's timing decisions.
    static func monotonicSeconds() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }

    /// Writes the derived rows still waiting for their spacing, so that the tables are
    /// complete when the daemon has stopped (or a session ends at a reload). Should that
    /// fail, the journal still holds their batches and the next session applies them.
    private func writeWaitingDerivedRows(_ session: Session?) {
        guard let session else { return }
        do {
            let outcome = try session.sink.writeWaitingDerivedRows()
            observer.onCommit(IngestBatch(), outcome, 0)
        } catch {
            logger.warning(
                "waiting derived rows not written; the next session applies their batches again and writes them",
                metadata: ["error": "\(error)"])
        }
    }

    /// Commits the batch's events one by one, turning each that PostgreSQL refuses into a
    /// dead letter; returns what is left to commit (the rejections, and the refused events
    /// as rejections). Only reached when a batch fails for a reason other than the connection.
    private func isolateRefused(_ batch: IngestBatch, error: any Error, session: Session) -> IngestBatch {
        logger.error("PostgreSQL refused a batch; committing its events one by one", metadata: ["error": "\(error)"])
        var rest = IngestBatch()
        rest.rejections = batch.rejections
        // Positions commit with the rest, after every line before them.
        rest.checkpoints = batch.checkpoints
        rest.forgottenFiles = batch.forgottenFiles
        for accepted in batch.events {
            var single = IngestBatch()
            single.events = [accepted]
            do {
                let outcome = try session.sink.commit(single, watermark: .live(now: clock()))
                // Metrics and the webhook hear of these commits too (alerts may fire in them).
                observer.onCommit(single, outcome, 0)
            } catch let refusal {
                if let pg = refusal as? PostgresError, pg.isConnectionProblem {
                    rest.events.append(accepted)
                    continue
                }
                rest.rejections.append(
                    RejectedLine(
                        reason: .invalidField, detail: "PostgreSQL refused the event: \(refusal)",
                        raw: Array("{\"event_id\":\"\(accepted.event.eventID)\"}".utf8), source: accepted.source,
                        receivedAt: accepted.receivedAt))
            }
        }
        return rest
    }

    /// A live connection with its sink (engine restored from the database).
    private struct Session {
        let connection: PostgresConnection
        let sink: JourneySink
        let configuration: CJMConfiguration

        init(
            configuration: CJMConfiguration, connect: () throws -> PostgresConnection,
            clock: @escaping @Sendable () -> EventTime, logger: Logger
        ) throws {
            connection = try connect()
            try JourneySink.publishJourneys(configuration, on: connection)
            sink = try JourneySink(
                configuration: configuration, connection: connection, logger: logger,
                policy: .live(clock: clock, spacing: LivePipeline.derivedWriteSpacing),
                scope: LivePipeline.sinkScope(for: configuration))
            self.configuration = configuration
        }

    }
}

/// The pipeline's position after a commit.
public struct PipelineState: Sendable {
    public var watermark: EventTime
    public var reorderBuffer: Int
    public var queueDepth: Int
    public var openInstances: Int
    /// Drop-off alerts firing now.
    public var firingAlerts: Int
}

/// Hooks for metrics and health; the default does nothing. Called on the commit thread.
public struct PipelineObserver: Sendable {
    public var onCommit: @Sendable (_ batch: IngestBatch, _ outcome: BatchOutcome, _ seconds: Double) -> Void = {
        _, _, _ in
    }
    /// Events a batch published to a bus (gateway mode), by source, once JetStream has them;
    /// they are not in the batch ``onCommit`` sees.
    public var onForward: @Sendable (_ eventsBySource: [String: Int]) -> Void = { _ in }
    public var onState: @Sendable (PipelineState) -> Void = { _ in }
    public var onDatabase: @Sendable (_ up: Bool) -> Void = { _ in }
    /// Bytes schema `cjm` takes on disk (`cjm.storage`), after a commit about once a minute.
    public var onStorage: @Sendable (_ bytes: Int64) -> Void = { _ in }
    /// Told after every take and every failed attempt, also while the database is away:
    /// items accepted and not committed, and whether sources are paused because of them.
    public var onQueue: @Sendable (_ depth: Int, _ full: Bool) -> Void = { _, _ in }

    public init() {}
}

/// A shutdown that gave up after ``LivePipeline/drainTimeout``: the database did not take
/// what was accepted (an outage, or a refusal that retrying did not cure).
public struct UncommittedAtShutdown: Error, CustomStringConvertible {
    /// Accepted items left uncommitted: lines (events, dead letters) and file positions.
    public var items: Int
    /// How long the shutdown retried.
    public var seconds: TimeInterval
    /// The last commit's error.
    public var lastError: String

    /// What becomes of lines that were accepted and not committed.
    public static let consequences =
        "clients that asked for acknowledgements were not acknowledged for them and send them again; "
        + "tailed files are read again from their last committed positions; lines sent without asking for acknowledgements are lost"

    public var description: String {
        "stopped after retrying for \(Int(seconds)) s with \(items) accepted lines or file positions not committed (last error: \(lastError)); "
            + Self.consequences
    }
}
