import DaemonSettings
import IngestEnvelope
import JourneyCore
import Logging
import PostgresClient

/// The PostgreSQL sink of the pipeline: it owns the journey engine and one connection, and
/// commits each batch — raw events, rejected lines, positions, and either the derived rows
/// (instance changes, critical moments, aggregates, the engine's position) or, when those
/// wait (``WritePolicy``), a journal row — in a single
/// transaction. A crash at any point therefore loses nothing committed and counts nothing
/// twice.
///
/// Not thread-safe: one owner drives it (libpq calls block, so keep it off event loops).
/// When a transaction fails, the engine is restored from the database before the error is
/// rethrown, so the caller can retry the same batch on a healthy connection.
public final class JourneySink {
    public let configuration: CJMConfiguration
    public let catalog: JourneyCatalog
    /// Which rows this sink keeps: the whole database's, a partition's, or none.
    public let scope: SinkScope
    /// A shard's: the partition's last stream sequence committed (`cjm.partition_state`).
    public private(set) var committedStreamSequence: Int64 = 0
    let connection: PostgresConnection
    /// The journey state; replaced by a restored one after a failed transaction.
    var engine: JourneyEngine
    /// `seq` of the next event stored.
    var nextSequence: Int64
    /// Transitions of the batch being written (handed out in its outcome).
    private var alertTransitions: [AlertTransition] = []
    /// Whether the last batch held ids stored before (see `storeEvents`).
    var lastBatchHadStoredIDs = false
    /// The numbers of the configured stages, and the stored bytes per distinct stage map.
    let stageCodes: StageCodes
    var stageBytesCache: [StageMap: [UInt8]?] = [:]
    /// The day partitions known to exist.
    var partitions = DayPartitions()
    /// The numbers of the source names written so far.
    var sources = SourceIDs()
    /// Closed instances in `cjm.instance_rows` (listed in `cjm.seal_queue`), waiting to be sealed (see
    /// ``WritePolicy/sealAfterClosedInstances``).
    private var closedInstanceRows = 0
    /// Whether this sink has sealed instances (see ``reclaimSealedRows()``).
    private var sealedSinceStart = false
    /// Drops what retention no longer keeps.
    private var retention: RetentionKeeper
    /// Warns when the tables outgrow retention.
    private var growth = StorageGrowthWatch()
    let logger: Logger

    /// Writers taking turns on the database (see ``claimBatch()``).
    private var fence: WriterFence
    /// Batches before which the engine was restored from the database because another
    /// process (a second cjmd, a replay, a rebuild) had written to it since this one's last.
    public var restoresForOtherWriters: Int { fence.restoresForOtherWriters }

    /// How and when this sink writes the derived rows (fixed at `init`).
    public var policy: WritePolicy { schedule.policy }
    /// When the derived rows are due, and what waits for them.
    private var schedule: DerivedWriteSchedule
    /// The SQL of the derived tables.
    private let derivedRows: DerivedRowWriter
    /// The SQL of dead letters and file positions.
    private let sourceRows: SourceRowWriter
    /// Batches written a second time because the engine had run ahead of a refused COPY.
    public private(set) var batchesWrittenAgain = 0
    /// Live batch attempts whose COPY overlapped an advance of the watermark (a batch
    /// written again after a failure counts again).
    public private(set) var liveBatchesAdvancedDuringCopy = 0

    /// Writes the configured journeys into `cjm.journey_stages` (call once at start, outside
    /// any transaction, before creating sinks). Daemons starting together (shards) take turns:
    /// the second finds the first's rows instead of inserting them again.
    public static func publishJourneys(_ configuration: CJMConfiguration, on connection: PostgresConnection) throws {
        try connection.transaction {
            _ = try connection.execute("SELECT pg_advisory_xact_lock($1::bigint)", [.int(journeysLockKey)])
            try JourneyStages.synchronize(configuration.journeys, on: connection)
        }
    }

    /// The advisory lock (`pg_advisory_xact_lock(bigint)`) of ``publishJourneys(_:on:)``.
    static let journeysLockKey: Int64 = 0x636A_6D5F_6A6F_7572  // "cjm_jour"

    /// Connects the sink to a migrated database and restores the engine from it.
    public init(
        configuration: CJMConfiguration, connection: PostgresConnection, logger: Logger,
        policy: WritePolicy = WritePolicy(), scope: SinkScope = .whole
    ) throws {
        self.configuration = configuration
        self.scope = scope
        self.schedule = DerivedWriteSchedule(policy: policy)
        self.catalog = JourneyCatalog(journeys: configuration.journeys)
        self.connection = connection
        self.logger = logger
        self.retention = RetentionKeeper(settings: configuration.retention)
        self.sourceRows = SourceRowWriter(connection: connection)
        self.derivedRows = DerivedRowWriter(
            connection: connection, catalog: catalog, announcesAlerts: policy.announcesAlerts, logger: logger,
            part: scope.part)
        try Self.prepareStaging(connection)
        committedStreamSequence = try Self.claimScope(scope, on: connection)
        self.stageCodes = try StageCodes(registering: catalog, on: connection)
        self.closedInstanceRows = Int(
            try connection.execute("SELECT count(*) FROM cjm.seal_queue WHERE part = $1", [.int(Int64(scope.part))])
                .int64(row: 0, column: 0) ?? 0)
        // Read before the state: should another process commit while it loads, the next
        // batch finds a newer count and restores again.
        self.fence = WriterFence(seen: try Self.committedBatches(connection, scope: scope))
        let loaded =
            scope.keepsJourneys
            ? try EngineSnapshotLoader.load(
                catalog: catalog, alerts: configuration.alerts, from: connection, scope: scope)
            : EngineSnapshotLoader.Loaded(snapshot: EngineSnapshot(), nextSequence: 1)
        self.engine = JourneyEngine(
            catalog: catalog, allowedLateness: configuration.ingest.allowedLateness,
            alerts: configuration.alerts, defaultPersona: configuration.personas.defaultPersona,
            restoring: loaded.snapshot, judgesAlerts: scope.partition == nil)
        self.nextSequence = loaded.nextSequence
        if scope.keepsJourneys { try applyJournal() }
        if !loaded.snapshot.pendingEvents.isEmpty || !loaded.snapshot.openInstances.isEmpty {
            logger.info(
                "restored journey state",
                metadata: [
                    "open_instances": "\(loaded.snapshot.openInstances.count)",
                    "pending_events": "\(loaded.snapshot.pendingEvents.count)",
                    "watermark": "\(loaded.snapshot.watermark)",
                ])
        }
    }

    /// The engine's watermark.
    public var watermark: EventTime { engine.watermark }
    /// Events waiting in the reorder buffer.
    public var bufferedEvents: Int { engine.bufferedEvents }
    /// Open journey instances in memory.
    public var openInstances: Int { engine.openInstances }
    /// The drop-off alerts firing now.
    public var firingAlerts: [DropOffAlert] { engine.firingAlerts }
    /// The channel `pg_notify` announces alert transitions on.
    public static let alertChannel = "cjm_alerts"

    /// Stores and applies one batch in one transaction.
    @discardableResult
    public func commit(_ batch: IngestBatch, watermark rule: WatermarkRule) throws -> BatchOutcome {
        do {
            let outcome: BatchOutcome
            do {
                outcome = try connection.transaction { try write(batch, rule: rule) }
            } catch is EngineRanAhead {
                logger.info("the batch holds events stored before; writing it again without running the engine ahead")
                partitions.forget()
                sources.forget()
                try restoreEngine()
                batchesWrittenAgain += 1
                outcome = try connection.transaction { try write(batch, rule: rule) }
            }
            fence.committed()
            if let sequence = batch.streamSequence { committedStreamSequence = sequence }
            if policy.announcesAlerts { derivedRows.logAlerts(outcome.alertTransitions) }
            return outcome
        } catch {
            logger.warning(
                "batch not committed; restoring journey state from the database",
                metadata: ["error": "\(error)"])
            partitions.forget()
            sources.forget()
            restoreAfterFailure()
            throw error
        }
    }

    /// Replaces the engine with one restored from the database (snapshot and journal).
    private func restoreEngine() throws {
        guard scope.keepsJourneys else { return }
        fence.restored(seen: try Self.committedBatches(connection, scope: scope))
        if scope.partition != nil {
            committedStreamSequence = try Self.streamSequence(of: scope, on: connection)
        }
        let loaded = try EngineSnapshotLoader.load(
            catalog: catalog, alerts: configuration.alerts, from: connection, scope: scope)
        engine = JourneyEngine(
            catalog: catalog, allowedLateness: configuration.ingest.allowedLateness,
            alerts: configuration.alerts, defaultPersona: configuration.personas.defaultPersona,
            restoring: loaded.snapshot, judgesAlerts: scope.partition == nil)
        nextSequence = loaded.nextSequence
        try applyJournal()
    }

    private func restoreAfterFailure() {
        do {
            try restoreEngine()
        } catch {
            // The connection is gone; the next commit fails too and the owner reconnects by
            // creating a new sink, which restores the state then.
            logger.debug("restore postponed until the database answers", metadata: ["error": "\(error)"])
        }
    }

    // MARK: The transaction

    private func write(_ batch: IngestBatch, rule: WatermarkRule) throws -> BatchOutcome {
        guard scope.keepsJourneys else { return try writeDeadLettersOnly(batch) }
        try claimBatch(advancingStreamTo: batch.streamSequence)
        var outcome = BatchOutcome()
        var batch = batch
        setAsideBehindRetention(&batch, outcome: &outcome)
        let firstSequence = nextSequence
        let fresh: [StoredEvent]
        if policy.overlapsEngineWithCopy, case .replay = rule, !lastBatchHadStoredIDs {
            fresh = try storeAndApplyEvents(batch.events, outcome: &outcome)
        } else if case .live(let now) = rule, policy.advancesLiveWatermarkDuringCopy,
            let early = earlyLiveAdvance(batch.events, now: now)
        {
            do {
                fresh = try storeEvents(batch.events, outcome: &outcome, slice: Self.rowsPerEngineSlice) {
                    engine.beginAdvance(to: early, limit: 2 * Self.rowsPerEngineSlice)
                }
            } catch {
                // Finish the advance begun: should restoring the engine fail too, it is left
                // as after an empty batch, not stopped halfway (which no later call expects).
                engine.advanceWatermark(to: early)
                throw error
            }
            engine.advanceWatermark(to: early)
            liveBatchesAdvancedDuringCopy += 1
            ingest(fresh, rule: rule, outcome: &outcome)
        } else {
            fresh = try storeEvents(batch.events, outcome: &outcome)
            ingest(fresh, rule: rule, outcome: &outcome)
        }
        try partitions.ensure(.rejectedEvents, covering: batch.rejections.lazy.map(\.receivedAt), on: connection)
        outcome.rejected = try sourceRows.storeRejections(batch.rejections)
        try sourceRows.writeCheckpoints(batch.checkpoints, forgetting: batch.forgottenFiles)
        schedule.applied(fresh.count)
        if schedule.isDue(rule, pendingChangeBytes: engine.pendingChangeBytes) {
            if policy.derivedWriteInterval > 0 {
                logger.debug(
                    "writing derived rows",
                    metadata: [
                        "events": "\(schedule.unwrittenEvents)", "estimated_bytes": "\(engine.pendingChangeBytes)",
                    ])
            }
            let journalHadRows = schedule.journalHasRows
            let started = ContinuousClock.now
            try writeDerived(outcome: &outcome)
            try saveEngineState(batchToken: batch.token)
            if journalHadRows { try emptyJournal() }
            if policy.derivedWriteInterval > 0 || policy.liveDerivedWriteSpacing != nil {
                logger.debug(
                    "derived rows written with the batch",
                    metadata: ["milliseconds": "\((ContinuousClock.now - started) / .milliseconds(1))"])
            }
            // Should the transaction fail, the restore sets the schedule from the journal again.
            schedule.wroteDerivedRows(rule: rule)
        } else {
            try journal(firstSequence: firstSequence, batchToken: batch.token)
        }
        return outcome
    }

    /// A gateway's batch: dead letters and file positions (its events went to the bus).
    private func writeDeadLettersOnly(_ batch: IngestBatch) throws -> BatchOutcome {
        guard batch.events.isEmpty else {
            throw StoreError(
                message: "a gateway's sink was handed \(batch.events.count) events to store",
                hint: "every event source of a gateway forwards to the bus (forward_to); this is a bug in cjmd")
        }
        var outcome = BatchOutcome()
        try partitions.ensure(.rejectedEvents, covering: batch.rejections.lazy.map(\.receivedAt), on: connection)
        outcome.rejected = try sourceRows.storeRejections(batch.rejections)
        try sourceRows.writeCheckpoints(batch.checkpoints, forgetting: batch.forgottenFiles)
        if let token = batch.token {
            _ = try connection.execute(
                "UPDATE cjm.engine_state SET last_batch_token = $1 WHERE id = 1", [.int(token)])
        }
        return outcome
    }

    /// Returns the space of the rows sealed during a bulk load (`cjm.instance_rows` and
    /// `cjm.moment_rows` hold mostly dead versions then) at once rather than when autovacuum
    /// gets to them: VACUUM gives the emptied pages at the end of the files back to the
    /// system. Outside any transaction; a replay calls it when it ends.
    public func reclaimSealedRows() throws {
        guard sealedSinceStart else { return }
        try connection.executeScript("VACUUM cjm.instance_rows, cjm.moment_rows, cjm.seal_queue")
    }

    /// When a live commit next has work even if no event arrives (by the clock of the live
    /// watermark rule): once the earliest buffered event comes due — the live watermark, the
    /// clock minus `allowed_lateness`, passes it 1 µs after its time plus the lateness — or,
    /// when batches have journaled since the last derived write, once the derived rows may be
    /// written again (``WritePolicy/liveDerivedWriteSpacing``). Nil when nothing waits. The commit loop
    /// wakes then instead of on its idle tick, so that an event is visible in the funnel
    /// soon after its lateness has passed also when traffic stops (deadlines — abandonment,
    /// expiry — are not included: those keep to the tick).
    public var nextLiveDueTime: EventTime? {
        schedule.nextLiveDueTime(pendingFrom: engine.pendingFrom, lateness: configuration.ingest.allowedLateness)
    }

    /// Writes the derived rows that wait for a later batch (see ``WritePolicy/liveDerivedWriteSpacing``)
    /// in a transaction of their own, so that the tables are complete: called when the
    /// daemon stops, and before a reload replaces the sink. Does nothing when none wait.
    /// The outcome holds the alert transitions of the write.
    @discardableResult
    public func writeWaitingDerivedRows() throws -> BatchOutcome {
        guard schedule.journalHasRows else { return BatchOutcome() }
        do {
            var outcome = BatchOutcome()
            try connection.transaction {
                try claimBatch()
                try writeDerived(outcome: &outcome)
                try saveEngineState()
                try emptyJournal()
            }
            fence.committed()
            schedule.wroteDerivedRows(rule: nil)
            if policy.announcesAlerts { derivedRows.logAlerts(outcome.alertTransitions) }
            return outcome
        } catch {
            restoreAfterFailure()
            throw error
        }
    }

    /// Counts this transaction in `cjm.engine_state.commits`. The update locks the row until
    /// the transaction ends, so batch transactions of several processes on one database
    /// take turns. A count other than the one this sink last saw means another process
    /// committed since: the engine is then restored from the database first. That is
    /// complete, since nobody else can commit while this transaction holds the row.
    ///
    /// So two writers on one database (a replay into a running daemon's database, say) stay
    /// correct, each batch applied to the state all earlier ones left; each restore costs
    /// time, which is why one writer per database is the way to run.
    ///
    /// A shard's claim is also conditional on its partition's stream sequence: should it have
    /// moved since this sink last committed (another daemon took the partition over while this
    /// one's session was gone), the claim throws ``PartitionMoved`` and nothing is written.
    /// Otherwise it moves the sequence to the batch's last message (`streamSequence`), which
    /// then commits with the batch or not at all.
    private func claimBatch(advancingStreamTo streamSequence: Int64? = nil) throws {
        let claimed: QueryResult
        if scope.partition != nil {
            claimed = try connection.execute(
                """
                UPDATE cjm.partition_state SET commits = commits + 1, stream_sequence = coalesce($2, stream_sequence)
                WHERE \(scope.stateKey) AND stream_sequence = $1 RETURNING commits
                """, [.int(committedStreamSequence), streamSequence.map { .int($0) }])
            guard claimed.rowCount == 1 else {
                throw PartitionMoved(partition: scope.partition!, expected: committedStreamSequence)
            }
        } else {
            claimed = try connection.execute(
                "UPDATE cjm.engine_state SET commits = commits + 1 WHERE id = 1 RETURNING commits")
        }
        let claim = fence.claimed(try claimed.int64(row: 0, column: 0) ?? 0)
        guard claim.otherWriterCommitted else { return }
        if claim.report {
            logger.warning(
                "another process wrote to this database since this one's last batch; restoring journey state from it first",
                metadata: [
                    "times": "\(fence.restoresForOtherWriters)",
                    "hint":
                        "run one writer (cjmd run, replay or rebuild) per database: several stay correct, but each restores whenever another wrote",
                ])
        }
        try restoreEngine()
    }

    /// The database's count of batch transactions (`cjm.engine_state.commits`).
    private static func committedBatches(_ connection: PostgresConnection, scope: SinkScope) throws -> Int64 {
        try connection.execute("SELECT commits FROM \(scope.stateRow)").int64(row: 0, column: 0) ?? 0
    }

    /// The stream sequence the partition of `scope` has committed.
    private static func streamSequence(of scope: SinkScope, on connection: PostgresConnection) throws -> Int64 {
        try connection.execute("SELECT stream_sequence FROM \(scope.stateRow)").int64(row: 0, column: 0) ?? 0
    }

    /// Empties this sink's rows of `cjm.batch_journal`.
    private func emptyJournal() throws {
        _ = try connection.execute("DELETE FROM cjm.batch_journal WHERE part = $1", [.int(Int64(scope.part))])
    }

    /// Records a batch whose derived rows wait (see ``WritePolicy/derivedWriteInterval``).
    private func journal(firstSequence: Int64, batchToken: Int64?) throws {
        _ = try connection.execute(
            """
            WITH j AS (INSERT INTO cjm.batch_journal (first_seq, end_seq, watermark, part) VALUES ($1, $2, $3, $5))
            UPDATE \(scope.stateTable) SET next_seq = $2, last_batch_token = $4, updated_at = now()
            WHERE \(scope.stateKey)
            """,
            [
                .int(firstSequence), .int(nextSequence),
                engine.watermark > .distantPast
                    ? .timestamp(microsecondsSinceEpoch: engine.watermark.microseconds) : nil,
                batchToken.map { .int($0) }, .int(Int64(scope.part)),
            ])
        schedule.journaled()
    }

    /// Applies the journaled batches again to an engine restored from the derived tables,
    /// each as it was applied the first time: its events in order, then its watermark.
    /// Their events are read in one pass (`seq` ranges follow each other, and a BRIN index
    /// on `seq` keeps that pass to the table's newest blocks).
    private func applyJournal() throws {
        schedule.restored(journaledBatches: 0, journaledEvents: 0)
        let batches = try connection.execute(
            "SELECT first_seq, end_seq, watermark FROM cjm.batch_journal WHERE part = $1 ORDER BY id",
            [.int(Int64(scope.part))])
        guard batches.rowCount > 0 else { return }
        schedule.restored(journaledBatches: batches.rowCount, journaledEvents: 0)
        let from = try batches.int64(row: 0, column: 0) ?? 0
        let through = try batches.int64(row: batches.rowCount - 1, column: 1) ?? 0
        let events = try connection.execute(
            """
            SELECT \(StoredEventRow.columns) FROM cjm.event_rows
            WHERE seq >= $1 AND seq < $2 AND \(scope.ownsEvents()) ORDER BY seq
            """,
            [.int(from), .int(through)])
        var next = 0
        for row in 0..<batches.rowCount {
            let end = try batches.int64(row: row, column: 1) ?? 0
            while next < events.rowCount, try events.int64(row: next, column: StoredEventRow.sequenceColumn) ?? 0 < end
            {
                let stored = try StoredEventRow.decode(events, row: next)
                engine.ingest(stored.event, sequence: stored.sequence)
                next += 1
            }
            if let watermark = try batches.timestampMicroseconds(row: row, column: 2) {
                engine.advanceWatermark(to: EventTime(microseconds: watermark))
            }
        }
        schedule.restored(journaledBatches: batches.rowCount, journaledEvents: next)
        logger.info(
            "applied journaled batches again",
            metadata: [
                "batches": "\(batches.rowCount)", "events": "\(next)",
            ])
    }

    /// Applies events that are already in `cjm.events` (rebuild), inside the caller's
    /// transaction.
    func applyStored(_ events: [StoredEvent], rule: WatermarkRule) throws {
        var outcome = BatchOutcome()
        ingest(events, rule: rule, outcome: &outcome)
        try writeDerived(outcome: &outcome)
        try saveEngineState()
        // Staging rows normally vanish at commit; this transaction goes on.
        try connection.executeScript(
            """
            TRUNCATE pg_temp.stage_instances, pg_temp.stage_moments, pg_temp.stage_touchpoints,
                     pg_temp.stage_decisions, pg_temp.stage_personas
            """)
    }

    /// Feeds new events to the engine and moves its watermark.
    private func ingest(_ fresh: [StoredEvent], rule: WatermarkRule, outcome: inout BatchOutcome) {
        ingestEvents(fresh, outcome: &outcome)
        switch rule {
        case .replay:
            engine.advanceReplayWatermark()
        case .live(let now):
            engine.advanceWatermark(to: now - configuration.ingest.allowedLateness)
        case .finish(let asOf):
            engine.advanceReplayWatermark()
            // Nothing was ever accepted and no time given: there is no end to move to.
            if let end = asOf ?? (engine.maxEventTime > .distantPast ? engine.maxEventTime : nil) {
                engine.finish(asOf: end)
            }
        case .through(let time):
            engine.advanceWatermark(to: time)
        }
    }

    /// Where a live batch can move the watermark before its own events are ingested,
    /// without changing the result (nil: nowhere). That is the live watermark, but short of
    /// the batch's earliest event: whatever the engine applies below it, it would apply
    /// before any of the batch's events anyway (per customer, events and deadlines go in
    /// time order), and moving the watermark in two steps is what consecutive batches do
    /// all the time. A batch with an event behind the engine's watermark (late) gets nil,
    /// since late events are applied on arrival, before any advance.
    ///
    /// The point: applying the events that come due is most of a live batch's own work,
    /// and this lets it run while the database digests the batch's COPY.
    func earlyLiveAdvance(_ events: [AcceptedEvent], now: EventTime) -> EventTime? {
        guard let earliest = events.lazy.map(\.event.time).min() else { return nil }
        let target = min(now - configuration.ingest.allowedLateness, earliest - TimeSpan(microseconds: 1))
        return target > engine.watermark ? target : nil
    }

    /// Hands new events to the engine (without moving its watermark), counting late ones.
    func ingestEvents(_ fresh: [StoredEvent], outcome: inout BatchOutcome) {
        for stored in fresh {
            let late = engine.ingest(stored.event, sequence: stored.sequence, stages: stored.stages)
            if late {
                outcome.late += 1
                outcome.lateBySource[stored.source, default: 0] += 1
            }
        }
    }

    /// Writes everything the engine changed since the last derived write.
    private func writeDerived(outcome: inout BatchOutcome) throws {
        defer {
            outcome.alertTransitions = alertTransitions
            alertTransitions = []
        }
        schedule.tookChanges()
        let changes = engine.takeChanges()
        closedInstanceRows += changes.instances.lazy.filter { $0.exitedAt != nil }.count
        let sealing = closedInstanceRows >= policy.sealAfterClosedInstances
        alertTransitions += try derivedRows.write(changes, sealingChunksOf: sealing ? policy.sealedChunkSize : nil)
        if sealing {
            // Should the transaction fail, the count is too low: the next seal comes late.
            closedInstanceRows = 0
            sealedSinceStart = true
        }
    }

    private func saveEngineState(batchToken: Int64? = nil) throws {
        func time(_ value: EventTime?) -> PostgresValue? {
            value.flatMap { $0 > .distantPast ? .timestamp(microsecondsSinceEpoch: $0.microseconds) : nil }
        }
        // A shard's engine judges no alerts (see ``JourneyEngine/judgesAlerts``).
        let alertsColumn = scope.partition == nil ? "alerts_evaluated_through = $6," : ""
        _ = try connection.execute(
            """
            UPDATE \(scope.stateTable) SET watermark = $1, max_event_time = $2, pending_from = $3, next_seq = $4,
                   last_batch_token = coalesce($5, last_batch_token), \(alertsColumn) updated_at = now()
            WHERE \(scope.stateKey)
            """,
            [
                time(engine.watermark), time(engine.maxEventTime), time(engine.pendingFrom), .int(nextSequence),
                batchToken.map { .int($0) },
            ] + (scope.partition == nil ? [time(engine.alertsEvaluatedThrough)] : []))
    }

    /// Whether the batch with `token` is the last one committed: asked after a connection was
    /// lost during a commit, whose outcome the client cannot know.
    public func isLastCommitted(batchToken token: Int64) throws -> Bool {
        let result = try connection.execute(
            "SELECT last_batch_token = $1 FROM \(scope.stateRow)", [.int(token)])
        return result.string(row: 0, column: 0) == "t"
    }

    /// Session-local staging tables: COPY lands there, then one set-based statement moves the
    /// rows into place (de-duplicating or upserting) — far cheaper than row-wise INSERTs.
    private static func prepareStaging(_ connection: PostgresConnection) throws {
        try connection.executeScript(
            """
            CREATE TEMP TABLE IF NOT EXISTS stage_instances (LIKE cjm.instance_rows INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
            CREATE TEMP TABLE IF NOT EXISTS stage_moments (LIKE cjm.moment_rows INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
            CREATE TEMP TABLE IF NOT EXISTS closing_instances (LIKE cjm.instance_rows) ON COMMIT DELETE ROWS;
            CREATE TEMP TABLE IF NOT EXISTS closing_moments (LIKE cjm.moment_rows) ON COMMIT DELETE ROWS;
            CREATE TEMP TABLE IF NOT EXISTS stage_touchpoints (LIKE cjm.touchpoint_stats_by_part) ON COMMIT DELETE ROWS;
            CREATE TEMP TABLE IF NOT EXISTS stage_decisions (LIKE cjm.stage_decisions_by_part) ON COMMIT DELETE ROWS;
            CREATE TEMP TABLE IF NOT EXISTS stage_personas (LIKE cjm.customer_personas) ON COMMIT DELETE ROWS;
            """)
    }
}

// MARK: Retention

extension JourneySink {
    /// Moves the batch's events older than the retention horizon to its dead letters
    /// (`behind_retention`). The horizon follows the watermark the batch starts from: the
    /// committed one, the same after a restart or a retry, so the verdict is too.
    func setAsideBehindRetention(_ batch: inout IngestBatch, outcome: inout BatchOutcome) {
        guard let retention = configuration.retention.events,
            let horizon = configuration.retention.eventsHorizon(watermark: engine.watermark),
            batch.events.contains(where: { $0.event.time < horizon })
        else { return }
        var kept: [AcceptedEvent] = []
        kept.reserveCapacity(batch.events.count)
        for accepted in batch.events {
            if accepted.event.time < horizon {
                batch.rejections.append(BehindRetention.deadLetter(accepted, horizon: horizon, retention: retention))
                outcome.behindRetentionBySource[accepted.source, default: 0] += 1
            } else {
                kept.append(accepted)
            }
        }
        batch.events = kept
    }

    /// Drops the days retention no longer keeps, when a horizon has passed a day's end since
    /// the last run; call after a commit (cheap when nothing is due). A failure (the lock
    /// not granted within two seconds, say) is logged and tried again a minute later; it
    /// never affects the batches.
    @discardableResult
    public func maintainRetention(now: EventTime) -> RetentionRun {
        // While batches wait in the journal, their events are what a restart applies again.
        // Of the shards, partition 0's runs it (docs/scaling.md); a gateway leaves it to them.
        guard scope == .whole || scope.partition?.index == 0 else { return RetentionRun() }
        guard !schedule.journalHasRows, retention.isDue(watermark: engine.watermark, now: now) else {
            return RetentionRun()
        }
        let dropped: RetentionKeeper.Dropped
        do {
            dropped = try retention.run(now: now, on: connection)
        } catch {
            logger.warning(
                "retention could not drop old partitions; trying again in a minute",
                metadata: ["error": "\(error)"])
            return RetentionRun()
        }
        guard !dropped.isEmpty else { return RetentionRun() }
        partitions.dropped(.events, days: dropped.eventDays)
        partitions.dropped(.rejectedEvents, days: dropped.rejectedDays)
        logger.notice(
            "retention dropped old days",
            metadata: [
                "events_days": "\(dropped.eventDays.map(Self.dayText))",
                "rejected_events_days": "\(dropped.rejectedDays.map(Self.dayText))",
            ])
        if !dropped.eventDays.isEmpty, let keptFrom = dropped.eventsKeptFromDay {
            watchGrowth(keptFromDay: keptFrom)
        }
        return RetentionRun(eventDays: dropped.eventDays.count, rejectedDays: dropped.rejectedDays.count)
    }

    private func watchGrowth(keptFromDay: Int64) {
        guard let bytes = try? StorageSize.totalBytes(on: connection),
            let grown = growth.measuredAfterDrop(bytes: bytes, keptFromDay: keptFromDay)
        else { return }
        logger.warning(
            "cjm's tables grow faster than retention removes",
            metadata: [
                "bytes_after_previous_drop": "\(grown.previousBytes)", "bytes_now": "\(grown.bytes)",
                "growth_bytes_per_day": "\(grown.bytesPerDay)",
                "hint":
                    "traffic is rising, or the tables kept for good (instance_rows, moment_rows, the sealed chunks) outgrow what retention frees; see cjm.storage and docs/storage.md",
            ])
    }

    /// `YYYY-MM-DD` of a day number.
    static func dayText(_ day: Int64) -> String {
        String(EventTime(microseconds: day * DayPartitions.microsecondsPerDay).description.prefix(10))
    }
}

/// What one ``JourneySink/maintainRetention(now:)`` dropped.
public struct RetentionRun: Sendable, Equatable {
    /// Days of `cjm.events` dropped.
    public var eventDays = 0
    /// Days of `cjm.rejected_events` dropped.
    public var rejectedDays = 0

    public init(eventDays: Int = 0, rejectedDays: Int = 0) {
        self.eventDays = eventDays
        self.rejectedDays = rejectedDays
    }
}

// MARK: Shards

/// The partition a shard's sink writes moved since the sink last committed it: another
/// daemon took it over (this one's database session was gone long enough for the standby to
/// take the partition's lock). Nothing of the batch was written; the shard gives the
/// partition up and waits for its lock again.
public struct PartitionMoved: Error, CustomStringConvertible, Sendable {
    public var partition: BusPartition
    /// The stream sequence this sink had committed.
    public var expected: Int64

    public var description: String {
        "partition \(partition.index) moved past stream sequence \(expected) under another daemon; "
            + "this one gives it up and waits for its lock again"
    }
}

extension JourneySink {
    /// Checks that the database may be written in `scope` and, for a partition, makes its row
    /// in `cjm.partition_state`; returns the partition's committed stream sequence (0 else).
    /// A database is written either by one daemon or by shards (docs/scaling.md).
    static func claimScope(_ scope: SinkScope, on connection: PostgresConnection) throws -> Int64 {
        switch scope {
        case .deadLettersOnly:
            return 0
        case .whole:
            let shards =
                try connection.execute("SELECT count(*) FROM cjm.partition_state").int64(row: 0, column: 0) ?? 0
            guard shards == 0 else {
                throw StoreError(
                    message: "this database is written by shards: cjm.partition_state holds \(shards) partitions",
                    hint:
                        "point this command at a database of its own, or run cjmd as a shard (a jetstream source with owned_partitions; docs/scaling.md); `cjmd rebuild` makes the database a single daemon's again"
                )
            }
            return 0
        case .partition(let partition):
            let stored =
                try connection.execute("SELECT next_seq FROM cjm.engine_state WHERE id = 1")
                .int64(row: 0, column: 0) ?? 1
            guard stored <= 1 else {
                throw StoreError(
                    message: "this database holds events a single daemon stored (cjmd run or replay)",
                    hint: "shards write a database of their own: point the shards' database.url at an empty one")
            }
            _ = try connection.execute(
                """
                INSERT INTO cjm.partition_state (part, partitions, next_seq) VALUES ($1, $2, $3)
                ON CONFLICT (part) DO NOTHING
                """,
                [
                    .int(Int64(partition.index)), .int(Int64(partition.count)),
                    .int(Int64(BusPartition.maximumCount + partition.index)),
                ])
            let counts = try connection.execute("SELECT DISTINCT partitions FROM cjm.partition_state ORDER BY 1")
            for row in 0..<counts.rowCount {
                let count = try counts.int64(row: row, column: 0) ?? 0
                guard count == partition.count else {
                    throw StoreError(
                        message:
                            "the bus had \(count) partitions when this database was first written; the configuration says \(partition.count)",
                        hint:
                            "partitions is fixed for the life of the data (a customer's partition depends on it): set it back to \(count)"
                    )
                }
            }
            return try streamSequence(of: scope, on: connection)
        }
    }
}
