import JourneyCore
import Logging
import PostgresClient

/// The alert side of a batch (docs/alerts.md): decision counts, alert episodes and their
/// notifications, written in the batch's transaction. `pg_notify` is transactional, so a
/// listener hears of an alert exactly when its row becomes visible, and never of one that
/// was rolled back.
extension DerivedRowWriter {
    /// Adds the decision counts to `cjm.stage_decisions_by_part` (this writer's `part`). Minutes after the newest one stored
    /// for their stage are COPYed straight into the table, in key order; the others (a live
    /// write's current minute, a replay continuing where the last ended) go through staging
    /// and one upsert. In a replay nearly all are new: the upsert took 0.7 s of a 1M-event
    /// replay's final write.
    func writeDecisions(_ decisions: [StageDecisionKey: DecisionCounts]) throws {
        guard !decisions.isEmpty else { return }
        func stage(of key: StageDecisionKey) -> StageDecisionKey {
            StageDecisionKey(journey: key.journey, stageIndex: key.stageIndex, minute: 0, persona: key.persona)
        }
        let newest = try newestDecisionMinutes(of: Set(decisions.keys.map(stage(of:))))
        var rows = decisions.map { (key: $0.key, counts: $0.value) }
        // New minutes first (`partition` moves the rows matching its predicate to the end).
        let newCount = rows.partition { row in
            newest[stage(of: row.key)].map { row.key.minute <= $0 } ?? false
        }
        let upserted = try insertingNew(
            rows, newCount: newCount, into: "cjm.stage_decisions_by_part", copy: copyDecisions)
        guard !upserted.isEmpty else { return }
        try copyDecisions(upserted, into: "pg_temp.stage_decisions")
        _ = try connection.execute(
            """
            INSERT INTO cjm.stage_decisions_by_part AS d SELECT * FROM pg_temp.stage_decisions
            ON CONFLICT (journey, stage_index, persona, minute, part) DO UPDATE SET
                abandoned = d.abandoned + EXCLUDED.abandoned, advanced = d.advanced + EXCLUDED.advanced
            """)
    }

    /// The newest minute in this writer's part of `cjm.stage_decisions` of each stage in `stages` (keys with minute
    /// 0), by one backward probe of the primary key per stage; stages without rows are absent.
    /// Exact within the batch's transaction: every writer holds the fence row
    /// (`cjm.engine_state`) while it writes.
    private func newestDecisionMinutes(of stages: Set<StageDecisionKey>) throws -> [StageDecisionKey: Int64] {
        let list = Array(stages)
        let result = try connection.execute(
            """
            SELECT (SELECT max(d.minute) FROM cjm.stage_decisions_by_part d
                    WHERE d.journey = p.journey AND d.stage_index = p.stage_index AND d.persona = p.persona
                      AND d.part = $4)
            FROM unnest($1::text[], $2::int[], $3::text[]) WITH ORDINALITY AS p(journey, stage_index, persona, n)
            ORDER BY p.n
            """,
            [
                .text(SQLText.textArray(list.map { catalog.journeys[$0.journey].name })),
                .text(SQLText.array(list.map { "\($0.stageIndex)" })), .text(SQLText.textArray(list.map(\.persona))),
                .int(Int64(part)),
            ])
        var newest: [StageDecisionKey: Int64] = [:]
        for (row, stage) in list.enumerated() {
            if let micros = try result.timestampMicroseconds(row: row, column: 0) {
                newest[stage] = EventTime(microseconds: micros).minuteIndex
            }
        }
        return newest
    }

    /// COPYs decision rows into `table` (`cjm.stage_decisions_by_part` or its staging twin) in
    /// (journey, stage, minute) order.
    func copyDecisions(_ rows: ArraySlice<(key: StageDecisionKey, counts: DecisionCounts)>, into table: String) throws {
        let names = catalog.journeys.map(\.name)
        let ordered = rows.sorted { x, y in
            if x.key.journey != y.key.journey { return names[x.key.journey] < names[y.key.journey] }
            if x.key.stageIndex != y.key.stageIndex { return x.key.stageIndex < y.key.stageIndex }
            if x.key.minute != y.key.minute { return x.key.minute < y.key.minute }
            return KeyOrder.compareBytes(x.key.persona, y.key.persona) < 0
        }
        try connection.copyIn("COPY \(table) FROM STDIN") { writer in
            for (key, counts) in ordered {
                let journey = catalog.journeys[key.journey]
                writer.appendText(journey.name)
                writer.appendInteger(key.stageIndex)
                writer.appendText(journey.stages[key.stageIndex].name)
                writer.appendTimestamp(microsecondsSinceEpoch: EventTime(minuteIndex: key.minute).microseconds)
                writer.appendInteger(counts.abandoned)
                writer.appendInteger(counts.advanced)
                writer.appendText(key.persona)
                writer.appendInteger(part)
                try writer.endRow()
            }
        }
    }

    func writeAlerts(_ alerts: [DropOffAlert], transitions: [AlertTransition]) throws {
        guard !alerts.isEmpty || !transitions.isEmpty else { return }
        var ids: [DropOffAlert.Episode: Int64] = [:]
        for alert in alerts {
            let result = try connection.execute(
                """
                INSERT INTO cjm.alerts (journey, stage_index, stage, window_start, window_end, decided, abandoned, rate,
                                        baseline_rate, baseline_decided, z, p_value, fired_at, resolved_at, calm_since,
                                        persona)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
                ON CONFLICT (journey, stage_index, persona, fired_at) DO UPDATE SET
                    resolved_at = EXCLUDED.resolved_at, calm_since = EXCLUDED.calm_since
                RETURNING id
                """,
                [
                    .text(alert.journeyName), .int(Int64(alert.stageIndex)), .text(alert.stageName),
                    .timestamp(microsecondsSinceEpoch: alert.windowStart.microseconds),
                    .timestamp(microsecondsSinceEpoch: alert.windowEnd.microseconds),
                    .int(Int64(alert.decided)), .int(Int64(alert.abandoned)), .double(alert.rate),
                    .double(alert.baselineRate), .int(Int64(alert.baselineDecided)), alert.z.map { .double($0) },
                    alert.pValue.map { .double($0) },
                    .timestamp(microsecondsSinceEpoch: alert.firedAt.microseconds),
                    alert.resolvedAt.map { .timestamp(microsecondsSinceEpoch: $0.microseconds) },
                    alert.calmSince.map { .timestamp(microsecondsSinceEpoch: $0.microseconds) }, .text(alert.persona),
                ])
            if let id = try result.int64(row: 0, column: 0) { ids[alert.episode] = id }
        }
        guard announcesAlerts else { return }
        for transition in transitions {
            let alert = transition.alert
            let status: String
            switch transition {
            case .fired: status = "firing"
            case .resolved: status = "resolved"
            }
            _ = try connection.execute(
                """
                SELECT pg_notify($1, json_build_object(
                    'status', $2::text, 'id', $3::bigint, 'journey', $4::text, 'stage_index', $5::int, 'stage', $6::text,
                    'window_start', $7::timestamptz, 'window_end', $8::timestamptz, 'decided', $9::int,
                    'abandoned', $10::int, 'rate', $11::float8, 'baseline_rate', $12::float8, 'z', $13::float8,
                    'p_value', $14::float8, 'fired_at', $15::timestamptz, 'resolved_at', $16::timestamptz,
                    'persona', $17::text)::text)
                """,
                [
                    .text(JourneySink.alertChannel), .text(status), ids[alert.episode].map { .int($0) },
                    .text(alert.journeyName), .int(Int64(alert.stageIndex)), .text(alert.stageName),
                    .timestamp(microsecondsSinceEpoch: alert.windowStart.microseconds),
                    .timestamp(microsecondsSinceEpoch: alert.windowEnd.microseconds),
                    .int(Int64(alert.decided)), .int(Int64(alert.abandoned)), .double(alert.rate),
                    .double(alert.baselineRate), alert.z.map { .double($0) }, alert.pValue.map { .double($0) },
                    .timestamp(microsecondsSinceEpoch: alert.firedAt.microseconds),
                    transition.isResolution
                        ? alert.resolvedAt.map { .timestamp(microsecondsSinceEpoch: $0.microseconds) } : nil,
                    .text(alert.persona),
                ])
        }
    }

    /// One log line per committed transition.
    func logAlerts(_ transitions: [AlertTransition]) {
        for transition in transitions {
            let alert = transition.alert
            var metadata: Logger.Metadata = [
                "journey": "\(alert.journeyName)", "stage": "\(alert.stageName)",
                "window": "\(alert.windowStart)–\(alert.windowEnd)", "decided": "\(alert.decided)",
                "rate": "\(Self.percent(alert.rate))", "baseline_rate": "\(Self.percent(alert.baselineRate))",
                "z": "\(alert.z.map { "\(($0 * 100).rounded() / 100)" } ?? "inf")",
                "p_value": "\(alert.pValue.map { "\($0)" } ?? "unknown")",
            ]
            if alert.persona != PersonaSettings.all { metadata["persona"] = "\(alert.persona)" }
            switch transition {
            case .fired:
                logger.warning("drop-off spike: alert fired", metadata: metadata)
            case .resolved:
                metadata["fired_at"] = "\(alert.firedAt)"
                metadata["resolved_at"] = "\(alert.resolvedAt.map { "\($0)" } ?? "")"
                logger.notice("drop-off spike: alert resolved", metadata: metadata)
            }
        }
    }

    private static func percent(_ rate: Double) -> String { "\((rate * 1000).rounded() / 10)%" }
}

extension AlertTransition {
    var isResolution: Bool {
        if case .resolved = self { return true }
        return false
    }
}
