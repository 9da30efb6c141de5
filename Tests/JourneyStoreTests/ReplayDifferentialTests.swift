import DaemonSettings
import Foundation
import JourneyCore
import JourneyReference
import JourneyStore
import PostgresClient
import Testing

/// The real pipeline (NDJSON → decoder → engine → PostgreSQL → views) against the plain
/// reference recomputation, over random scenarios: every column of `cjm.funnel`, every
/// instance and every critical moment must agree.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct ReplayDifferentialTests {
    #if DEBUG
        static let scenarios = Int(ProcessInfo.processInfo.environment["CJM_DB_SCENARIOS"] ?? "") ?? 120
    #else
        static let scenarios = Int(ProcessInfo.processInfo.environment["CJM_DB_SCENARIOS"] ?? "") ?? 600
    #endif

    static func configuration(for scenario: Scenario, batch: Int) -> CJMConfiguration {
        var configuration = CJMConfiguration(journeys: scenario.journeys)
        configuration.personas = PersonaSettings(
            paths: [["traits", "persona"]], defaultPersona: Scenario.defaultPersona)
        configuration.ingest.personaPaths = configuration.personas.paths
        configuration.ingest.allowedLateness = scenario.allowedLateness
        configuration.ingest.batchMaxEvents = batch
        // Sensitive alerts, so that the replay properties (halves, permutations, restarts,
        // rebuild) also hold for alert episodes and decision counts.
        configuration.alerts.window = .minutes(10)
        configuration.alerts.baseline = .preceding(.minutes(30))
        configuration.alerts.minDecided = 2
        configuration.alerts.minDelta = 0.05
        configuration.alerts.z = 0.5
        configuration.alerts.byPersona = true
        return configuration
    }

    @Test func replayedTablesMatchTheReference() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            var failures = 0
            var comparedRows = 0
            for seed in 0..<UInt64(Self.scenarios) {
                let scenario = RandomScenario.make(seed: seed &+ 50_000)
                let batch = 20 + Int(seed % 400)
                let harness = try StoreHarness(
                    conninfo: conninfo, configuration: Self.configuration(for: scenario, batch: batch))
                try harness.reset()
                let summary = try harness.replay(scenario.ndjsonLines(for: scenario.arrivals).joined())
                let expected = scenario.reference()
                let problems =
                    try Self.compare(harness.connection, expected: expected, journeys: scenario.journeys)
                    + (summary.outcome.late == 0 ? [] : ["\(summary.outcome.late) late events"])
                    + (summary.outcome.rejected == 0 ? [] : ["\(summary.outcome.rejected) rejected lines"])
                    + (summary.outcome.stored == expected.acceptedEvents
                        ? []
                        : ["stored \(summary.outcome.stored), reference accepted \(expected.acceptedEvents)"])
                comparedRows += expected.funnel.count + expected.instances.count + expected.moments.count
                if !problems.isEmpty {
                    failures += 1
                    if failures <= 3 {
                        Issue.record(
                            "seed \(seed &+ 50_000), batch \(batch):\n\(problems.prefix(5).joined(separator: "\n"))")
                    }
                }
            }
            #expect(failures == 0)
            #expect(comparedRows > Self.scenarios * 20)
        }
    }

    /// Differences between the database and the reference, as readable lines.
    static func compare(_ c: PostgresConnection, expected: ReferenceResult, journeys: [JourneyDefinition]) throws
        -> [String]
    {
        var problems = Self.compareFunnel(try FunnelQuery.funnel(c), expected.funnel, name: "funnel")
        problems += Self.compareFunnel(
            try FunnelQuery.funnelByPersona(c), expected.funnelByPersona, name: "funnel_by_persona")

        let instances = try c.execute(
            """
            SELECT journey, customer_id, instance, entered_at, stage_index, stage, status, last_seen, exited_at,
                   array_to_string(ARRAY(SELECT coalesce(to_char(r AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '-')
                                         FROM unnest(reached_at) WITH ORDINALITY u(r, n) ORDER BY n), ','),
                   array_to_string(stage_events, ','), persona
            FROM cjm.journey_instances ORDER BY journey, customer_id, instance
            """)
        if instances.rowCount != expected.instances.count {
            problems.append("\(instances.rowCount) instances, reference \(expected.instances.count)")
        }
        for (i, ref) in expected.instances.enumerated() where i < instances.rowCount {
            let reached = ref.reachedAt.map { $0.map(RFC3339.format) ?? "-" }.joined(separator: ",")
            let db: [String?] = [
                instances.string(row: i, column: 0), instances.string(row: i, column: 1),
                instances.string(row: i, column: 2),
                try instances.timestampMicroseconds(row: i, column: 3).map { "\($0)" },
                instances.string(row: i, column: 4), instances.string(row: i, column: 5),
                instances.string(row: i, column: 6),
                try instances.timestampMicroseconds(row: i, column: 7).map { "\($0)" },
                try instances.timestampMicroseconds(row: i, column: 8).map { "\($0)" },
                instances.string(row: i, column: 9), instances.string(row: i, column: 10),
                instances.string(row: i, column: 11),
            ]
            let want: [String?] = [
                ref.journey, ref.customerID, "\(ref.instance)", "\(ref.enteredAt.microseconds)", "\(ref.stageIndex)",
                ref.stage, ref.status.rawValue, "\(ref.lastSeen.microseconds)",
                ref.exitedAt.map { "\($0.microseconds)" }, reached,
                ref.events.map(String.init).joined(separator: ","), ref.persona,
            ]
            if db != want { problems.append("instance \(i): db \(db), reference \(want)") }
        }

        let moments = try c.execute(
            """
            SELECT journey, customer_id, instance, stage_index, stage, reason, last_event, last_touchpoint, last_seen,
                   (extract(epoch FROM time_in_stage) * 1000000)::int8, detected_at, recovered_at,
                   coalesce((SELECT string_agg((p->>'event') || '@' || (p->>'ts') || '@' || (p->>'stage_index'), ';' ORDER BY n)
                             FROM jsonb_array_elements(pain_points) WITH ORDINALITY e(p, n)), ''), persona
            FROM cjm.critical_moments ORDER BY journey, customer_id, instance, detected_at
            """)
        if moments.rowCount != expected.moments.count {
            problems.append("\(moments.rowCount) critical moments, reference \(expected.moments.count)")
        }
        for (i, ref) in expected.moments.enumerated() where i < moments.rowCount {
            let db: [String?] = [
                moments.string(row: i, column: 0), moments.string(row: i, column: 1), moments.string(row: i, column: 2),
                moments.string(row: i, column: 3), moments.string(row: i, column: 4), moments.string(row: i, column: 5),
                moments.string(row: i, column: 6), moments.string(row: i, column: 7),
                try moments.timestampMicroseconds(row: i, column: 8).map { "\($0)" }, moments.string(row: i, column: 9),
                try moments.timestampMicroseconds(row: i, column: 10).map { "\($0)" },
                try moments.timestampMicroseconds(row: i, column: 11).map { "\($0)" },
                moments.string(row: i, column: 12), moments.string(row: i, column: 13),
            ]
            let pain = ref.painPoints.map { "\($0.event)@\(RFC3339.format($0.ts))@\($0.stageIndex)" }.joined(
                separator: ";")
            let want: [String?] = [
                ref.journey, ref.customerID, "\(ref.instance)", "\(ref.stageIndex)", ref.stage, ref.reason.rawValue,
                ref.lastEvent, ref.lastTouchpoint, "\(ref.lastSeen.microseconds)", "\(ref.timeInStage.microseconds)",
                "\(ref.detectedAt.microseconds)", ref.recoveredAt.map { "\($0.microseconds)" }, pain, ref.persona,
            ]
            if db != want { problems.append("moment \(i): db \(db), reference \(want)") }
        }

        // Events and distinct customers per touchpoint (the running counts of migration 008),
        // in the reference's order: journey and touchpoint in byte order.
        let touchpoints = try c.execute(
            """
            SELECT journey, stage_index, touchpoint, events, customers, persona FROM cjm.touchpoints
            ORDER BY journey COLLATE "C", stage_index, touchpoint COLLATE "C", persona COLLATE "C"
            """)
        if touchpoints.rowCount != expected.touchpoints.count {
            problems.append("\(touchpoints.rowCount) touchpoint rows, reference \(expected.touchpoints.count)")
        }
        for (i, ref) in expected.touchpoints.enumerated() where i < touchpoints.rowCount {
            let db = (0..<6).map { touchpoints.string(row: i, column: $0) }
            let want: [String?] = [
                ref.journey, "\(ref.stageIndex)", ref.touchpoint, "\(ref.events)", "\(ref.customers)", ref.persona,
            ]
            if db != want { problems.append("touchpoint \(i): db \(db), reference \(want)") }
        }
        problems += try compareRepeatLoop(c, expected: expected)
        return problems
    }

    /// Differences between funnel rows read from the database and the reference's rows.
    static func compareFunnel(_ funnel: [FunnelRow], _ expected: [ReferenceFunnelRow], name: String) -> [String] {
        var problems: [String] = []
        if funnel.count != expected.count {
            problems.append("\(name) has \(funnel.count) rows, reference \(expected.count)")
        }
        for (row, ref) in zip(funnel, expected) {
            let at = "\(name) \(ref.journey)/\(ref.persona)[\(ref.stageIndex)]"
            if (row.persona ?? "*") != ref.persona { problems.append("\(at): db persona \(row.persona ?? "*")") }
            func check<T: Equatable>(_ column: String, _ a: T, _ b: T) {
                if a != b {
                    problems.append("\(at).\(column): db \(a), reference \(b)")
                }
            }
            func near(_ column: String, _ a: Double?, _ b: Double?) {
                switch (a, b) {
                case (nil, nil): break
                case (let x?, let y?) where abs(x - y) <= 1e-9 * max(1, abs(y)): break
                default:
                    problems.append(
                        "\(at).\(column): db \(String(describing: a)), reference \(String(describing: b))"
                    )
                }
            }
            check("journey", row.journey, ref.journey)
            check("stage", row.stage, ref.stage)
            check("stage_index", row.stageIndex, ref.stageIndex)
            check("reached", row.reached, Int64(ref.reached))
            check("customers", row.customers, Int64(ref.customers))
            check("converted_to_next", row.convertedToNext, ref.convertedToNext.map(Int64.init))
            near("step_conversion", row.stepConversion, ref.stepConversion)
            near("overall_conversion", row.overallConversion, ref.overallConversion)
            check("drop_off", row.dropOff, ref.dropOff.map(Int64.init))
            near("drop_off_rate", row.dropOffRate, ref.dropOffRate)
            check("active", row.active, Int64(ref.active))
            check("abandoned", row.abandoned, Int64(ref.abandoned))
            check("expired", row.expired, Int64(ref.expired))
            // cjm.funnel reads percentiles from duration buckets (migration 005).
            func bucketed(_ column: String, _ a: Double?, _ b: Double?) {
                switch (a, b) {
                case (nil, nil): break
                case (let x?, let y?) where FunnelTolerance.percentileMatches(x, exact: y): break
                default:
                    problems.append(
                        "\(at).\(column): db \(String(describing: a)), reference \(String(describing: b))"
                    )
                }
            }
            bucketed("median_time_to_next", row.medianTimeToNext, ref.medianTimeToNext)
            bucketed("p90_time_to_next", row.p90TimeToNext, ref.p90TimeToNext)
            check("events", row.events, Int64(ref.events))
            near("avg_sentiment", row.avgSentiment, ref.avgSentiment)
            check("revenue", DecimalText(json: row.revenue), ref.revenue)
        }

        return problems
    }

}
