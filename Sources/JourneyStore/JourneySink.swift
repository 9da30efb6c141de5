import JourneyCore
import Logging
import PostgresClient

/// The PostgreSQL sink of the pipeline: it owns the journey engine and one connection, and
/// commits each batch — raw events, rejected lines, instance changes, critical moments,
/// aggregates and the engine's position — in a single transaction (SPEC §4). A crash at any
/// point therefore loses nothing committed and counts nothing twice.
///
/// Not thread-safe: one owner drives it (libpq calls block, so keep it off event loops).
/// When a transaction fails, the engine is restored from the database before the error is
/// rethrown, so the caller can retry the same batch on a healthy connection.
public final class JourneySink {
    public let configuration: CJMConfiguration
    public let catalog: JourneyCatalog
    let connection: PostgresConnection
    private var engine: JourneyEngine
    private var nextSequence: Int64
    /// Transitions of the batch being written (handed out in its outcome).
    private var alertTransitions: [AlertTransition] = []
    /// Whether the last batch held ids stored before (see `storeEvents`).
    private var lastBatchHadStoredIDs = false
    /// Text of `cjm.events.stages` per distinct stage map.
    private var mappedStagesCache: [[Int?]: String?] = [:]
    let logger: Logger

    /// Events applied to the engine whose derived rows are not written yet.
    private var unwrittenEvents = 0
    /// Whether `cjm.batch_journal` holds rows (emptied with the next derived write).
    private var journalHasRows = false

    /// How many events may be applied before the derived rows (instances, moments,
    /// aggregates, alerts, the engine's position) are written; 0 writes them with every batch.
    ///
    /// Every batch commits its events either way. Between derived writes, each batch
    /// records its sequence numbers and watermark in `cjm.batch_journal`, and a restored
    /// engine applies those batches again, so a crash loses and doubles nothing. What waits
    /// is only the derived rows: an instance touched by many events of the interval is
    /// written once. A replay sets this (its dashboards are read afterwards); the daemon
    /// writes with every batch, so that what it acknowledges is soon visible.
    public var derivedWriteInterval = 0

    /// Writes the derived rows early, before ``derivedWriteInterval`` events, once the
    /// changes waiting for them are estimated to hold this many bytes
    /// (``JourneyEngine/pendingChangeBytes``). Only matters with an interval above 0.
    public var derivedWriteBudget = Int.max

    /// Whether the engine applies a replay batch while the database stores its events:
    /// the events are ingested before the COPY, and the engine's advance is done in slices
    /// between chunks of rows sent. When the COPY then finds an id stored before, the engine
    /// has run ahead of the database; it is restored (as after any failed transaction) and
    /// the batch is written again the probing way. A replay sets this: a restore costs it
    /// little, while the daemon's engine may be large.
    public var overlapsEngineWithCopy = false
    /// Batches written a second time because the engine had run ahead of a refused COPY.
    public private(set) var batchesWrittenAgain = 0

    /// Writes the configured journeys into `cjm.journey_stages` (call once at start, outside
    /// any transaction, before creating sinks).
    public static func publishJourneys(_ configuration: CJMConfiguration, on connection: PostgresConnection) throws {
        try connection.transaction { try JourneyStages.synchronize(configuration.journeys, on: connection) }
    }

    /// Connects the sink to a migrated database and restores the engine from it.
    public init(configuration: CJMConfiguration, connection: PostgresConnection, logger: Logger) throws {
        self.configuration = configuration
        self.catalog = JourneyCatalog(journeys: configuration.journeys)
        self.connection = connection
        self.logger = logger
        try Self.prepareStaging(connection)
        let loaded = try EngineSnapshotLoader.load(catalog: catalog, alerts: configuration.alerts, from: connection)
        self.engine = JourneyEngine(catalog: catalog, allowedLateness: configuration.ingest.allowedLateness,
                                    alerts: configuration.alerts, restoring: loaded.snapshot)
        self.nextSequence = loaded.nextSequence
        try applyJournal()
        if !loaded.snapshot.pendingEvents.isEmpty || !loaded.snapshot.openInstances.isEmpty {
            logger.info("restored journey state", metadata: [
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
    /// Whether alert transitions are announced (`pg_notify`, log). Rebuild turns it off: it
    /// recomputes history, which has been announced before.
    var announcesAlerts = true

    /// Stores and applies one batch in one transaction.
    @discardableResult
    public func commit(_ batch: IngestBatch, watermark rule: WatermarkRule) throws -> BatchOutcome {
        do {
            let outcome: BatchOutcome
            do {
                outcome = try connection.transaction { try write(batch, rule: rule) }
            } catch is EngineRanAhead {
                logger.info("the batch holds events stored before; writing it again without running the engine ahead")
                try restoreEngine()
                batchesWrittenAgain += 1
                outcome = try connection.transaction { try write(batch, rule: rule) }
            }
            if announcesAlerts { logAlerts(outcome.alertTransitions) }
            return outcome
        } catch {
            logger.warning("batch not committed; restoring journey state from the database",
                           metadata: ["error": "\(error)"])
            restoreAfterFailure()
            throw error
        }
    }

    /// Replaces the engine with one restored from the database (snapshot and journal).
    private func restoreEngine() throws {
        let loaded = try EngineSnapshotLoader.load(catalog: catalog, alerts: configuration.alerts, from: connection)
        engine = JourneyEngine(catalog: catalog, allowedLateness: configuration.ingest.allowedLateness,
                               alerts: configuration.alerts, restoring: loaded.snapshot)
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
        var outcome = BatchOutcome()
        let firstSequence = nextSequence
        let fresh: [(TouchpointEvent, Int64, String)]
        if overlapsEngineWithCopy, case .replay = rule, !lastBatchHadStoredIDs {
            fresh = try storeAndApplyEvents(batch.events, outcome: &outcome)
        } else {
            fresh = try storeEvents(batch.events, outcome: &outcome)
            ingest(fresh, rule: rule, outcome: &outcome)
        }
        outcome.rejected = try storeRejections(batch.rejections)
        try writeCheckpoints(batch.checkpoints, forgetting: batch.forgottenFiles)
        unwrittenEvents += fresh.count
        if derivedRowsDue(rule) {
            if derivedWriteInterval > 0 {
                logger.debug("writing derived rows", metadata: [
                    "events": "\(unwrittenEvents)", "estimated_bytes": "\(engine.pendingChangeBytes)"])
            }
            try writeDerived(outcome: &outcome)
            try saveEngineState(batchToken: batch.token)
            if journalHasRows { _ = try connection.execute("DELETE FROM cjm.batch_journal") }
        } else {
            try journal(firstSequence: firstSequence, batchToken: batch.token)
        }
        return outcome
    }

    /// Whether this batch writes the derived rows: always at the end of a replay or rebuild
    /// (their rules say where the watermark ends, which the journal cannot replay).
    private func derivedRowsDue(_ rule: WatermarkRule) -> Bool {
        switch rule {
        case .finish, .through: return true
        case .replay, .live:
            return derivedWriteInterval <= 0 || unwrittenEvents >= derivedWriteInterval
                || engine.pendingChangeBytes >= derivedWriteBudget
        }
    }

    /// Records a batch whose derived rows wait (see ``derivedWriteInterval``).
    private func journal(firstSequence: Int64, batchToken: Int64?) throws {
        _ = try connection.execute("""
            WITH j AS (INSERT INTO cjm.batch_journal (first_seq, end_seq, watermark) VALUES ($1, $2, $3))
            UPDATE cjm.engine_state SET next_seq = $2, last_batch_token = $4, updated_at = now() WHERE id = 1
            """, [
                .int(firstSequence), .int(nextSequence),
                engine.watermark > .distantPast ? .timestamp(microsecondsSinceEpoch: engine.watermark.microseconds) : nil,
                batchToken.map { .int($0) },
            ])
        journalHasRows = true
    }

    /// Applies the journaled batches again to an engine restored from the derived tables,
    /// each as it was applied the first time: its events in order, then its watermark.
    /// Their events are read in one pass (`seq` ranges follow each other, and a BRIN index
    /// on `seq` keeps that pass to the table's newest blocks).
    private func applyJournal() throws {
        journalHasRows = false
        unwrittenEvents = 0
        let batches = try connection.execute(
            "SELECT first_seq, end_seq, watermark FROM cjm.batch_journal ORDER BY id")
        guard batches.rowCount > 0 else { return }
        journalHasRows = true
        let from = try batches.int64(row: 0, column: 0) ?? 0
        let through = try batches.int64(row: batches.rowCount - 1, column: 1) ?? 0
        let events = try connection.execute(
            "SELECT \(StoredEventRow.columns) FROM cjm.events WHERE seq >= $1 AND seq < $2 ORDER BY seq",
            [.int(from), .int(through)])
        var next = 0
        for row in 0..<batches.rowCount {
            let end = try batches.int64(row: row, column: 1) ?? 0
            while next < events.rowCount, try events.int64(row: next, column: StoredEventRow.sequenceColumn) ?? 0 < end {
                let stored = try StoredEventRow.decode(events, row: next)
                engine.ingest(stored.event, sequence: stored.sequence)
                next += 1
            }
            if let watermark = try batches.timestampMicroseconds(row: row, column: 2) {
                engine.advanceWatermark(to: EventTime(microseconds: watermark))
            }
        }
        unwrittenEvents = next
        logger.info("applied journaled batches again", metadata: [
            "batches": "\(batches.rowCount)", "events": "\(unwrittenEvents)",
        ])
    }

    /// Applies events that are already in `cjm.events` (rebuild), inside the caller's
    /// transaction.
    func applyStored(_ events: [(TouchpointEvent, Int64)], rule: WatermarkRule) throws {
        var outcome = BatchOutcome()
        ingest(events.map { ($0.0, $0.1, "") }, rule: rule, outcome: &outcome)
        try writeDerived(outcome: &outcome)
        try saveEngineState()
        // Staging rows normally vanish at commit; this transaction goes on.
        try connection.executeScript("""
            TRUNCATE pg_temp.stage_instances, pg_temp.stage_moments, pg_temp.stage_touchpoints,
                     pg_temp.stage_touchpoint_customers, pg_temp.stage_decisions
            """)
    }

    /// Feeds new events to the engine and moves its watermark.
    private func ingest(_ fresh: [(TouchpointEvent, Int64, String)], rule: WatermarkRule, outcome: inout BatchOutcome) {
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

    /// Hands new events to the engine (without moving its watermark), counting late ones.
    private func ingestEvents(_ fresh: [(TouchpointEvent, Int64, String)], outcome: inout BatchOutcome) {
        for (event, sequence, source) in fresh {
            let late = engine.ingest(event, sequence: sequence)
            if late {
                outcome.late += 1
                outcome.lateBySource[source, default: 0] += 1
            }
        }
    }

    /// Writes everything the engine changed since the last derived write.
    private func writeDerived(outcome: inout BatchOutcome) throws {
        defer { outcome.alertTransitions = alertTransitions; alertTransitions = [] }
        unwrittenEvents = 0
        let changes = engine.takeChanges()
        try writeInstances(changes.instances, newCount: changes.newInstanceCount)
        try writeMoments(changes.moments, newCount: changes.newMomentCount)
        try writeTouchpoints(changes.touchpoints)
        try writeDecisions(changes.decisions)
        try writeFunnel(changes.funnel, timeToNext: changes.timeToNext)
        try writeAlerts(changes.alerts, transitions: changes.alertTransitions)
        alertTransitions += changes.alertTransitions
    }

    private func saveEngineState(batchToken: Int64? = nil) throws {
        _ = try connection.execute("""
            UPDATE cjm.engine_state SET watermark = $1, max_event_time = $2, pending_from = $3, next_seq = $4,
                   alerts_evaluated_through = $5, last_batch_token = $6, updated_at = now() WHERE id = 1
            """, [
                engine.watermark > .distantPast ? .timestamp(microsecondsSinceEpoch: engine.watermark.microseconds) : nil,
                engine.maxEventTime > .distantPast ? .timestamp(microsecondsSinceEpoch: engine.maxEventTime.microseconds) : nil,
                engine.pendingFrom.map { .timestamp(microsecondsSinceEpoch: $0.microseconds) },
                .int(nextSequence),
                engine.alertsEvaluatedThrough.map { .timestamp(microsecondsSinceEpoch: $0.microseconds) },
                batchToken.map { .int($0) },
            ])
    }

    /// Whether the batch with `token` is the last one committed: asked after a connection was
    /// lost during a commit, whose outcome the client cannot know.
    public func isLastCommitted(batchToken token: Int64) throws -> Bool {
        let result = try connection.execute("SELECT last_batch_token = $1 FROM cjm.engine_state WHERE id = 1", [.int(token)])
        return result.string(row: 0, column: 0) == "t"
    }

    /// Stores the batch's new events in `cjm.events`; returns them with their arrival
    /// sequence. Duplicates (within the batch, or stored before) are counted and skipped.
    ///
    /// The common batch holds no stored id, so it is COPYed straight into `cjm.events` under
    /// a savepoint: no staging copy and no per-row conflict handling. When the primary key
    /// refuses a row, the savepoint is rolled back, one index probe per id finds the stored
    /// ones, and the rest is COPYed; the next batch probes first until a batch finds none.
    /// (A concurrent writer storing an id between the probe and the COPY fails this batch,
    /// which is then retried like any failed batch.)
    private func storeEvents(_ events: [AcceptedEvent], outcome: inout BatchOutcome) throws -> [(TouchpointEvent, Int64, String)] {
        guard !events.isEmpty else { return [] }
        let unique = uniqueEvents(events, outcome: &outcome)
        if !lastBatchHadStoredIDs {
            let firstSequence = nextSequence
            try connection.executeScript("SAVEPOINT cjmd_store_events")
            do {
                let fresh = try copyEvents(unique, skipping: [])
                try connection.executeScript("RELEASE SAVEPOINT cjmd_store_events")
                outcome.stored = fresh.count
                return fresh
            } catch let error as PostgresError where error.sqlState == "23505" {
                try connection.executeScript("ROLLBACK TO SAVEPOINT cjmd_store_events; RELEASE SAVEPOINT cjmd_store_events")
                nextSequence = firstSequence
            }
        }
        let stored = try storedEventIDs(among: unique)
        for accepted in unique where stored.contains(accepted.event.eventID) {
            outcome.duplicates += 1
            outcome.duplicatesBySource[accepted.source, default: 0] += 1
        }
        // A replay of stored files finds ids in every batch: probe first then, rather than
        // failing a COPY (and logging a server error) per batch.
        lastBatchHadStoredIDs = !stored.isEmpty
        let fresh = try copyEvents(unique, skipping: stored)
        outcome.stored = fresh.count
        return fresh
    }

    /// The batch's events without repeated ids (counted as duplicates), in order.
    private func uniqueEvents(_ events: [AcceptedEvent], outcome: inout BatchOutcome) -> [AcceptedEvent] {
        var seen = Set<String>(minimumCapacity: events.count)
        var unique: [AcceptedEvent] = []
        unique.reserveCapacity(events.count)
        for accepted in events {
            if seen.insert(accepted.event.eventID).inserted {
                unique.append(accepted)
            } else {
                outcome.duplicates += 1
                outcome.duplicatesBySource[accepted.source, default: 0] += 1
            }
        }
        return unique
    }

    /// ``storeEvents(_:outcome:)`` and ``ingest(_:rule:outcome:)`` of a replay batch at once
    /// (see ``overlapsEngineWithCopy``): the engine takes the events, and applies them
    /// slice by slice between chunks of the COPY, while the database parses and indexes the
    /// rows already sent. Throws ``EngineRanAhead`` when the COPY finds an id stored before.
    private func storeAndApplyEvents(_ events: [AcceptedEvent], outcome: inout BatchOutcome) throws -> [(TouchpointEvent, Int64, String)] {
        guard !events.isEmpty else { return [] }
        let unique = uniqueEvents(events, outcome: &outcome)
        let firstSequence = nextSequence
        let fresh = unique.enumerated().map { (offset, accepted) in
            (accepted.event, firstSequence + Int64(offset), accepted.source)
        }
        ingestEvents(fresh, outcome: &outcome)
        let target = engine.replayWatermark
        try connection.executeScript("SAVEPOINT cjmd_store_events")
        do {
            _ = try copyEvents(unique, skipping: [], slice: Self.rowsPerEngineSlice) {
                if let target { engine.beginAdvance(to: target, limit: 2 * Self.rowsPerEngineSlice) }
            }
            try connection.executeScript("RELEASE SAVEPOINT cjmd_store_events")
        } catch let error as PostgresError where error.sqlState == "23505" {
            try connection.executeScript("ROLLBACK TO SAVEPOINT cjmd_store_events; RELEASE SAVEPOINT cjmd_store_events")
            lastBatchHadStoredIDs = true
            throw EngineRanAhead()
        }
        if let target { engine.advanceWatermark(to: target) }
        outcome.stored = fresh.count
        return fresh
    }

    /// Rows sent between two slices of engine work in ``storeAndApplyEvents(_:outcome:)``
    /// (about 50 kB, a millisecond of the server's work); each slice does at most twice as
    /// many steps, so that little is left once the last row is sent.
    static let rowsPerEngineSlice = 256

    /// The engine took a batch whose COPY then failed on an id stored before.
    struct EngineRanAhead: Error {}

    /// COPYs `events` but those in `stored` into `cjm.events`, numbering them in order.
    /// After every `slice` rows (0: never) the rows are sent, and `between` runs.
    private func copyEvents(
        _ events: [AcceptedEvent], skipping stored: Set<String>, slice: Int = 0, between: () -> Void = {}
    ) throws -> [(TouchpointEvent, Int64, String)] {
        var fresh: [(TouchpointEvent, Int64, String)] = []
        fresh.reserveCapacity(events.count)
        // Binary: the server copies the values instead of parsing timestamps and numbers.
        try connection.copyInBinary("""
            COPY cjm.events (event_id, customer_id, ts, event, touchpoint, sentiment, revenue, properties,
                             source, received_at, seq, journey, stages) FROM STDIN (FORMAT binary)
            """) { writer in
            for accepted in events where !stored.contains(accepted.event.eventID) {
                if slice > 0, !fresh.isEmpty, fresh.count % slice == 0 {
                    try writer.flush()
                    between()
                }
                let e = accepted.event
                let sequence = nextSequence
                nextSequence += 1
                fresh.append((e, sequence, accepted.source))
                writer.appendText(e.eventID)
                writer.appendText(e.customerID)
                writer.appendTimestamp(microsecondsSinceEpoch: e.time.microseconds)
                writer.appendText(e.name)
                writer.appendText(e.touchpoint)
                writer.appendDouble(e.sentiment)
                writer.appendNumeric(units: e.revenue?.micros, scale: 6)
                writer.appendJSONB(e.propertiesJSON)
                writer.appendText(accepted.source)
                writer.appendTimestamp(microsecondsSinceEpoch: accepted.receivedAt.microseconds)
                writer.appendInt64(sequence)
                writer.appendText(e.journey)
                writer.appendJSONB(mappedStagesText(for: e))
                try writer.endRow()
            }
        }
        return fresh
    }

    /// The ids among `events` that `cjm.events` holds already.
    private func storedEventIDs(among events: [AcceptedEvent]) throws -> Set<String> {
        let result = try connection.execute(
            "SELECT event_id FROM cjm.events WHERE event_id = ANY($1::text[])",
            [.text(SQLText.textArray(events.map(\.event.eventID)))])
        var ids = Set<String>(minimumCapacity: result.rowCount)
        for row in 0..<result.rowCount {
            if let id = result.string(row: row, column: 0) { ids.insert(id) }
        }
        return ids
    }

    /// `cjm.events.stages` of an event, memoized: few distinct stage maps exist.
    private func mappedStagesText(for event: TouchpointEvent) -> String? {
        let stages = catalog.mappedStages(for: event)
        if let known = mappedStagesCache[stages] { return known }
        let text = SQLText.mappedStages(stages, catalog: catalog)
        if mappedStagesCache.count < 10_000 { mappedStagesCache[stages] = text }
        return text
    }

    private func storeRejections(_ rejections: [RejectedLine]) throws -> Int {
        guard !rejections.isEmpty else { return 0 }
        return try connection.copyIn(
            "COPY cjm.rejected_events (received_at, source, reason, detail, raw) FROM STDIN"
        ) { writer in
            for r in rejections {
                writer.appendTimestamp(microsecondsSinceEpoch: r.receivedAt.microseconds)
                writer.appendText(r.source)
                writer.appendText(r.reason)
                writer.appendText(r.detail)
                writer.appendBytea(r.raw)
                try writer.endRow()
            }
        }
    }

    /// Writes instance rows: new ones (the first `newCount`, never written before) are COPYed
    /// straight into the table; the others go through staging and one upsert. Should a new
    /// one exist after all (a concurrent writer), all go the upsert way.
    private func writeInstances(_ instances: [InstanceRecord], newCount: Int) throws {
        guard !instances.isEmpty else { return }
        let upserted = try insertingNew(instances, newCount: newCount, into: "cjm.journey_instances", copy: copyInstances)
        guard !upserted.isEmpty else { return }
        try copyInstances(upserted, into: "pg_temp.stage_instances")
        _ = try connection.execute("""
            INSERT INTO cjm.journey_instances SELECT * FROM pg_temp.stage_instances
            ON CONFLICT (journey, customer_id, instance) DO UPDATE SET
                entered_at = EXCLUDED.entered_at, stage_index = EXCLUDED.stage_index, stage = EXCLUDED.stage,
                reached_at = EXCLUDED.reached_at, status = EXCLUDED.status, last_seen = EXCLUDED.last_seen,
                exited_at = EXCLUDED.exited_at, last_event = EXCLUDED.last_event,
                last_touchpoint = EXCLUDED.last_touchpoint, stage_events = EXCLUDED.stage_events,
                stage_sentiment_count = EXCLUDED.stage_sentiment_count,
                stage_sentiment_sum = EXCLUDED.stage_sentiment_sum, stage_revenue = EXCLUDED.stage_revenue,
                pain_points = EXCLUDED.pain_points, moments = EXCLUDED.moments
            """)
    }

    /// COPYs the first `newCount` records into `table` under a savepoint; returns the records
    /// left to upsert (the rest, or all of them when the table refused a new one as present).
    private func insertingNew<Record>(
        _ records: [Record], newCount: Int, into table: String,
        copy: (ArraySlice<Record>, String) throws -> Void
    ) throws -> ArraySlice<Record> {
        guard newCount > 0 else { return records[...] }
        try connection.executeScript("SAVEPOINT cjmd_insert_new")
        do {
            try copy(records[..<newCount], table)
            try connection.executeScript("RELEASE SAVEPOINT cjmd_insert_new")
            return records[newCount...]
        } catch let error as PostgresError where error.sqlState == "23505" {
            try connection.executeScript("ROLLBACK TO SAVEPOINT cjmd_insert_new; RELEASE SAVEPOINT cjmd_insert_new")
            logger.warning("rows thought new were in \(table) already; upserting them", metadata: ["error": "\(error)"])
            return records[...]
        }
    }

    /// COPYs instance rows into `table` (`cjm.journey_instances` or its staging twin), in
    /// binary: the server then reads arrays and timestamps without parsing them.
    private func copyInstances(_ instances: ArraySlice<InstanceRecord>, into table: String) throws {
        try connection.copyInBinary("COPY \(table) FROM STDIN (FORMAT binary)") { writer in
            for index in KeyOrder.instances(instances, catalog: catalog) {
                let r = instances[index]
                let journey = catalog.journeys[r.journey]
                writer.appendText(journey.name)
                writer.appendText(r.customerID)
                writer.appendInt32(r.instance)
                writer.appendTimestamp(microsecondsSinceEpoch: r.enteredAt.microseconds)
                writer.appendInt32(Int32(r.stageIndex))
                writer.appendText(journey.stages[r.stageIndex].name)
                writer.beginArray(of: .timestamptz, count: r.stages.count)
                for stage in r.stages { writer.appendArrayElement(timestampMicroseconds: stage.reachedAt?.microseconds) }
                writer.endArray()
                writer.appendText(r.status.rawValue)
                writer.appendTimestamp(microsecondsSinceEpoch: r.lastSeen.microseconds)
                if let exited = r.exitedAt {
                    writer.appendTimestamp(microsecondsSinceEpoch: exited.microseconds)
                } else {
                    writer.appendNull()
                }
                writer.appendText(r.lastEvent)
                writer.appendText(r.lastTouchpoint)
                writer.beginArray(of: .int4, count: r.stages.count)
                for stage in r.stages { writer.appendArrayElement(int4: stage.events) }
                writer.endArray()
                writer.beginArray(of: .int4, count: r.stages.count)
                for stage in r.stages { writer.appendArrayElement(int4: stage.sentimentCount) }
                writer.endArray()
                writer.beginArray(of: .float8, count: r.stages.count)
                for stage in r.stages { writer.appendArrayElement(float8: stage.sentimentSum) }
                writer.endArray()
                writer.beginArray(of: .numeric, count: r.stages.count)
                for stage in r.stages { writer.appendArrayElement(numericUnits: stage.revenue.micros, scale: 6) }
                writer.endArray()
                writer.appendJSONB(r.painPoints.isEmpty ? "[]" : SQLText.painPoints(r.painPoints, journey: journey))
                writer.appendInt32(r.moments)
                try writer.endRow()
            }
        }
    }

    /// Writes moments: new ones straight into the table, recoveries through an upsert.
    private func writeMoments(_ moments: [CriticalMomentRecord], newCount: Int) throws {
        guard !moments.isEmpty else { return }
        let upserted = try insertingNew(moments, newCount: newCount, into: "cjm.critical_moments", copy: copyMoments)
        guard !upserted.isEmpty else { return }
        try copyMoments(upserted, into: "pg_temp.stage_moments")
        // A moment is immutable once detected but for its recovery time.
        _ = try connection.execute("""
            INSERT INTO cjm.critical_moments SELECT * FROM pg_temp.stage_moments
            ON CONFLICT (journey, customer_id, instance, moment) DO UPDATE SET recovered_at = EXCLUDED.recovered_at
            """)
    }

    /// COPYs moment rows into `table` (`cjm.critical_moments` or its staging twin), in binary.
    private func copyMoments(_ moments: ArraySlice<CriticalMomentRecord>, into table: String) throws {
        try connection.copyInBinary("COPY \(table) FROM STDIN (FORMAT binary)") { writer in
            for index in KeyOrder.moments(moments, catalog: catalog) {
                let m = moments[index]
                let journey = catalog.journeys[m.journey]
                writer.appendText(journey.name)
                writer.appendText(m.customerID)
                writer.appendInt32(m.instance)
                writer.appendInt32(m.moment)
                writer.appendInt32(Int32(m.stageIndex))
                writer.appendText(journey.stages[m.stageIndex].name)
                writer.appendText(m.reason.rawValue)
                writer.appendText(m.lastEvent)
                writer.appendText(m.lastTouchpoint)
                writer.appendTimestamp(microsecondsSinceEpoch: m.lastSeen.microseconds)
                writer.appendInterval(microseconds: m.timeInStage.microseconds)
                writer.appendJSONB(SQLText.painPoints(m.painPoints, journey: journey))
                writer.appendTimestamp(microsecondsSinceEpoch: m.detectedAt.microseconds)
                if let recovered = m.recoveredAt {
                    writer.appendTimestamp(microsecondsSinceEpoch: recovered.microseconds)
                } else {
                    writer.appendNull()
                }
                try writer.endRow()
            }
        }
    }

    private func writeTouchpoints(_ tallies: [TouchpointKey: TouchpointTally]) throws {
        guard !tallies.isEmpty else { return }
        try connection.copyIn("COPY pg_temp.stage_touchpoints FROM STDIN") { writer in
            for (key, tally) in tallies {
                writer.appendText(catalog.journeys[key.journey].name)
                writer.appendInteger(key.stageIndex)
                writer.appendText(key.touchpoint)
                writer.appendInteger(tally.events)
                writer.appendInteger(tally.sentimentCount)
                writer.appendDouble(tally.sentimentSum)
                writer.appendText(tally.revenue.description)
                try writer.endRow()
            }
        }
        _ = try connection.execute("""
            INSERT INTO cjm.touchpoint_stats AS t SELECT * FROM pg_temp.stage_touchpoints
            ON CONFLICT (journey, stage_index, touchpoint) DO UPDATE SET
                events = t.events + EXCLUDED.events, sentiment_count = t.sentiment_count + EXCLUDED.sentiment_count,
                sentiment_sum = t.sentiment_sum + EXCLUDED.sentiment_sum, revenue = t.revenue + EXCLUDED.revenue
            """)
        try writeTouchpointCustomers(tallies)
    }

    /// Adds the customers of each touchpoint to `cjm.touchpoint_customers`. Customers the
    /// engine did not know before (``TouchpointTally/newCustomers``) are COPYed straight in;
    /// the others are staged and inserted unless present. Should a new one be present after
    /// all (a concurrent writer), all go the staged way.
    private func writeTouchpointCustomers(_ tallies: [TouchpointKey: TouchpointTally]) throws {
        func copyPairs(into table: String, _ members: (TouchpointTally) -> Set<String>) throws {
            try connection.copyIn("COPY \(table) FROM STDIN") { writer in
                for key in KeyOrder.touchpoints(tallies.keys, catalog: catalog) {
                    let journey = catalog.journeys[key.journey].name
                    for customer in members(tallies[key]!).sorted() {
                        writer.appendText(journey)
                        writer.appendInteger(key.stageIndex)
                        writer.appendText(key.touchpoint)
                        writer.appendText(customer)
                        try writer.endRow()
                    }
                }
            }
        }
        var stageNew = false
        if tallies.values.contains(where: { !$0.newCustomers.isEmpty }) {
            try connection.executeScript("SAVEPOINT cjmd_insert_new")
            do {
                try copyPairs(into: "cjm.touchpoint_customers") { $0.newCustomers }
                try connection.executeScript("RELEASE SAVEPOINT cjmd_insert_new")
            } catch let error as PostgresError where error.sqlState == "23505" {
                try connection.executeScript("ROLLBACK TO SAVEPOINT cjmd_insert_new; RELEASE SAVEPOINT cjmd_insert_new")
                logger.warning("customers thought new were in cjm.touchpoint_customers already; inserting them unless present",
                               metadata: ["error": "\(error)"])
                stageNew = true
            }
        }
        guard stageNew || tallies.values.contains(where: { !$0.customers.isEmpty }) else { return }
        try copyPairs(into: "pg_temp.stage_touchpoint_customers") { stageNew ? $0.customers.union($0.newCustomers) : $0.customers }
        _ = try connection.execute("""
            INSERT INTO cjm.touchpoint_customers SELECT * FROM pg_temp.stage_touchpoint_customers
            ON CONFLICT DO NOTHING
            """)
    }

    /// Session-local staging tables: COPY lands there, then one set-based statement moves the
    /// rows into place (de-duplicating or upserting) — far cheaper than row-wise INSERTs.
    private static func prepareStaging(_ connection: PostgresConnection) throws {
        try connection.executeScript("""
            CREATE TEMP TABLE IF NOT EXISTS stage_instances (LIKE cjm.journey_instances INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
            CREATE TEMP TABLE IF NOT EXISTS stage_moments (LIKE cjm.critical_moments INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
            CREATE TEMP TABLE IF NOT EXISTS stage_touchpoints (LIKE cjm.touchpoint_stats) ON COMMIT DELETE ROWS;
            CREATE TEMP TABLE IF NOT EXISTS stage_touchpoint_customers (LIKE cjm.touchpoint_customers) ON COMMIT DELETE ROWS;
            CREATE TEMP TABLE IF NOT EXISTS stage_decisions (LIKE cjm.stage_decisions) ON COMMIT DELETE ROWS;
            """)
    }
}
