import JourneyCore
import PostgresClient

/// Reads what a new engine needs to continue exactly where the committed state left off:
/// watermark, open instances, unrecovered moments, instance counts and unapplied events.
enum EngineSnapshotLoader {
    struct Loaded {
        var snapshot: EngineSnapshot
        var nextSequence: Int64
    }

    /// `scope`: a partition's state is its customers' rows alone (`part`), its events those it
    /// numbered (``SinkScope/ownsEvents()``), and no alerts (a shard judges none).
    static func load(
        catalog: JourneyCatalog, alerts: AlertSettings, from connection: PostgresConnection, scope: SinkScope = .whole
    ) throws -> Loaded {
        var snapshot = EngineSnapshot()
        let partition = scope.partition
        let alertsColumn = partition == nil ? "alerts_evaluated_through" : "NULL::timestamptz"
        // Of the rows per customer, those of the scope's partition (a single daemon's: all).
        let ownRows = { (alias: String) in partition.map { " AND \(alias)part = \($0.index)" } ?? "" }
        let state = try connection.execute(
            "SELECT watermark, max_event_time, pending_from, next_seq, \(alertsColumn) FROM \(scope.stateRow)"
        )
        guard state.rowCount == 1 else {
            throw StoreError(
                message: "cjm.engine_state has no row",
                hint: "run `cjmd migrate`, or `cjmd rebuild` to recompute the derived tables")
        }
        snapshot.watermark =
            try state.timestampMicroseconds(row: 0, column: 0).map { EventTime(microseconds: $0) } ?? .distantPast
        snapshot.maxEventTime =
            try state.timestampMicroseconds(row: 0, column: 1).map { EventTime(microseconds: $0) } ?? .distantPast
        let pendingFrom = try state.timestampMicroseconds(row: 0, column: 2)
        let nextSequence = try state.int64(row: 0, column: 3) ?? 1
        let evaluatedThrough = try state.timestampMicroseconds(row: 0, column: 4).map { EventTime(microseconds: $0) }
        if partition == nil {
            snapshot.alerts = try AlertStateLoader.load(
                catalog: catalog, settings: alerts, evaluatedThrough: evaluatedThrough, from: connection)
        }

        let names = catalog.journeys.map(\.name)
        func journeyIndex(_ result: QueryResult, _ row: Int) -> Int? {
            result.string(row: row, column: 0).flatMap { catalog.journeyIndex(named: $0) }
        }

        // Per customer, journey and persona: instances, furthest stage, and every touchpoint
        // pair met, in the journey and as the persona (``TouchpointPairList``; concatenated,
        // the lists of the instances are one list). Ordered so a customer's rows follow one
        // another.
        let histories = try connection.execute(
            """
            SELECT journey, customer_id, max(instance), max(stage_index),
                   string_agg(first_touches, '') FILTER (WHERE first_touches <> ''), persona,
                   string_agg(coalesce(persona_first_touches, first_touches), '')
                       FILTER (WHERE coalesce(persona_first_touches, first_touches) <> '')
            FROM \(partition.map { Self.partitionHistory(part: $0.index) } ?? "cjm.journey_instances")
            WHERE journey = ANY($1::text[]) GROUP BY 1, 2, persona ORDER BY 1, 2
            """,
            [.text(SQLText.textArray(names))])
        snapshot.customerJourneys.reserveCapacity(histories.rowCount)
        var groupStart = 0
        while groupStart < histories.rowCount {
            var groupEnd = groupStart + 1
            while groupEnd < histories.rowCount,
                histories.string(row: groupEnd, column: 0) == histories.string(row: groupStart, column: 0),
                histories.string(row: groupEnd, column: 1) == histories.string(row: groupStart, column: 1)
            {
                groupEnd += 1
            }
            defer { groupStart = groupEnd }
            guard let j = journeyIndex(histories, groupStart),
                let customer = histories.string(row: groupStart, column: 1)
            else { continue }
            var stored = StoredCustomerJourney(
                journey: j, customerID: customer, instances: 0, furthestStage: -1, touchpointPairs: [])
            var latestRow = groupStart
            for row in groupStart..<groupEnd {
                let instances = Int32(try histories.int64(row: row, column: 2) ?? 0)
                if instances > stored.instances {
                    stored.instances = instances
                    latestRow = row
                }
                stored.furthestStage = max(stored.furthestStage, Int(try histories.int64(row: row, column: 3) ?? -1))
                stored.touchpointPairs += try histories.string(row: row, column: 4).map(TouchpointPairList.decode) ?? []
            }
            for row in groupStart..<groupEnd {
                stored.personas.append(
                    StoredPersonaHistory(
                        persona: histories.string(row: row, column: 5) ?? PersonaSettings.standardDefault,
                        furthestStage: Int(try histories.int64(row: row, column: 3) ?? -1),
                        touchpointPairs: try histories.string(row: row, column: 6).map(TouchpointPairList.decode) ?? [],
                        isLatest: row == latestRow))
            }
            snapshot.customerJourneys.append(stored)
        }

        let personas = try connection.execute(
            "SELECT customer_id, persona, set_at FROM cjm.customer_personas WHERE true\(ownRows(""))")
        snapshot.customerPersonas.reserveCapacity(personas.rowCount)
        for row in 0..<personas.rowCount {
            snapshot.customerPersonas.append(
                CustomerPersona(
                    customerID: personas.string(row: row, column: 0) ?? "",
                    persona: personas.string(row: row, column: 1) ?? PersonaSettings.standardDefault,
                    setAt: EventTime(microseconds: try personas.timestampMicroseconds(row: row, column: 2) ?? 0)))
        }

        let waiting = try connection.execute(
            """
            SELECT journey, customer_id, instance, exited_at, persona FROM cjm.repeat_pending
            WHERE journey = ANY($1::text[])\(ownRows(""))
            """, [.text(SQLText.textArray(names))])
        snapshot.repeatPending.reserveCapacity(waiting.rowCount)
        for row in 0..<waiting.rowCount {
            guard let j = journeyIndex(waiting, row) else { continue }
            snapshot.repeatPending.append(
                RepeatPendingRecord(
                    journey: j, customerID: waiting.string(row: row, column: 1) ?? "",
                    instance: Int32(try waiting.int64(row: row, column: 2) ?? 0),
                    exitedAt: EventTime(microseconds: try waiting.timestampMicroseconds(row: row, column: 3) ?? 0),
                    persona: waiting.string(row: row, column: 4) ?? PersonaSettings.standardDefault))
        }

        snapshot.openInstances = try loadOpenInstances(
            catalog: catalog, names: names, connection: connection, ownRows: ownRows(""))

        // Driven from the open abandoned instances, each looking up its moments by primary
        // key: the LATERAL subquery (kept one by OFFSET 0) fixes that order. As a plain join,
        // right after a bulk load and before autovacuum's ANALYZE, the planner took the
        // moments as one row and probed the open instances by journey alone for each of them
        // — quadratic, a minute for a few hundred thousand moments.
        let moments = try connection.execute(
            """
            SELECT m.journey, m.customer_id, m.instance, m.moment, m.stage_index, m.last_event, m.last_touchpoint,
                   m.last_seen, (extract(epoch FROM m.time_in_stage) * 1000000)::int8, m.detected_at, m.persona
            FROM cjm.instance_rows i
            CROSS JOIN LATERAL (
                SELECT * FROM cjm.moment_rows m
                WHERE m.journey = i.journey AND m.customer_id = i.customer_id AND m.instance = i.instance
                  AND m.reason = 'inactive' AND m.recovered_at IS NULL
                OFFSET 0) m
            WHERE i.exited_at IS NULL AND i.status = 'abandoned' AND i.journey = ANY($1::text[])\(ownRows("i."))
            """, [.text(SQLText.textArray(names))])
        for row in 0..<moments.rowCount {
            guard let j = journeyIndex(moments, row) else { continue }
            // Pain points are not reloaded: a moment's content never changes after detection;
            // recovery only sets `recovered_at` (see JourneySink's upsert).
            snapshot.openMoments.append(
                CriticalMomentRecord(
                    journey: j, customerID: moments.string(row: row, column: 1) ?? "",
                    instance: Int32(try moments.int64(row: row, column: 2) ?? 0),
                    moment: Int32(try moments.int64(row: row, column: 3) ?? 0),
                    stageIndex: Int(try moments.int64(row: row, column: 4) ?? 0), reason: .inactive,
                    lastEvent: moments.string(row: row, column: 5) ?? "",
                    lastTouchpoint: moments.string(row: row, column: 6) ?? "",
                    lastSeen: EventTime(microseconds: try moments.timestampMicroseconds(row: row, column: 7) ?? 0),
                    timeInStage: TimeSpan(microseconds: try moments.int64(row: row, column: 8) ?? 0),
                    painPoints: [],
                    detectedAt: EventTime(microseconds: try moments.timestampMicroseconds(row: row, column: 9) ?? 0),
                    recoveredAt: nil, persona: moments.string(row: row, column: 10) ?? PersonaSettings.standardDefault))
        }

        // Events of journaled batches (see `JourneySink`) come after: the sink applies them again.
        if let pendingFrom {
            let pending = try connection.execute(
                """
                SELECT \(StoredEventRow.columns) FROM cjm.event_rows
                WHERE ts >= $1 AND \(scope.ownsEvents())
                  AND seq < coalesce((SELECT min(first_seq) FROM cjm.batch_journal WHERE part = $2), 9223372036854775807)
                ORDER BY seq
                """, [.timestamp(microsecondsSinceEpoch: pendingFrom), .int(Int64(scope.part))])
            for row in 0..<pending.rowCount {
                snapshot.pendingEvents.append(try StoredEventRow.decode(pending, row: row))
            }
        }
        return Loaded(snapshot: snapshot, nextSequence: nextSequence)
    }

    /// A partition's instances, open and closed: its rows and its sealed chunks (the columns
    /// the restore reads).
    static func partitionHistory(part: Int) -> String {
        """
        (SELECT journey, customer_id, instance, stage_index, first_touches, persona, persona_first_touches
         FROM cjm.instance_rows WHERE part = \(part)
         UNION ALL
         SELECT s.journey, r.customer_id, r.instance, r.stage_index, r.first_touches, coalesce(r.persona, 'unknown'),
                r.persona_first_touches
         FROM cjm.sealed_instances s CROSS JOIN LATERAL unnest(s.instance_rows) AS r WHERE s.part = \(part)) history
        """
    }

    private static func loadOpenInstances(
        catalog: JourneyCatalog, names: [String], connection: PostgresConnection, ownRows: String
    ) throws -> [InstanceRecord] {
        let rows = try connection.execute(
            """
            SELECT journey, customer_id, instance, entered_at, stage_index, status, last_seen,
                   last_event, last_touchpoint, moments,
                   array_to_string(ARRAY(SELECT (extract(epoch FROM r) * 1000000)::int8
                                         FROM unnest(reached_at) WITH ORDINALITY u(r, n) ORDER BY n), ',', ''),
                   array_to_string(stage_events, ','), array_to_string(stage_sentiment_count, ','),
                   array_to_string(stage_sentiment_sum, ','), array_to_string(stage_revenue, ','), persona
            FROM cjm.instance_rows
            WHERE exited_at IS NULL AND journey = ANY($1::text[])\(ownRows)
            ORDER BY journey, customer_id, instance
            """, [.text(SQLText.textArray(names))])
        var records: [InstanceRecord] = []
        var position: [String: Int] = [:]  // "journey\0customer\0instance" → index
        for row in 0..<rows.rowCount {
            guard let j = rows.string(row: row, column: 0).flatMap({ catalog.journeyIndex(named: $0) }) else {
                continue
            }
            let stageCount = catalog.journeys[j].stages.count
            func list(_ column: Int) -> [Substring] {
                (rows.string(row: row, column: column) ?? "").split(separator: ",", omittingEmptySubsequences: false)
            }
            let reached = list(10)
            let events = list(11)
            let sentimentCounts = list(12)
            let sentimentSums = list(13)
            let revenues = list(14)
            guard reached.count == stageCount, events.count == stageCount else { continue }  // journey changed shape
            var stages: [StageTally] = []
            for k in 0..<stageCount {
                var tally = StageTally(reachedAt: Int64(reached[k]).map { EventTime(microseconds: $0) })
                tally.events = Int32(events[k]) ?? 0
                tally.sentimentCount = Int32(sentimentCounts[k]) ?? 0
                tally.sentimentSum = Double(sentimentSums[k]) ?? 0
                tally.revenue = DecimalText(json: revenues[k]) ?? DecimalText(micros: 0)
                stages.append(tally)
            }
            let customer = rows.string(row: row, column: 1) ?? ""
            let instance = Int32(try rows.int64(row: row, column: 2) ?? 0)
            position["\(j)\u{0}\(customer)\u{0}\(instance)"] = records.count
            records.append(
                InstanceRecord(
                    journey: j, customerID: customer, instance: instance,
                    enteredAt: EventTime(microseconds: try rows.timestampMicroseconds(row: row, column: 3) ?? 0),
                    stageIndex: Int(try rows.int64(row: row, column: 4) ?? 0),
                    status: InstanceRecord.Status(rawValue: rows.string(row: row, column: 5) ?? "") ?? .active,
                    lastSeen: EventTime(microseconds: try rows.timestampMicroseconds(row: row, column: 6) ?? 0),
                    exitedAt: nil, stages: stages,
                    lastEvent: rows.string(row: row, column: 7) ?? "",
                    lastTouchpoint: rows.string(row: row, column: 8) ?? "",
                    painPoints: [], moments: Int32(try rows.int64(row: row, column: 9) ?? 0),
                    persona: rows.string(row: row, column: 15) ?? PersonaSettings.standardDefault))
        }
        let pain = try connection.execute(
            """
            SELECT i.journey, i.customer_id, i.instance, p->>'event', p->>'touchpoint',
                   (p->>'ts')::timestamptz, (p->>'stage_index')::int, (p->>'sentiment')::float8
            FROM cjm.instance_rows i, jsonb_array_elements(i.pain_points) WITH ORDINALITY e(p, n)
            WHERE i.exited_at IS NULL AND i.journey = ANY($1::text[])
            ORDER BY i.journey, i.customer_id, i.instance, n
            """, [.text(SQLText.textArray(names))])
        for row in 0..<pain.rowCount {
            guard let j = pain.string(row: row, column: 0).flatMap({ catalog.journeyIndex(named: $0) }) else {
                continue
            }
            let key =
                "\(j)\u{0}\(pain.string(row: row, column: 1) ?? "")\u{0}\(try pain.int64(row: row, column: 2) ?? 0)"
            guard let index = position[key] else { continue }
            records[index].painPoints.append(
                PainPoint(
                    event: pain.string(row: row, column: 3) ?? "", touchpoint: pain.string(row: row, column: 4) ?? "",
                    time: EventTime(microseconds: try pain.timestampMicroseconds(row: row, column: 5) ?? 0),
                    stageIndex: Int(try pain.int64(row: row, column: 6) ?? 0),
                    sentiment: try pain.double(row: row, column: 7)))
        }
        return records
    }
}

/// Touchpoint pairs as `cjm.journey_instances.first_touches` holds them (migration 008):
/// `stage:bytes:touchpoint` back to back, `bytes` the touchpoint's length in UTF-8, so that
/// any touchpoint text stays apart from the next pair. One text per row reads back far
/// faster than arrays a restore would have to unnest.
enum TouchpointPairList {
    static func encode(_ pairs: [TouchpointPair]) -> String {
        var text = ""
        for pair in pairs {
            text += "\(pair.stageIndex):\(pair.touchpoint.utf8.count):"
            text += pair.touchpoint
        }
        return text
    }

    static func decode(_ text: String) throws -> [TouchpointPair] {
        var pairs: [TouchpointPair] = []
        let bytes = Array(text.utf8)
        var at = 0
        func number() throws -> Int {
            var value = 0
            var digits = 0
            while at < bytes.count, bytes[at] != UInt8(ascii: ":") {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]), digits < 10 else {
                    throw malformed(text)
                }
                value = value * 10 + Int(bytes[at] - UInt8(ascii: "0"))
                digits += 1
                at += 1
            }
            guard digits > 0, at < bytes.count else { throw malformed(text) }
            at += 1  // the colon
            return value
        }
        while at < bytes.count {
            let stage = try number()
            let length = try number()
            guard at + length <= bytes.count else { throw malformed(text) }
            pairs.append(
                TouchpointPair(
                    stageIndex: stage, touchpoint: String(decoding: bytes[at..<(at + length)], as: UTF8.self)))
            at += length
        }
        return pairs
    }

    private static func malformed(_ text: String) -> StoreError {
        StoreError(
            message: "cannot read the touchpoint pairs of an instance (\(text.prefix(80)))",
            hint: "run `cjmd rebuild` to recompute the derived tables from cjm.events")
    }
}

/// A problem with the stored state that the operator must fix.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var hint: String
    public var description: String { "\(message); \(hint)" }
}

/// An event read back from `cjm.event_rows` (restarts, rebuild): the columns to select and how to
/// turn a row of them into an event with its arrival sequence.
enum StoredEventRow {
    static let columns =
        "cjm.event_id(event_key), customer_id, ts, event, touchpoint, journey, sentiment, revenue, properties::text, seq, persona"
    /// The position of `seq` in ``columns``.
    static let sequenceColumn = 9

    static func decode(_ rows: QueryResult, row: Int) throws -> (event: TouchpointEvent, sequence: Int64) {
        let event = TouchpointEvent(
            eventID: rows.string(row: row, column: 0) ?? "",
            customerID: rows.string(row: row, column: 1) ?? "",
            name: rows.string(row: row, column: 3) ?? "",
            time: EventTime(microseconds: try rows.timestampMicroseconds(row: row, column: 2) ?? 0),
            touchpoint: rows.string(row: row, column: 4) ?? "unknown",
            journey: rows.string(row: row, column: 5),
            sentiment: try rows.double(row: row, column: 6),
            revenue: rows.string(row: row, column: 7).flatMap { DecimalText(json: $0) },
            propertiesJSON: rows.string(row: row, column: 8), persona: rows.string(row: row, column: 10))
        return (event, try rows.int64(row: row, column: sequenceColumn) ?? 0)
    }
}
