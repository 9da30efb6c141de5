import Foundation
import JourneyCore
import JourneyReference
import PostgresClient
import Testing

@testable import JourneyStore

/// Migration 008 turns `cjm.touchpoint_customers` into running counts and first meetings on
/// instance rows. A database written by version 7 must, once migrated, give the same
/// touchpoint counts as one written by version 8 all along, and go on counting exactly.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct TouchpointMigrationTests {
    /// Every pair recorded on an instance, as (journey, customer, stage, touchpoint).
    static func recordedPairs(_ harness: StoreHarness) throws -> [[String]] {
        var pairs: [[String]] = []
        for row in try harness.rows(
            "SELECT journey, customer_id, first_touches FROM cjm.journey_instances WHERE first_touches <> ''")
        {
            for pair in try TouchpointPairList.decode(row[2] ?? "") {
                pairs.append([row[0] ?? "", row[1] ?? "", "\(pair.stageIndex)", pair.touchpoint])
            }
        }
        return pairs
    }

    /// Turns a database of the current schema back into what version 7 held for the same
    /// events: one `touchpoint_customers` row per customer and pair, no counts, no first
    /// meetings, the view counting rows.
    static func backToVersion7(_ harness: StoreHarness) throws {
        let pairs = try recordedPairs(harness)
        try harness.connection.executeScript(
            """
            CREATE TABLE cjm.touchpoint_customers (
                journey text NOT NULL, stage_index integer NOT NULL, touchpoint text NOT NULL, customer_id text NOT NULL,
                PRIMARY KEY (journey, stage_index, touchpoint, customer_id));
            """)
        for pair in pairs {
            _ = try harness.connection.execute(
                "INSERT INTO cjm.touchpoint_customers VALUES ($1, $2::int, $3, $4)",
                [.text(pair[0]), .text(pair[2]), .text(pair[3]), .text(pair[1])])
        }
        try harness.connection.executeScript(SchemaDowngrade.toVersion14 + downgrade)
    }

    static let downgrade = """
        DROP VIEW cjm.touchpoints;
        CREATE VIEW cjm.touchpoints AS
            SELECT t.journey, t.stage_index, s.stage, t.touchpoint, t.events,
                   (SELECT count(*) FROM cjm.touchpoint_customers c
                     WHERE c.journey = t.journey AND c.stage_index = t.stage_index AND c.touchpoint = t.touchpoint) AS customers,
                   t.sentiment_sum / nullif(t.sentiment_count, 0) AS avg_sentiment, t.revenue
            FROM cjm.touchpoint_stats t
            LEFT JOIN cjm.journey_stages s ON s.journey = t.journey AND s.stage_index = t.stage_index;
        ALTER TABLE cjm.journey_instances DROP COLUMN first_touches;
        ALTER TABLE cjm.touchpoint_stats DROP COLUMN customers;
        DELETE FROM cjm.schema_migrations WHERE version = 8;
        """

    @Test(arguments: [7, 101, 4242] as [UInt64])
    func aVersion7DatabaseMigratesAndCountsOnExactly(seed: UInt64) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            // Version 7 knows no personas: its events carry none.
            let scenario = RandomScenario.make(seed: seed).withoutPersonas()
            let harness = try StoreHarness(
                conninfo: conninfo,
                configuration: ReplayDifferentialTests.configuration(for: scenario, batch: 64))
            let times = scenario.arrivals.map(\.time).sorted()
            let cut = times[times.count / 2]
            let first = ReplayPropertyTests.lines(scenario, scenario.arrivals.filter { $0.time < cut })
            let second = ReplayPropertyTests.lines(scenario, scenario.arrivals.filter { $0.time >= cut })

            let columns = "journey, stage_index, stage, touchpoint, events, customers, avg_sentiment, revenue"
            let everyPersona = "SELECT \(columns) FROM cjm.touchpoints WHERE persona = '*' ORDER BY 1, 2, 4"
            try harness.replay(first)
            let countsBefore = try harness.rows(everyPersona)
            try Self.backToVersion7(harness)
            #expect(
                try harness.rows("SELECT \(columns) FROM cjm.touchpoints ORDER BY 1, 2, 4") == countsBefore,
                "version 7's view counts the same customers")
            #expect(try harness.rows("SELECT count(*) > 0 FROM cjm.touchpoint_customers") == [["t"]])

            _ = try Migrator.migrate(harness.connection)
            #expect(try harness.rows("SELECT to_regclass('cjm.touchpoint_customers') IS NULL") == [["t"]])
            #expect(try harness.rows(everyPersona) == countsBefore, "migrated counts equal the rows they replace")
            try harness.replay(second)

            let expected = scenario.reference()
            // The repeat loop counts conversions from version 20 on; those of the first half are not in it.
            let problems = try ReplayDifferentialTests.compare(
                harness.connection, expected: expected, journeys: scenario.journeys
            ).filter { !$0.hasPrefix("repeat_") }
            #expect(problems.isEmpty, "\(problems.prefix(5))")
            // Every customer's pairs are on its instances once, whichever instance holds them.
            let pairs = try Self.recordedPairs(harness)
            #expect(Set(pairs).count == pairs.count, "a pair is recorded twice for a customer")
            #expect(
                try harness.rows("SELECT sum(customers)::bigint FROM cjm.touchpoint_stats WHERE persona = '*'") == [
                    ["\(pairs.count)"]
                ])
        }
    }
}

/// `first_touches` must give back exactly the pairs written, whatever the touchpoint text
/// holds, and refuse what it did not write.
@Suite struct TouchpointPairListTests {
    @Test func pairsRoundTripWhateverTheirText() throws {
        let pairs = [
            TouchpointPair(stageIndex: 0, touchpoint: "web"), TouchpointPair(stageIndex: 12, touchpoint: ""),
            TouchpointPair(stageIndex: 3, touchpoint: "1:2:x"),
            TouchpointPair(stageIndex: 1, touchpoint: "magasin à Zürich ☕"),
            TouchpointPair(stageIndex: 2, touchpoint: "line\nbreak,\"quoted\"\\"),
        ]
        #expect(try TouchpointPairList.decode(TouchpointPairList.encode(pairs)) == pairs)
        #expect(try TouchpointPairList.decode("") == [])
        #expect(TouchpointPairList.encode([TouchpointPair(stageIndex: 0, touchpoint: "web")]) == "0:3:web")
        for broken in ["0:3:we", "x:3:web", "0:web", "0:3", "0::web", "99999999999:1:a"] {
            #expect(throws: StoreError.self, "\(broken)") { try TouchpointPairList.decode(broken) }
        }
    }
}
