import Foundation
import JourneyCore
import JourneyReference
import JourneyStore
import PostgresClient
import Testing

/// The views other than `cjm.funnel` (which the differential test checks against the
/// reference) must agree with it and with the tables they summarize.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct ViewConsistencyTests {
    @Test(arguments: [3, 77, 1234] as [UInt64])
    func touchpointsDailyAndExitPointsAddUpToTheFunnel(seed: UInt64) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: seed)
            let harness = try StoreHarness(
                conninfo: conninfo,
                configuration: ReplayDifferentialTests.configuration(for: scenario, batch: 90))
            try harness.replay(scenario.ndjsonLines(for: scenario.arrivals).joined())
            let c = harness.connection
            func rows(_ sql: String) throws -> [[String?]] { try harness.rows(sql) }
            // Attributed activity per stage: by touchpoint it sums to the funnel's figures.
            #expect(
                try rows(
                    """
                    SELECT f.journey, f.stage_index, f.events, f.revenue
                    FROM cjm.funnel f ORDER BY 1, 2
                    """)
                    == rows(
                        """
                        SELECT s.journey, s.stage_index, coalesce(sum(t.events), 0)::bigint, coalesce(sum(t.revenue), 0)
                        FROM cjm.journey_stages s
                        LEFT JOIN cjm.touchpoints t ON t.journey = s.journey AND t.stage_index = s.stage_index
                                                   AND t.persona = '*'
                        GROUP BY 1, 2 ORDER BY 1, 2
                        """))
            // And per persona, to the persona's funnel.
            let personaActivity = try rows(
                """
                SELECT f.journey, f.persona, f.stage_index, f.events, f.revenue
                FROM cjm.funnel_by_persona f ORDER BY 1, 2, 3
                """)
            #expect(personaActivity.count > 0)
            #expect(
                personaActivity
                    == (try rows(
                        """
                        SELECT f.journey, f.persona, f.stage_index, coalesce(sum(t.events), 0)::bigint,
                               coalesce(sum(t.revenue), 0)
                        FROM cjm.funnel_by_persona f
                        LEFT JOIN cjm.touchpoints t ON t.journey = f.journey AND t.stage_index = f.stage_index
                                                   AND t.persona = f.persona
                        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
                        """)))
            // Distinct customers per touchpoint, recomputed from the instances' customers.
            let customers = try rows(
                """
                SELECT t.journey, t.stage_index, t.touchpoint, t.persona, t.customers FROM cjm.touchpoints t
                WHERE t.customers > (SELECT count(DISTINCT customer_id) FROM cjm.journey_instances i
                                     WHERE i.journey = t.journey AND i.stage_index >= t.stage_index
                                       AND (t.persona = '*' OR i.persona = t.persona))
                """)
            #expect(customers.isEmpty, "more customers at a touchpoint than reached the stage: \(customers)")
            // Daily funnels add up to the whole.
            #expect(
                try rows("SELECT journey, stage_index, reached FROM cjm.funnel ORDER BY 1, 2")
                    == rows(
                        """
                        SELECT f.journey, f.stage_index, coalesce(sum(d.reached), 0)::bigint
                        FROM cjm.funnel f LEFT JOIN cjm.funnel_daily d USING (journey, stage_index)
                        GROUP BY 1, 2 ORDER BY 1, 2
                        """))
            // Exit points count every inactive moment once, and shares sum to 1 per stage.
            // Per persona, and for every persona ('*').
            #expect(
                try rows(
                    """
                    SELECT journey, stage_index, persona, count(*) FROM cjm.critical_moments WHERE reason = 'inactive'
                    GROUP BY GROUPING SETS ((1, 2, 3), (1, 2)) ORDER BY 1, 2, coalesce(persona, '*') COLLATE "C"
                    """
                ).map { [$0[0], $0[1], $0[2] ?? "*", $0[3]] }
                    == rows(
                        """
                        SELECT journey, stage_index, persona, sum(abandonments)::bigint FROM cjm.exit_points
                        GROUP BY 1, 2, 3 ORDER BY 1, 2, persona COLLATE "C"
                        """))
            #expect(
                try rows(
                    """
                    SELECT journey, stage_index, persona FROM cjm.exit_points GROUP BY 1, 2, 3
                    HAVING abs(sum(share) - 1) > 1e-9
                    """
                ).isEmpty)
            // funnel_between over all time is the funnel.
            for journey in scenario.journeys {
                let all = try FunnelQuery.funnelBetween(
                    c, journey: journey.name, from: .earliestAccepted, to: RFC3339.parse("2100-01-01T00:00:00Z")!)
                let running = try FunnelQuery.funnel(c, journey: journey.name)
                #expect(all.count == running.count)
                for (exact, fast) in zip(all, running) {
                    #expect(FunnelTolerance.sameExceptBucketedPercentiles(fast, exact), "\(fast) vs \(exact)")
                }
                // And for each persona, funnel_between with the persona is funnel_by_persona.
                let byPersona = try FunnelQuery.funnelByPersona(c, journey: journey.name)
                for persona in Set(byPersona.compactMap(\.persona)) {
                    let exact = try FunnelQuery.funnelBetween(
                        c, journey: journey.name, from: .earliestAccepted, to: RFC3339.parse("2100-01-01T00:00:00Z")!,
                        persona: persona)
                    let fast = byPersona.filter { $0.persona == persona }
                    #expect(exact.count == fast.count)
                    for (e, f) in zip(exact, fast) {
                        let differing = zip(FunnelRow.columns, zip(f.fields, e.fields)).filter { $1.0 != $1.1 }
                            .map { "\($0.name): \($1.0 ?? "NULL") vs \($1.1 ?? "NULL")" }
                        #expect(
                            FunnelTolerance.sameExceptBucketedPercentiles(f, e),
                            "\(persona) \(f.journey)[\(f.stageIndex)]: \(differing)")
                    }
                }
            }
            // Every event maps to its stage per journey, as recorded in cjm.events.stages.
            let unmapped = try rows(
                """
                SELECT count(*) FROM cjm.events WHERE stages IS NOT NULL AND jsonb_typeof(stages) <> 'object'
                """)
            #expect(unmapped == [["0"]])
        }
    }
}
