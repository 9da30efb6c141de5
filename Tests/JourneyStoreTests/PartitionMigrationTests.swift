import JourneyCore
import JourneyStore
import PostgresClient
import Testing

/// Migration 013 (then 014) turns a database of the unpartitioned layout, data in it, into the
/// partitioned one: every event and dead letter kept column for column, one partition per
/// day, and the daemon going on from there as if nothing had happened.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct PartitionMigrationTests {
    static let allEvents =
        "SELECT event_id, customer_id, ts, event, touchpoint, sentiment, revenue, properties, source, received_at, seq, journey, stages FROM cjm.events ORDER BY seq"
    static let allRejected = "SELECT id, received_at, source, reason, detail, raw FROM cjm.rejected_events ORDER BY id"

    @Test func aVersionTwelveDatabaseMovesIntoDayPartitionsUnchanged() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(
                conninfo: conninfo, configuration: RetentionTests.configuration(retained: false))
            let chunks = RetentionTests.chunks()
            try harness.replay(bytes: chunks[0] + Array("not json\n{\"customer_id\":1}\n".utf8))
            let events = try harness.rows(Self.allEvents)
            let rejected = try harness.rows(Self.allRejected)
            let snapshot = try harness.snapshot()
            #expect(rejected.count == 2)

            try harness.connection.executeScript(SchemaDowngrade.toVersion12)
            #expect(
                try harness.rows("SELECT relkind::text FROM pg_class WHERE oid = 'cjm.events'::regclass") == [["r"]])
            #expect(try harness.rows(Self.allEvents) == events)
            let applied = try Migrator.migrate(harness.connection)
            #expect(applied == Array(13...Migrator.latestVersion))

            #expect(
                try harness.rows("SELECT relkind::text FROM pg_class WHERE oid = 'cjm.event_rows'::regclass") == [["p"]]
            )
            #expect(try harness.rows(Self.allEvents) == events)
            #expect(try harness.rows(Self.allRejected) == rejected)
            #expect(try harness.snapshot().withoutRepeatLoop == snapshot.withoutRepeatLoop)
            let days = try harness.rows(
                "SELECT DISTINCT ((ts AT TIME ZONE 'UTC')::date)::text FROM cjm.events ORDER BY 1")
            #expect(days.count > 1)
            #expect(try harness.rows("SELECT day::text FROM cjm.day_partitions('event_rows')") == days)
            // Each row sits in its own day's partition.
            #expect(
                try harness.rows(
                    """
                    SELECT count(*) FROM cjm.event_rows e
                    WHERE e.tableoid::regclass::text <> 'cjm.event_rows_' || to_char(e.ts AT TIME ZONE 'UTC', 'YYYYMMDD')
                    """) == [["0"]])

            // The daemon goes on: repeats are duplicates, new days get partitions, dead
            // letters continue the numbering.
            let again = try harness.replay(bytes: chunks[0] + chunks[1] + Array("[]\n".utf8))
            #expect(again.outcome.duplicates == events.count)
            #expect(again.outcome.stored > 0)
            #expect(
                try harness.rows("SELECT count(*) FROM cjm.events") == [[String(events.count + again.outcome.stored)]])
            let ids = try harness.rows("SELECT id FROM cjm.rejected_events ORDER BY id").map { Int($0[0]!)! }
            #expect(ids.count == 3 && ids[2] > ids[1])
            #expect(
                try harness.rows("SELECT count(*) FROM cjm.day_partitions('event_rows')")[0][0].map { Int($0)! }!
                    > days.count)
        }
    }
}
