import JourneyStore
import PostgresClient
import Testing

/// `cjm.storage` and the daemon's size measurement agree with PostgreSQL's own functions.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct StorageViewTests {
    @Test func theViewListsEveryTableWithItsSizes() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(conninfo: conninfo, configuration: AlertEndToEndTests.configuration())
            try harness.replay(bytes: AlertEndToEndTests.simulate(days: 1, customers: 2_000, seed: 4, spike: false))
            let connection = try PostgresConnection(conninfo: conninfo)
            _ = try connection.execute("ANALYZE cjm.events")
            let rows = try harness.rows(
                """
                SELECT s.relation, s.total_bytes = pg_total_relation_size(('cjm.' || s.relation)::regclass),
                       s.table_bytes + s.index_bytes = s.total_bytes, s.rows_estimate
                FROM cjm.storage s ORDER BY s.relation
                """)
            let tables = try harness.rows(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = 'cjm' ORDER BY tablename::text")
            #expect(rows.map { $0[0] } == tables.map { $0[0] })
            for row in rows {
                #expect(row[1] == "t" && row[2] == "t", "\(row)")
            }
            let events = try harness.rows("SELECT count(*) FROM cjm.events")[0][0]
            #expect(rows.first { $0[0] == "events" }?[3] == events)
            let total = try StorageSize.totalBytes(on: connection)
            let summed = try harness.rows(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                    + "WHERE c.relnamespace = 'cjm'::regnamespace AND c.relkind IN ('r', 'p', 'm')")[0][0]
            #expect(String(total) == summed)
            #expect(total > 0)
        }
    }
}
