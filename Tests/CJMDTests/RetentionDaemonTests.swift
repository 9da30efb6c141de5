import Foundation
import PostgresClient
import Testing

/// docs/storage.md through the real binary: a live daemon drops the days behind its
/// retention horizon soon after it starts, and dead-letters a late event behind it.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct RetentionDaemonTests {
    static let retention = "retention:\n  events: 2d\n  rejected_events: 30d"

    @Test func aLiveDaemonDropsOldDaysAndDeadLettersALateEventBehindTheHorizon() throws {
        let daemon = try DaemonHarness(journeyYAML: DaemonTests.journey, ingestYAML: Self.retention)
        let now = Date()
        let day: TimeInterval = 86_400
        // History written earlier (by a replay): noon (UTC) six, five and four days ago, one
        // event a day whatever the time the test runs at.
        let midnight = TimeInterval(Int(now.timeIntervalSince1970) / 86_400 * 86_400)
        let old = [6.0, 5.0, 4.0].enumerated().map { i, daysAgo in
            DaemonTests.line(
                "old-\(i)", customer: "c\(i)", event: "visit",
                at: Date(timeIntervalSince1970: midnight - daysAgo * day + day / 2))
        }
        let file = CommandRunner.temporaryFile(old.joined(), suffix: ".ndjson")
        let replayed = try CommandRunner.run(["replay", "--config", daemon.configPath, file])
        #expect(replayed.status == 0, "\(replayed.stderr)")
        let before = try daemon.query("SELECT count(*) FROM cjm.day_partitions('event_rows')").int64(row: 0, column: 0)
        #expect(before == 3)

        try daemon.start()
        // The live watermark is the clock minus the allowed lateness: every one of those
        // days ends before the horizon two days behind it.
        var partitions: Int64? = nil
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            partitions = try daemon.query("SELECT count(*) FROM cjm.day_partitions('event_rows')").int64(
                row: 0, column: 0)
            if partitions == 0 { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(partitions == 0, "\(daemon.log())")
        #expect(daemon.log().contains("retention dropped old days"))

        let client = try LineClient(unixPath: daemon.socketPath)
        try client.send(
            DaemonTests.line("late-1", customer: "late", event: "visit", at: now.addingTimeInterval(-3 * day))
                + DaemonTests.line("fresh-1", customer: "fresh", event: "visit", at: now.addingTimeInterval(-60)))
        #expect(try client.ack() == 2)
        let stored = try daemon.query("SELECT event_id FROM cjm.events ORDER BY 1")
        #expect((0..<stored.rowCount).map { stored.string(row: $0, column: 0) } == ["fresh-1"])
        let rejected = try daemon.query("SELECT reason, source FROM cjm.rejected_events")
        #expect(rejected.rowCount == 1)
        #expect(rejected.string(row: 0, column: 0) == "behind_retention")
        #expect(rejected.string(row: 0, column: 1) == "unix-test")
        // The journeys of the dropped days stay.
        let instances = try daemon.query("SELECT count(*) FROM cjm.journey_instances WHERE customer_id LIKE 'c%'")
        #expect(try instances.int64(row: 0, column: 0) == 3)
        #expect(daemon.terminate() == 0)
    }
}
