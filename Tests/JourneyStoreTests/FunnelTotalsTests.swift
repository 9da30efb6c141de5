import Foundation
import JourneyCore
import JourneyReference
import JourneyStore
import PostgresClient
import Testing

/// `cjm.funnel_stats` and `cjm.time_to_next` are running totals the sink adds to in every
/// batch; migration 005 computes them from the instances for databases created before it.
/// Both ways must give the same rows — the Swift and SQL duration buckets included.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct FunnelTotalsTests {
    @Test(arguments: [5, 91, 2024] as [UInt64])
    func runningTotalsEqualTheMigrationBackfill(seed: UInt64) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: seed)
            let harness = try StoreHarness(
                conninfo: conninfo,
                configuration: ReplayDifferentialTests.configuration(for: scenario, batch: 70))
            try harness.replay(scenario.ndjsonLines(for: scenario.arrivals).joined())
            let c = harness.connection
            func rows(_ sql: String) throws -> [[String?]] { try harness.rows(sql) }
            let nonZero = "(reached, customers, active, abandoned, expired) <> (0, 0, 0, 0, 0)"
            let stats = "SELECT * FROM cjm.funnel_stats WHERE persona = '*' AND \(nonZero) ORDER BY 1, 2"
            let buckets = "SELECT * FROM cjm.time_to_next WHERE persona = '*' AND instances <> 0 ORDER BY 1, 2, 3"
            let running = (try rows(stats), try rows(buckets))
            #expect(!running.0.isEmpty && !running.1.isEmpty, "the scenario must reach stages and advance")

            // Per persona, the same counts over that persona's instances.
            let personaStats = try rows(
                "SELECT * FROM cjm.funnel_stats WHERE persona <> '*' AND \(nonZero) ORDER BY 1, 2, 8")
            let recounted = try rows(
                """
                SELECT * FROM (
                    SELECT s.journey, s.stage_index,
                           count(*) FILTER (WHERE i.stage_index >= s.stage_index) AS reached,
                           count(DISTINCT i.customer_id) FILTER (WHERE i.stage_index >= s.stage_index) AS customers,
                           count(*) FILTER (WHERE i.stage_index = s.stage_index AND i.status = 'active') AS active,
                           count(*) FILTER (WHERE i.stage_index = s.stage_index AND i.status = 'abandoned') AS abandoned,
                           count(*) FILTER (WHERE i.stage_index = s.stage_index AND i.status = 'expired') AS expired,
                           i.persona
                    FROM cjm.journey_stages s JOIN cjm.journey_instances i ON i.journey = s.journey
                    GROUP BY s.journey, s.stage_index, i.persona) r
                WHERE \(nonZero) ORDER BY 1, 2, 8
                """)
            #expect(personaStats == recounted)
            #expect(Set(personaStats.compactMap { $0[7] }).count > 1, "the scenario must have several personas")

            try c.executeScript(
                "BEGIN; TRUNCATE cjm.funnel_stats_by_part, cjm.time_to_next_by_part; "
                    + "ALTER TABLE cjm.funnel_stats_by_part ALTER COLUMN persona SET DEFAULT '*'; "
                    + "ALTER TABLE cjm.time_to_next_by_part ALTER COLUMN persona SET DEFAULT '*'")
            try c.executeScript(try Self.backfillSQL())
            let backfilled = (try rows(stats), try rows(buckets))
            try c.executeScript("ROLLBACK")
            #expect(running.0 == backfilled.0)
            #expect(running.1 == backfilled.1)
        }
    }

    /// The backfill statements of migration 005, writing the tables the totals are kept in
    /// since migration 021 (`*_by_part`; the old names are views summing them).
    static func backfillSQL() throws -> String {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../sql/migrations/005_funnel_totals.sql")
        let sql = try String(contentsOf: file, encoding: .utf8)
        let start = try #require(sql.range(of: "-- Backfill from the instances stored so far."))
        let end = try #require(sql.range(of: "-- cjm.funnel from the running totals"))
        return String(sql[start.lowerBound..<end.lowerBound])
            .replacingOccurrences(of: "cjm.funnel_stats", with: "cjm.funnel_stats_by_part")
            .replacingOccurrences(of: "cjm.time_to_next", with: "cjm.time_to_next_by_part")
    }
}
