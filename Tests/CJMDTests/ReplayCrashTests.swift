import Foundation
import PostgresClient
import Testing

/// `cjmd replay` under crashes (issue 7): killed with SIGKILL at 50 random moments while it
/// loads a simulated file (with malformed and duplicate lines) and started again each time,
/// it ends with tables equal to those of one clean replay — dead letters included, which
/// only the committed read position can keep from being stored twice. Replaying the file
/// once more changes nothing.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct ReplayCrashTests {
    static let kills = 50

    @Test func killedFiftyTimesWhileReplayingEndsEqualToACleanReplay() throws {
        let killed = try DaemonHarness(
            journeyYAML: TailCrashTests.journeyYAML,
            ingestYAML: """
                ingest:
                  batch_max_events: 1000
                """)
        // The clean replay runs with replay's own default batch size (50,000), unlike the
        // killed ones: the tables must not depend on it either.
        let clean = try DaemonHarness(
            journeyYAML: TailCrashTests.journeyYAML,
            ingestYAML: """
                ingest:
                  batch_max_events: 1000
                """)
        // Both replay the same path, so the source names in the dead letters agree.
        let eventsPath = killed.directory.appendingPathComponent("events.ndjson").path
        let start = RFC3339Text.format(Date().addingTimeInterval(-365 * 86_400))
        let simulated = try CommandRunner.run([
            "simulate", "--config", killed.configPath, "--customers", "100000", "--seed", "31", "--start", start,
            "--duration", "3d", "--disorder", "2s", "--malformed", "0.01", "--duplicates", "0.01", "--personas",
            "--output", eventsPath,
        ])
        try #require(simulated.status == 0, "\(simulated.stderr)")
        let lineCount = try Data(contentsOf: URL(fileURLWithPath: eventsPath)).reduce(0) {
            $1 == UInt8(ascii: "\n") ? $0 + 1 : $0
        }

        let logPath = killed.directory.appendingPathComponent("replays.log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        func startReplay() throws -> Process {
            let process = Process()
            process.executableURL = CommandRunner.binary
            // Small transactions, so that most kills fall between commits of one replay.
            process.arguments = ["replay", "--config", killed.configPath, "--batch-events", "1000", eventsPath]
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            log.seekToEndOfFile()
            process.standardOutput = log
            process.standardError = log
            try process.run()
            return process
        }
        var rng = SplitMix(seed: 2026)
        var kills = 0
        var completedEarly = 0
        let started = Date()
        while kills < Self.kills {
            let process = try startReplay()
            Thread.sleep(forTimeInterval: 0.15 + Double(rng.next() % 750) / 1000)
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                kills += 1
            } else {
                process.waitUntilExit()
                #expect(process.terminationStatus == 0)
                completedEarly += 1
                if completedEarly > 3 { break }
            }
        }
        let killedSeconds = Date().timeIntervalSince(started)
        let committedBeforeFinal =
            try killed.query(
                "SELECT coalesce(max(\"offset\"), 0) FROM cjm.source_checkpoints WHERE source LIKE 'replay:%'"
            ).int64(row: 0, column: 0) ?? 0
        let fileBytes = try FileManager.default.attributesOfItem(atPath: eventsPath)[.size] as? Int ?? 1
        #expect(committedBeforeFinal > 0, "no killed replay committed anything")
        let final = try startReplay()
        final.waitUntilExit()
        #expect(final.terminationStatus == 0)
        #expect(kills == Self.kills, "the file was replayed completely after \(kills) kills; make it longer")
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        #expect(log.contains("resuming after the lines an earlier replay committed"))

        let cleanStarted = Date()
        let replayed = try CommandRunner.run(["replay", "--config", clean.configPath, eventsPath])
        try #require(replayed.status == 0, "\(replayed.stderr)")
        let cleanSeconds = Date().timeIntervalSince(cleanStarted)
        for (name, sql) in TailCrashTests.comparedTables {
            let a = try TailCrashTests.digest(killed, sql)
            let b = try TailCrashTests.digest(clean, sql)
            #expect(a == b, "\(name) differs: killed \(a), clean \(b)")
        }
        let rejected = try killed.query("SELECT count(*) FROM cjm.rejected_events").int64(row: 0, column: 0) ?? 0
        #expect(rejected > 0)

        // Replaying the same file again reads nothing new: no event, no dead letter.
        let before = try TailCrashTests.digest(killed, "SELECT reason, detail, raw FROM cjm.rejected_events")
        let again = try CommandRunner.run(["replay", "--config", killed.configPath, eventsPath])
        #expect(again.status == 0)
        #expect(try TailCrashTests.digest(killed, "SELECT reason, detail, raw FROM cjm.rejected_events") == before)
        print(
            """
            replay crash test: \(lineCount) lines, \(rejected) dead letters, \(kills) × kill -9 \
            (\(completedEarly) runs completed before their kill) in \(String(format: "%.1f", killedSeconds)) s, \
            which committed \(Int(100 * Double(committedBeforeFinal) / Double(fileBytes))) % of the file; \
            clean replay \(String(format: "%.1f", cleanSeconds)) s
            """)
    }
}
