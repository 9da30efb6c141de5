import Foundation
import PostgresClient
import Testing

/// When PostgreSQL refuses a batch's dead letters themselves (here a constraint an operator
/// added), there is no event to isolate: the daemon retries with backoff, as in an outage,
/// instead of spinning, and commits the dead letter once the database takes it again.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct RefusedDeadLetterTests {
    /// Begins every log line of a refused commit attempt (whatever the daemon does next).
    static let refusal = "PostgreSQL refused"

    @Test func refusedDeadLettersAreRetriedWithBackoffThenCommittedOnce() throws {
        let daemon = try DaemonHarness(
            journeyYAML: DaemonTests.journey,
            ingestYAML: """
                ingest:
                  batch_max_delay: 50ms
                """)
        try daemon.start()
        defer { _ = daemon.terminate() }
        _ = try daemon.query("ALTER TABLE cjm.rejected_events ADD CONSTRAINT refuse_all CHECK (false) NOT VALID")

        let client = try LineClient(tcpPort: daemon.tcpPort)
        try client.send("this line is not JSON\n")
        // Attempts within 4 s: with backoff (0.25, 0.5, 1, 2 s …) a handful; a tight loop
        // makes thousands.
        Thread.sleep(forTimeInterval: 4)
        let attempts = daemon.log().components(separatedBy: Self.refusal).count - 1
        #expect(attempts >= 1, "the refusal should be logged: \(daemon.log().suffix(2000))")
        #expect(daemon.log().contains("retrying"))
        #expect(attempts <= 8, "\(attempts) attempts in 4 s: the daemon retries without backing off")

        _ = try daemon.query("ALTER TABLE cjm.rejected_events DROP CONSTRAINT refuse_all")
        #expect(try client.ack() == 1)
        let stored = try daemon.query("SELECT count(*), min(reason) FROM cjm.rejected_events")
        #expect(try stored.int64(row: 0, column: 0) == 1)
        #expect(stored.string(row: 0, column: 1) == "invalid_json")
        #expect(daemon.terminate() == 0)
    }
}
