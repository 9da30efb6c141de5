import Foundation
import PostgresClient
import Testing

/// A COMMIT whose reply is lost (issue 7): the connection breaks after PostgreSQL committed
/// the batch but before the daemon heard so. The daemon reconnects, recognises the batch by
/// the token committed with it, and does not store it again — its dead letter, which has no
/// id to deduplicate by, stays single, and the client is acknowledged.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct CommitReplyLossTests {
    @Test func batchCommittedBeforeTheConnectionBrokeIsNotStoredTwice() throws {
        let base = try #require(ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"])
        let proxy = try LossyPostgresProxy(upstreamConninfo: base)
        let daemon = try DaemonHarness(
            journeyYAML: DaemonTests.journey,
            ingestYAML: """
                ingest:
                  batch_max_delay: 50ms
                """, routeDatabase: { proxy.conninfo(base: base, database: $0) })
        try daemon.start()
        defer { _ = daemon.terminate() }
        let client = try LineClient(tcpPort: daemon.tcpPort)
        try client.send(DaemonTests.line("before", customer: "c1", event: "visit", at: Date()))
        #expect(try client.ack() == 1)

        proxy.arm(marker: "lose-this-commit-reply")
        // One write, so both lines reach the same batch: the dead letter travels with the marker.
        try client.send(
            "{\"garbage\": \n" + DaemonTests.line("lose-this-commit-reply", customer: "c2", event: "visit", at: Date()))
        #expect(try client.ack() == 3)
        #expect(proxy.triggered, "the proxy never saw the marked batch's COMMIT")
        try client.send(DaemonTests.line("after", customer: "c3", event: "visit", at: Date()))
        #expect(try client.ack() == 4)

        let events = try daemon.query("SELECT event_id FROM cjm.events ORDER BY event_id")
        #expect(
            (0..<events.rowCount).map { events.string(row: $0, column: 0) } == [
                "after", "before", "lose-this-commit-reply",
            ])
        let rejected = try daemon.query("SELECT count(*) FROM cjm.rejected_events")
        #expect(rejected.string(row: 0, column: 0) == "1", "the dead letter of the lost commit was stored twice")
        #expect(daemon.log().contains("the batch was committed before the connection was lost"), "log: \(daemon.log())")
    }
}
