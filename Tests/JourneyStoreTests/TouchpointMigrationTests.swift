import Foundation
import JourneyCore
import JourneyReference
import JourneyStore
import PostgresClient
import Testing

/// Migration 008 turns `cjm.touchpoint_customers` into running counts and first meetings on
/// instance rows. A database written by version 7 must, once migrated, give the same
/// touchpoint counts as one written by version 8 all along, and go on counting exactly.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct TouchpointMigrationTests {
    /// Turns a database of the current schema back into what version 7 held for the same
    /// events: one `touchpoint_customers` row per customer and pair, no counts, no first
    /// meetings, the view counting rows.
    static let backToVersion7 = """
        CREATE TABLE cjm.touchpoint_customers (
            journey text NOT NULL, stage_index integer NOT NULL, touchpoint text NOT NULL, customer_id text NOT NULL,
            PRIMARY KEY (journey, stage_index, touchpoint, customer_id));
        INSERT INTO cjm.touchpoint_customers
            SELECT i.journey, p.stage, p.touchpoint, i.customer_id
            FROM cjm.journey_instances i, unnest(i.first_touch_stage, i.first_touch_touchpoint) AS p(stage, touchpoint);
        DROP VIEW cjm.touchpoints;
        CREATE VIEW cjm.touchpoints AS
            SELECT t.journey, t.stage_index, s.stage, t.touchpoint, t.events,
                   (SELECT count(*) FROM cjm.touchpoint_customers c
                     WHERE c.journey = t.journey AND c.stage_index = t.stage_index AND c.touchpoint = t.touchpoint) AS customers,
                   t.sentiment_sum / nullif(t.sentiment_count, 0) AS avg_sentiment, t.revenue
            FROM cjm.touchpoint_stats t
            LEFT JOIN cjm.journey_stages s ON s.journey = t.journey AND s.stage_index = t.stage_index;
        ALTER TABLE cjm.journey_instances DROP COLUMN first_touch_stage, DROP COLUMN first_touch_touchpoint;
        ALTER TABLE cjm.touchpoint_stats DROP COLUMN customers;
        DELETE FROM cjm.schema_migrations WHERE version = 8;
        """

    @Test(arguments: [7, 101, 4242] as [UInt64])
    func aVersion7DatabaseMigratesAndCountsOnExactly(seed: UInt64) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: seed)
            let harness = try StoreHarness(conninfo: conninfo,
                                           configuration: ReplayDifferentialTests.configuration(for: scenario, batch: 64))
            let times = scenario.arrivals.map(\.time).sorted()
            let cut = times[times.count / 2]
            let first = ReplayPropertyTests.lines(scenario, scenario.arrivals.filter { $0.time < cut })
            let second = ReplayPropertyTests.lines(scenario, scenario.arrivals.filter { $0.time >= cut })

            try harness.replay(first)
            let countsBefore = try harness.rows("SELECT * FROM cjm.touchpoints ORDER BY journey, stage_index, touchpoint")
            try harness.connection.executeScript(Self.backToVersion7)
            #expect(try harness.rows("SELECT * FROM cjm.touchpoints ORDER BY journey, stage_index, touchpoint") == countsBefore,
                    "version 7's view counts the same customers")
            #expect(try harness.rows("SELECT count(*) > 0 FROM cjm.touchpoint_customers") == [["t"]])

            _ = try Migrator.migrate(harness.connection)
            #expect(try harness.rows("SELECT to_regclass('cjm.touchpoint_customers') IS NULL") == [["t"]])
            #expect(try harness.rows("SELECT * FROM cjm.touchpoints ORDER BY journey, stage_index, touchpoint") == countsBefore,
                    "migrated counts equal the rows they replace")
            try harness.replay(second)

            let expected = scenario.reference()
            let problems = try ReplayDifferentialTests.compare(harness.connection, expected: expected, journeys: scenario.journeys)
            #expect(problems.isEmpty, "\(problems.prefix(5))")
            // Every customer's pairs are on its instances once, whichever instance holds them.
            let doubled = try harness.rows("""
                SELECT journey, customer_id, p.stage, p.touchpoint FROM cjm.journey_instances i,
                       unnest(i.first_touch_stage, i.first_touch_touchpoint) AS p(stage, touchpoint)
                GROUP BY 1, 2, 3, 4 HAVING count(*) > 1
                """)
            #expect(doubled.isEmpty, "pairs recorded twice: \(doubled.prefix(3))")
        }
    }
}
