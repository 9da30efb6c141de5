import Foundation
import Testing

/// `cjmd simulate --send-to`: live traffic into a running daemon's socket, at the pace of the
/// arrival times, with acknowledgements (what the quickstart uses).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct SimulateSendToTests {
    @Test func everyLineSentIsAcknowledgedAndStored() throws {
        let daemon = try DaemonHarness(journeyYAML: DaemonTests.journey)
        try daemon.start()
        let started = Date()
        let sent = try CommandRunner.run([
            "simulate", "--config", daemon.configPath, "--customers", "40", "--seed", "9", "--duration", "3s",
            "--without-event-id", "0", "--send-to", daemon.socketPath,
        ])
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(Date().timeIntervalSince(started) >= 2, "paced by the arrival times, not sent at once")
        let summary = try #require(
            sent.stderr.firstMatch(of: /sent (\d+) lines to .*; the daemon acknowledged (\d+)/), "\(sent.stderr)")
        let lines = Int(summary.1)!
        #expect(lines > 0)
        #expect(Int(summary.2) == lines, "the last acknowledgement covers every line sent")
        let stored = try daemon.query("SELECT count(*) FROM cjm.events WHERE event_id LIKE 'e9-%'")
        #expect(Int(stored.string(row: 0, column: 0) ?? "") == lines, "acknowledged means stored")
        #expect(daemon.terminate() == 0, "\(daemon.log())")
    }

    @Test func aSocketNobodyListensOnIsExit69WithTheReason() throws {
        let config = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cjmd-sendto-\(UUID().uuidString).yaml")
        try Data(DaemonTests.journey.utf8).write(to: config)
        defer { try? FileManager.default.removeItem(at: config) }
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent(
            "no-daemon-\(UUID().uuidString).sock")
        let result = try CommandRunner.run([
            "simulate", "--config", config.path, "--customers", "5", "--duration", "1s", "--send-to", missing.path,
        ])
        #expect(result.status == 69)
        #expect(result.stderr.contains("cannot connect to \(missing.path)"), "\(result.stderr)")
        #expect(result.stderr.contains("is `cjmd run` listening there?"), "\(result.stderr)")
    }
}
