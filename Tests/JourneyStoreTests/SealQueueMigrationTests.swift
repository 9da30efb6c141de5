import CJMSchema
import JourneyStore
import PostgresClient
import Testing

/// Migration 016 lists in `cjm.seal_queue` the closed instances a daemon of version 15 left
/// in `cjm.instance_rows`, and the next seal moves exactly those: every view reads the same.
/// Every write that leaves an instance closed as a row lists its key.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct SealQueueMigrationTests {
    static let closedRows =
        "SELECT journey, customer_id, instance FROM cjm.instance_rows WHERE exited_at IS NOT NULL ORDER BY 1, 2, 3"
    static let queuedKeys = "SELECT DISTINCT journey, customer_id, instance FROM cjm.seal_queue ORDER BY 1, 2, 3"

    @Test func closedRowsOfVersionFifteenAreQueuedAndSealed() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(
                conninfo: conninfo, configuration: RetentionTests.configuration(retained: false))
            harness.sealAfterClosedInstances = .max
            for chunk in RetentionTests.chunks() { try harness.replay(bytes: chunk) }
            let closed = try harness.rows(Self.closedRows)
            #expect(closed.count > 10)
            // Each write that left an instance closed listed it.
            #expect(try harness.rows(Self.queuedKeys) == closed)
            let snapshot = try harness.snapshot()
            let views = try SealedHistoryTests().views(harness)

            try harness.connection.executeScript(SchemaDowngrade.toVersion15)
            #expect(try harness.rows("SELECT to_regclass('cjm.seal_queue') IS NULL") == [["t"]])
            #expect(try Migrator.migrate(harness.connection) == Array(16...Migrator.latestVersion))
            #expect(try harness.rows(Self.queuedKeys) == closed)
            #expect(try harness.rows("SELECT to_regclass('cjm.instance_rows_closed') IS NULL") == [["t"]])

            #expect(try harness.rows("SELECT cjm.seal_closed_instances(7)") == [[String(closed.count)]])
            #expect(try harness.rows(Self.closedRows).isEmpty)
            #expect(try harness.rows("SELECT count(*) FROM cjm.seal_queue") == [["0"]])
            #expect(try harness.snapshot().withoutRepeatLoop == snapshot.withoutRepeatLoop)
            // The loop counts conversions from version 20 on: a migrated database starts it empty.
            #expect(try harness.rows("SELECT sum(converted) FROM cjm.repeat_loop") == [["0"]])
            #expect(try harness.rows("SELECT count(*) FROM cjm.repeat_pending") == [["0"]])
            #expect(sameRows(try SealedHistoryTests().views(harness), views))
        }
    }

    /// A seal moves what the queue lists and nothing else: a closed row nobody listed (which
    /// cjmd never leaves) stays where it is, proof that no seal reads the open instances.
    @Test func aSealTakesTheQueuedKeysOnly() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(
                conninfo: conninfo, configuration: RetentionTests.configuration(retained: false))
            harness.sealAfterClosedInstances = .max
            for chunk in RetentionTests.chunks() { try harness.replay(bytes: chunk) }
            let closed = try harness.rows(Self.closedRows)
            let unlisted = closed[0]
            _ = try harness.connection.execute(
                "DELETE FROM cjm.seal_queue WHERE (journey, customer_id, instance) = ($1, $2, $3::integer)",
                [.text(unlisted[0]!), .text(unlisted[1]!), .text(unlisted[2]!)])
            #expect(try harness.rows("SELECT cjm.seal_closed_instances(1024)") == [[String(closed.count - 1)]])
            #expect(try harness.rows(Self.closedRows) == [unlisted])
        }
    }
}
