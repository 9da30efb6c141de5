import Foundation
import PostgresClient
import Testing

/// A million lines of mixed garbage (issue 7) through `cjmd replay` and through a socket of
/// `cjmd run`: no crash, memory bounded, every good line stored exactly, every bad line
/// dead-lettered with a reason.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct GarbageFileTests {
    static let reasons: Set<String> = [
        "invalid_utf8", "invalid_json", "not_an_object", "missing_field", "invalid_field", "ts_out_of_range",
        "line_too_long",
    ]

    @Test func millionLinesOfGarbageThroughReplayAndSocket() throws {
        let timestamp = RFC3339Text.format(Date().addingTimeInterval(-3600))
        let garbage = MixedGarbage(
            lines: 1_000_000, hugeLines: 5, hugeLineBytes: 10 << 20, timestamp: timestamp, seed: 7)
        let replayed = try DaemonHarness(journeyYAML: DaemonTests.journey)
        let path = replayed.directory.appendingPathComponent("garbage.ndjson").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(garbage.bytes))
        print(
            "garbage file: \(garbage.lineCount) lines, \(garbage.bytes.count / 1_000_000) MB, "
                + "\(garbage.goodCustomers.count) good; bad by kind: "
                + garbage.badByKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))

        // Through replay, with the replay's peak memory.
        let process = Process()
        process.executableURL = CommandRunner.binary
        process.arguments = ["replay", "--config", replayed.configPath, path]
        let output = replayed.directory.appendingPathComponent("replay.log").path
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardOutput = log
        process.standardError = log
        let started = Date()
        try process.run()
        var replayPeakKiB = 0
        while process.isRunning {
            replayPeakKiB = max(replayPeakKiB, Self.statusKiB(pid: process.processIdentifier, field: "VmHWM:") ?? 0)
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.waitUntilExit()
        let replaySeconds = Date().timeIntervalSince(started)
        let replayLog = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 0, "replay: \(replayLog)")
        try Self.expectExactOutcome(replayed, garbage)
        #expect(replayPeakKiB < 256 * 1024, "replay peaked at \(replayPeakKiB) KiB")

        // Through a Unix socket of the daemon, acknowledged at the end.
        let daemon = try DaemonHarness(journeyYAML: DaemonTests.journey)
        try daemon.start()
        defer { _ = daemon.terminate() }
        let before = try #require(daemon.residentKiB())
        var daemonPeakKiB = before
        let client = try LineClient(unixPath: daemon.socketPath)
        let socketStarted = Date()
        let chunk = 1 << 20
        var offset = 0
        while offset < garbage.bytes.count {
            let end = min(offset + chunk, garbage.bytes.count)
            try client.send(bytes: garbage.bytes[offset..<end])
            offset = end
            if (offset / chunk) % 16 == 0 { daemonPeakKiB = max(daemonPeakKiB, daemon.residentKiB() ?? 0) }
        }
        #expect(try client.ack() == garbage.lineCount)
        let socketSeconds = Date().timeIntervalSince(socketStarted)
        daemonPeakKiB = max(daemonPeakKiB, daemon.residentKiB() ?? 0)
        try Self.expectExactOutcome(daemon, garbage)
        #expect(daemonPeakKiB - before < 256 * 1024, "the daemon grew from \(before) to \(daemonPeakKiB) KiB")
        #expect(daemon.log().contains("ready"))
        print(
            """
            garbage through replay: \(String(format: "%.1f", replaySeconds)) s, peak RSS \(replayPeakKiB / 1024) MiB; \
            through a socket: \(String(format: "%.1f", socketSeconds)) s, daemon RSS \(before / 1024) → peak \(daemonPeakKiB / 1024) MiB
            """)
    }

    /// Every good line stored with its customer id byte for byte, every bad line one dead
    /// letter with a known reason, a detail, and raw bytes within max_line_bytes.
    static func expectExactOutcome(_ harness: DaemonHarness, _ garbage: MixedGarbage) throws {
        let connection = try PostgresConnection(conninfo: harness.conninfo)
        defer { connection.close() }
        let events = try connection.execute("SELECT event_id, customer_id FROM cjm.events")
        var stored: [String: String] = [:]
        for row in 0..<events.rowCount {
            stored[events.string(row: row, column: 0) ?? ""] = events.string(row: row, column: 1) ?? ""
        }
        #expect(stored.count == garbage.goodCustomers.count)
        let mismatches = garbage.goodCustomers.filter { stored[$0.key] != $0.value }
        #expect(
            mismatches.isEmpty,
            "\(mismatches.count) good lines not stored exactly, e.g. \(mismatches.first.map { "\($0)" } ?? "")")
        let rejected = try connection.execute(
            """
            SELECT reason, count(*), bool_and(detail <> ''), max(length(raw)) FROM cjm.rejected_events GROUP BY reason ORDER BY reason
            """)
        var total = 0
        for row in 0..<rejected.rowCount {
            let reason = rejected.string(row: row, column: 0) ?? ""
            #expect(Self.reasons.contains(reason), "unknown reason \(reason)")
            total += Int(rejected.string(row: row, column: 1) ?? "") ?? 0
            #expect(rejected.string(row: row, column: 2) == "t", "\(reason): a dead letter without detail")
            #expect((Int(rejected.string(row: row, column: 3) ?? "") ?? .max) <= 65_536)
        }
        #expect(total == garbage.badCount, "dead letters: \(total), bad lines: \(garbage.badCount)")
    }

    static func statusKiB(pid: Int32, field: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) })
        else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }
}
