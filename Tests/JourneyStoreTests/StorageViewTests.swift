import JourneyStore
import PostgresClient
import Testing

/// `cjm.storage` and the daemon's size measurement agree with PostgreSQL's own functions.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct StorageViewTests {
    @Test func theViewListsEveryTableWithItsSizes() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(conninfo: conninfo, configuration: AlertEndToEndTests.configuration())
            try harness.replay(bytes: AlertEndToEndTests.simulate(days: 2, customers: 2_000, seed: 4, spike: false))
            let connection = try PostgresConnection(conninfo: conninfo)
            _ = try connection.execute("ANALYZE cjm.event_rows")
            // A partitioned table's size is its partitions' (with their indexes and TOAST).
            let rows = try harness.rows(
                """
                SELECT s.relation,
                       s.total_bytes = coalesce(
                           (SELECT sum(pg_total_relation_size(t.relid))
                            FROM pg_partition_tree(('cjm.' || s.relation)::regclass) t),
                           pg_total_relation_size(('cjm.' || s.relation)::regclass)),
                       s.table_bytes + s.index_bytes = s.total_bytes, s.rows_estimate
                FROM cjm.storage s ORDER BY s.relation
                """)
            let tables = try harness.rows(
                """
                SELECT c.relname::text FROM pg_class c
                WHERE c.relnamespace = 'cjm'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                ORDER BY 1
                """)
            #expect(rows.map { $0[0] } == tables.map { $0[0] })
            for row in rows {
                #expect(row[1] == "t" && row[2] == "t", "\(row)")
            }
            let events = try harness.rows("SELECT count(*) FROM cjm.events")[0][0]
            #expect(rows.first { $0[0] == "event_rows" }?[3] == events)
            // One partition per day of events, and the first of them is where retained events begin.
            let days = try harness.rows(
                """
                SELECT count(DISTINCT (ts AT TIME ZONE 'UTC')::date), min((ts AT TIME ZONE 'UTC')::date)::text
                FROM cjm.events
                """)[0]
            #expect(days[0] != "0" && days[0] != "1", "the test needs events on several days")
            let storedDays = try harness.rows(
                "SELECT partitions, ((retained_from AT TIME ZONE 'UTC')::date)::text FROM cjm.storage WHERE relation = 'event_rows'"
            )
            #expect(storedDays == [days])
            let total = try StorageSize.totalBytes(on: connection)
            let summed = try harness.rows(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                    + "WHERE c.relnamespace = 'cjm'::regnamespace AND c.relkind IN ('r', 'p', 'm')")[0][0]
            #expect(String(total) == summed)
            #expect(total > 0)
        }
    }
}
