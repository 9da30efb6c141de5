import JourneyCore
import PostgresClient

/// The alert episodes stored in `cjm.alerts`.
public enum StoredAlerts {
    /// The alerts still firing (not resolved), for journeys of the configuration.
    public static func firing(catalog: JourneyCatalog, on connection: PostgresConnection) throws -> [DropOffAlert] {
        try AlertStateLoader.firing(catalog: catalog, names: catalog.journeys.map(\.name), from: connection)
    }
}

/// Reads what the drop-off detector needs after a restart: the decision counts of the minutes
/// later evaluations still look at, the alerts still firing, and how far evaluation came.
enum AlertStateLoader {
    static func load(
        catalog: JourneyCatalog, settings: AlertSettings, evaluatedThrough: EventTime?,
        from connection: PostgresConnection
    ) throws -> DropOffDetector.Snapshot {
        var snapshot = DropOffDetector.Snapshot()
        snapshot.evaluatedThrough = evaluatedThrough
        let oldest = evaluatedThrough.map {
            EventTime(
                minuteIndex: DropOffDetector.oldestMinuteNeeded(
                    evaluatedThrough: $0, settings: settings, catalog: catalog))
        }
        let names = catalog.journeys.map(\.name)
        let start = try connection.execute(
            "SELECT min(minute) FROM cjm.stage_decisions WHERE journey = ANY($1::text[])",
            [.text(SQLText.textArray(names))])
        snapshot.historyStart = try start.timestampMicroseconds(row: 0, column: 0).map { EventTime(microseconds: $0) }
        let decisions = try connection.execute(
            """
            SELECT journey, stage_index, minute, abandoned, advanced, persona FROM cjm.stage_decisions
            WHERE ($1::timestamptz IS NULL OR minute >= $1) AND journey = ANY($2::text[])
            """, [oldest.map { .timestamp(microsecondsSinceEpoch: $0.microseconds) }, .text(SQLText.textArray(names))])
        for row in 0..<decisions.rowCount {
            guard let j = decisions.string(row: row, column: 0).flatMap({ catalog.journeyIndex(named: $0) }),
                let minute = try decisions.timestampMicroseconds(row: row, column: 2)
            else { continue }
            let key = StageDecisionKey(
                journey: j, stageIndex: Int(try decisions.int64(row: row, column: 1) ?? -1),
                minute: EventTime(microseconds: minute).minuteIndex,
                persona: decisions.string(row: row, column: 5) ?? PersonaSettings.all)
            snapshot.decisions.append(
                (
                    key,
                    DecisionCounts(
                        abandoned: try decisions.int64(row: row, column: 3) ?? 0,
                        advanced: try decisions.int64(row: row, column: 4) ?? 0)
                ))
        }
        snapshot.firing = try firing(catalog: catalog, names: names, from: connection)
        return snapshot
    }

    static func firing(catalog: JourneyCatalog, names: [String], from connection: PostgresConnection) throws
        -> [DropOffAlert]
    {
        var alerts: [DropOffAlert] = []
        let firing = try connection.execute(
            """
            SELECT journey, stage_index, stage, window_start, window_end, decided, abandoned, rate, baseline_rate,
                   baseline_decided, z, fired_at, calm_since, p_value, persona
            FROM cjm.alerts WHERE resolved_at IS NULL AND journey = ANY($1::text[])
            """, [.text(SQLText.textArray(names))])
        for row in 0..<firing.rowCount {
            guard let j = firing.string(row: row, column: 0).flatMap({ catalog.journeyIndex(named: $0) }) else {
                continue
            }
            // A stage that is gone (or became the last) under the current definitions has
            // nothing to judge: its old episode is neither restored nor re-sent.
            let stageIndex = Int(try firing.int64(row: row, column: 1) ?? -1)
            let stages = catalog.journeys[j].stages
            guard stageIndex >= 0, stageIndex < stages.count - 1,
                stages[stageIndex].name == firing.string(row: row, column: 2)
            else { continue }
            func time(_ column: Int) throws -> EventTime? {
                try firing.timestampMicroseconds(row: row, column: column).map { EventTime(microseconds: $0) }
            }
            alerts.append(
                DropOffAlert(
                    journey: j, journeyName: catalog.journeys[j].name,
                    stageIndex: Int(try firing.int64(row: row, column: 1) ?? -1),
                    stageName: firing.string(row: row, column: 2) ?? "",
                    windowStart: try time(3) ?? .distantPast, windowEnd: try time(4) ?? .distantPast,
                    decided: Int(try firing.int64(row: row, column: 5) ?? 0),
                    abandoned: Int(try firing.int64(row: row, column: 6) ?? 0),
                    rate: try firing.double(row: row, column: 7) ?? 0,
                    baselineRate: try firing.double(row: row, column: 8) ?? 0,
                    baselineDecided: Int(try firing.int64(row: row, column: 9) ?? 0),
                    z: try firing.double(row: row, column: 10), pValue: try firing.double(row: row, column: 13),
                    firedAt: try time(11) ?? .distantPast, resolvedAt: nil, calmSince: try time(12),
                    persona: firing.string(row: row, column: 14) ?? PersonaSettings.all))
        }
        return alerts
    }
}
