import PostgresClient
import Testing

@testable import JourneyStore

/// Migration 011 moves every stored give-up flagged after a silence from the minute it was
/// detected to the minute the customer fell silent. A database written by version 10 must,
/// once migrated, hold the per-minute counts that one written by version 11 all along holds.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct AlertDatingMigrationTests {
    /// What version 10 held for the same events: give-ups at the minute they were detected,
    /// no p-value column, no storage view.
    static let downgrade = """
        CREATE TEMP TABLE back AS
        SELECT journey, stage_index, stage, date_trunc('minute', detected_at) AS detected_minute,
               date_trunc('minute', last_seen) AS silent_minute
        FROM cjm.critical_moments
        WHERE reason = 'inactive' AND date_trunc('minute', detected_at) <> date_trunc('minute', last_seen);
        UPDATE cjm.stage_decisions d SET abandoned = d.abandoned - m.n
        FROM (SELECT journey, stage_index, silent_minute, count(*) AS n FROM back GROUP BY 1, 2, 3) m
        WHERE d.journey = m.journey AND d.stage_index = m.stage_index AND d.minute = m.silent_minute;
        INSERT INTO cjm.stage_decisions AS d (journey, stage_index, stage, minute, abandoned, advanced)
        SELECT journey, stage_index, min(stage), detected_minute, count(*), 0 FROM back
        GROUP BY journey, stage_index, detected_minute
        ON CONFLICT (journey, stage_index, minute) DO UPDATE SET abandoned = d.abandoned + EXCLUDED.abandoned;
        DROP TABLE back;
        DELETE FROM cjm.stage_decisions WHERE abandoned = 0 AND advanced = 0;
        DROP VIEW cjm.storage;
        ALTER TABLE cjm.alerts DROP COLUMN p_value;
        DELETE FROM cjm.schema_migrations WHERE version >= 11;
        """

    static let decisions =
        "SELECT journey, stage_index, stage, minute, abandoned, advanced FROM cjm.stage_decisions "
        + "WHERE abandoned + advanced > 0 ORDER BY 1, 2, 4"

    @Test func aVersionTenDatabaseIsRedatedExactly() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(conninfo: conninfo, configuration: AlertEndToEndTests.configuration())
            try harness.replay(bytes: AlertEndToEndTests.simulate(days: 2, customers: 3_000, seed: 12, spike: false))
            let current = try harness.rows(Self.decisions)
            try harness.connection.executeScript(SchemaDowngrade.toVersion12 + Self.downgrade)
            let old = try harness.rows(Self.decisions)
            // The two datings differ (else this test proves nothing)...
            #expect(old != current)
            #expect(
                try harness.rows("SELECT sum(abandoned) FROM cjm.stage_decisions")
                    == harness.rows("SELECT count(*) FROM cjm.critical_moments"))
            // ...and the migration turns the old one into the new one.
            _ = try Migrator.migrate(harness.connection)
            #expect(try harness.rows(Self.decisions) == current)
            #expect(try harness.rows("SELECT count(*) FROM cjm.alerts WHERE p_value IS NOT NULL").count == 1)
        }
    }
}
