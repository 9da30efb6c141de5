import IngestEnvelope
import JourneyCore
import PostgresClient

/// Storing a batch's raw events and dead letters: `cjm.events` by COPY, duplicates skipped,
/// and (in a replay) the engine's work done while the database digests the rows.
extension JourneySink {
    /// Stores the batch's new events in `cjm.events`; returns them with their arrival
    /// sequence. Duplicates (within the batch, or stored before) are counted and skipped.
    ///
    /// The common batch holds no stored id, so it is COPYed straight into `cjm.events` under
    /// a savepoint: no staging copy and no per-row conflict handling. When the primary key
    /// refuses a row, the savepoint is rolled back, one index probe per id finds the stored
    /// ones, and the rest is COPYed; the next batch probes first until a batch finds none.
    /// (A concurrent writer storing an id between the probe and the COPY fails this batch,
    /// which is then retried like any failed batch.)
    ///
    /// With `slice` above 0, `between` runs after every `slice` rows sent (see
    /// ``copyEvents(_:skipping:slice:between:)``): work done while the database stores them.
    func storeEvents(
        _ events: [AcceptedEvent], outcome: inout BatchOutcome, slice: Int = 0, between: () -> Void = {}
    ) throws -> [StoredEvent] {
        guard !events.isEmpty else { return [] }
        let unique = uniqueEvents(events, outcome: &outcome)
        // Before the savepoint: a partition or number made under it would go with its rollback.
        try partitions.ensure(.events, covering: unique.lazy.map(\.event.time), on: connection)
        try sources.ensure(unique.lazy.map(\.source), on: connection)
        if !lastBatchHadStoredIDs {
            let firstSequence = nextSequence
            try connection.executeScript("SAVEPOINT cjmd_store_events")
            do {
                let fresh = try copyEvents(unique, skipping: [], slice: slice, between: between)
                try connection.executeScript("RELEASE SAVEPOINT cjmd_store_events")
                try mergeCustomerTraits(fresh)
                outcome.stored = fresh.count
                return fresh
            } catch let error as PostgresError where error.sqlState == "23505" {
                try connection.executeScript(
                    "ROLLBACK TO SAVEPOINT cjmd_store_events; RELEASE SAVEPOINT cjmd_store_events")
                nextSequence = firstSequence
            }
        }
        let stored = try storedEventKeys(among: unique)
        for accepted in unique where stored.contains(StoredEventKey(accepted.event)) {
            outcome.duplicates += 1
            outcome.duplicatesBySource[accepted.source, default: 0] += 1
        }
        // A replay of stored files finds ids in every batch: probe first then, rather than
        // failing a COPY (and logging a server error) per batch.
        lastBatchHadStoredIDs = !stored.isEmpty
        let fresh = try copyEvents(unique, skipping: stored, slice: slice, between: between)
        try mergeCustomerTraits(fresh)
        outcome.stored = fresh.count
        return fresh
    }

    /// Merges the traits of the `identify` events just stored into `cjm.customer_traits`
    /// (docs/http.md); nothing to do, and no statement, for a batch without one.
    func mergeCustomerTraits(_ fresh: [StoredEvent]) throws {
        var first = Int64.max
        var last = Int64.min
        var from = Int64.max
        var to = Int64.min
        for stored in fresh
        where stored.event.name == "identify" && (stored.event.traitsJSON != nil || stored.event.contextJSON != nil) {
            first = min(first, stored.sequence)
            last = max(last, stored.sequence)
            from = min(from, stored.event.time.microseconds)
            to = max(to, stored.event.time.microseconds)
        }
        guard first <= last else { return }
        // A shard's range holds other partitions' numbers too: it merges its own events only.
        _ = try connection.execute(
            "SELECT cjm.merge_customer_traits($1, $2, $3, $4, $5::integer)",
            [
                .int(first), .int(last), .timestamp(microsecondsSinceEpoch: from),
                .timestamp(microsecondsSinceEpoch: to), .int(Int64(scope.part)),
            ])
    }

    /// The batch's events without repeats (counted as duplicates), in order.
    func uniqueEvents(_ events: [AcceptedEvent], outcome: inout BatchOutcome) -> [AcceptedEvent] {
        var seen = Set<StoredEventKey>(minimumCapacity: events.count)
        var unique: [AcceptedEvent] = []
        unique.reserveCapacity(events.count)
        for accepted in events {
            if seen.insert(StoredEventKey(accepted.event)).inserted {
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
    func storeAndApplyEvents(_ events: [AcceptedEvent], outcome: inout BatchOutcome) throws -> [StoredEvent] {
        guard !events.isEmpty else { return [] }
        let unique = uniqueEvents(events, outcome: &outcome)
        let firstSequence = nextSequence
        let fresh = unique.enumerated().map { (offset, accepted) in
            StoredEvent(
                event: accepted.event, sequence: firstSequence + Int64(offset) * scope.sequenceStride,
                stages: catalog.stageMap(for: accepted.event), source: accepted.source)
        }
        ingestEvents(fresh, outcome: &outcome)
        let target = engine.replayWatermark
        try partitions.ensure(.events, covering: unique.lazy.map(\.event.time), on: connection)
        try sources.ensure(unique.lazy.map(\.source), on: connection)
        try connection.executeScript("SAVEPOINT cjmd_store_events")
        do {
            _ = try copyEvents(unique, skipping: [], matched: fresh.map(\.stages), slice: Self.rowsPerEngineSlice) {
                if let target { engine.beginAdvance(to: target, limit: 2 * Self.rowsPerEngineSlice) }
            }
            try connection.executeScript("RELEASE SAVEPOINT cjmd_store_events")
        } catch let error as PostgresError where error.sqlState == "23505" {
            try connection.executeScript("ROLLBACK TO SAVEPOINT cjmd_store_events; RELEASE SAVEPOINT cjmd_store_events")
            lastBatchHadStoredIDs = true
            throw EngineRanAhead()
        }
        try mergeCustomerTraits(fresh)
        if let target { engine.advanceWatermark(to: target) }
        outcome.stored = fresh.count
        return fresh
    }

    /// Rows sent between two slices of engine work in ``storeAndApplyEvents(_:outcome:)``
    /// (about 50 kB, a millisecond of the server's work); each slice does at most twice as
    /// many steps, so that little is left once the last row is sent.
    static let rowsPerEngineSlice = 256

    /// The engine took a batch whose COPY then failed on an event stored before.
    struct EngineRanAhead: Error {}

    /// COPYs `events` but those in `stored` into `cjm.event_rows`, numbering them in order.
    /// The caller has made sure their days' partitions and their sources' numbers exist
    /// (before its savepoint).
    /// `matched`: the events' stage maps when the caller has them already (then nothing is
    /// skipped), so that each event is matched once. After every `slice` rows (0: never) the
    /// rows are sent, and `between` runs.
    func copyEvents(
        _ events: [AcceptedEvent], skipping stored: Set<StoredEventKey>, matched: [StageMap]? = nil, slice: Int = 0,
        between: () -> Void = {}
    ) throws -> [StoredEvent] {
        precondition(matched == nil || (stored.isEmpty && matched!.count == events.count))
        var fresh: [StoredEvent] = []
        fresh.reserveCapacity(events.count)
        // Binary: the server copies the values instead of parsing timestamps and numbers.
        try connection.copyInBinary(
            """
            COPY cjm.event_rows (ts, received_at, seq, sentiment, source_id, revenue, stage_ids, event_key,
                                 customer_id, event, touchpoint, journey, properties, context, traits, persona)
            FROM STDIN (FORMAT binary)
            """
        ) { writer in
            for (index, accepted) in events.enumerated()
            where stored.isEmpty || !stored.contains(StoredEventKey(accepted.event)) {
                if slice > 0, !fresh.isEmpty, fresh.count % slice == 0 {
                    try writer.flush()
                    between()
                }
                let e = accepted.event
                let sequence = nextSequence
                nextSequence += scope.sequenceStride
                let stages = matched?[index] ?? catalog.stageMap(for: e)
                fresh.append(StoredEvent(event: e, sequence: sequence, stages: stages, source: accepted.source))
                writer.appendTimestamp(microsecondsSinceEpoch: e.time.microseconds)
                writer.appendTimestamp(microsecondsSinceEpoch: accepted.receivedAt.microseconds)
                writer.appendInt64(sequence)
                writer.appendDouble(e.sentiment)
                writer.appendInt32(sources.id(accepted.source))
                writer.appendNumeric(units: e.revenue?.micros, scale: 6)
                writer.appendBytes(storedStageBytes(stages))
                writer.appendEventKey(e.eventID)
                writer.appendText(e.customerID)
                writer.appendText(e.name)
                writer.appendText(e.touchpoint)
                writer.appendText(e.journey)
                writer.appendJSONB(e.propertiesJSON)
                writer.appendJSONB(e.contextJSON)
                writer.appendJSONB(e.traitsJSON)
                writer.appendText(e.persona)
                try writer.endRow()
            }
        }
        return fresh
    }

    /// The events among `events` that `cjm.events` holds already, by the days' unique index
    /// (time and key hash, as the COPY meets them: an event it refuses is one this finds).
    /// The time range confines the probe to the partitions of the batch's days.
    func storedEventKeys(among events: [AcceptedEvent]) throws -> Set<StoredEventKey> {
        guard let first = events.first?.event.time else { return [] }
        var earliest = first
        var latest = first
        for accepted in events {
            earliest = min(earliest, accepted.event.time)
            latest = max(latest, accepted.event.time)
        }
        let result = try connection.execute(
            """
            SELECT p.id, p.ts
            FROM (SELECT u.id, u.ts, cjm.event_key_hash(cjm.event_key(u.id)) AS hash
                  FROM unnest($1::text[], $2::timestamptz[]) u(id, ts)) p
            WHERE EXISTS (SELECT 1 FROM cjm.event_rows e
                          WHERE e.ts BETWEEN $3 AND $4 AND e.ts = p.ts AND cjm.event_key_hash(e.event_key) = p.hash)
            """,
            [
                .text(SQLText.textArray(events.map(\.event.eventID))),
                .text(SQLText.textArray(events.map { RFC3339.format($0.event.time) })),
                .timestamp(microsecondsSinceEpoch: earliest.microseconds),
                .timestamp(microsecondsSinceEpoch: latest.microseconds),
            ])
        var keys = Set<StoredEventKey>(minimumCapacity: result.rowCount)
        for row in 0..<result.rowCount {
            if let id = result.string(row: row, column: 0),
                let ts = try result.timestampMicroseconds(row: row, column: 1)
            {
                keys.insert(StoredEventKey(eventID: id, time: EventTime(microseconds: ts)))
            }
        }
        return keys
    }

    /// `cjm.event_rows.stage_ids` of a stage map, memoized: few distinct stage maps exist.
    func storedStageBytes(_ stages: StageMap) -> [UInt8]? {
        if let known = stageBytesCache[stages] { return known }
        let bytes = stageCodes.bytes(of: stages)
        if stageBytesCache.count < 10_000 { stageBytesCache[stages] = bytes }
        return bytes
    }
}

/// What makes an event the same as another: its id and its time (`cjm.events`' primary key,
/// which must include the partition key `ts`; docs/events.md). A repeat of an event is the
/// same line, so it carries both.
struct StoredEventKey: Hashable {
    var eventID: String
    var time: EventTime

    init(eventID: String, time: EventTime) {
        self.eventID = eventID
        self.time = time
    }

    init(_ event: TouchpointEvent) {
        self.init(eventID: event.eventID, time: event.time)
    }
}
