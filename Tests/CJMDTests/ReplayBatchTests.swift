import Foundation
import PostgresClient
import Testing

/// How `cjmd replay` cuts its input into transactions: `--batch-events` events and dead
/// letters each (default 50,000, not the live sources' `ingest.batch_max_events`), and a
/// batch ends once its lines pass 32 MiB. Every batch transaction counts itself in `cjm.engine_state.commits` (the writer
/// fence), which is what these tests read.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct ReplayBatchTests {
    /// Commits of a fresh database after one replay of `lines` lines in batches of `batch`:
    /// each full batch, then the last one (possibly empty), which finishes the replay.
    static func expectedCommits(lines: Int, batch: Int) -> Int64 { Int64(lines / batch + 1) }

    @Test func batchEventsSetsTheTransactionSizeAndTheDefaultIgnoresTheLiveBatchSize() throws {
        // The live batch size is small on purpose: the default replay must not use it.
        let ingest = """
            ingest:
              batch_max_events: 1000
            """
        let explicit = try DaemonHarness(journeyYAML: DaemonTests.journey, ingestYAML: ingest)
        let byDefault = try DaemonHarness(journeyYAML: DaemonTests.journey, ingestYAML: ingest)
        let path = explicit.directory.appendingPathComponent("events.ndjson").path
        let simulated = try CommandRunner.run([
            "simulate", "--config", explicit.configPath, "--customers", "17000", "--seed", "5",
            "--start", RFC3339Text.format(Date().addingTimeInterval(-30 * 86_400)), "--duration", "2d", "--output",
            path,
        ])
        try #require(simulated.status == 0, "\(simulated.stderr)")
        let lines = try Data(contentsOf: URL(fileURLWithPath: path)).reduce(0) {
            $1 == UInt8(ascii: "\n") ? $0 + 1 : $0
        }
        try #require(lines > 50_000, "the file must hold more than one default batch: \(lines) lines")

        let small = try CommandRunner.run(["replay", "--config", explicit.configPath, "--batch-events", "7000", path])
        try #require(small.status == 0, "\(small.stderr)")
        let plain = try CommandRunner.run(["replay", "--config", byDefault.configPath, path])
        try #require(plain.status == 0, "\(plain.stderr)")

        #expect(try Self.commits(explicit) == Self.expectedCommits(lines: lines, batch: 7000))
        #expect(try Self.commits(byDefault) == Self.expectedCommits(lines: lines, batch: 50_000))
        // Transaction sizes change nothing stored.
        for table in ["cjm.events", "cjm.journey_instances", "cjm.critical_moments"] {
            let sql = "SELECT count(*) FROM \(table)"
            #expect(
                try explicit.query(sql).int64(row: 0, column: 0) == byDefault.query(sql).int64(row: 0, column: 0),
                "\(table) differs between the two transaction sizes")
        }
    }

    /// Dead letters of 100,000 bytes keep all of their line, so a batch passes 32 MiB
    /// (33,554,432 bytes) at its 336th line: 671 lines are one full batch and a last one (a
    /// smaller limit would make two full batches), 672 lines two and an empty last one (a
    /// larger limit would make one). Split over files, the batch carries over between them.
    @Test(arguments: [
        (files: 1, linesPerFile: 671, commits: Int64(2)), (files: 3, linesPerFile: 224, commits: Int64(3)),
    ])
    func longLinesEndABatchPast32MiB(files: Int, linesPerFile: Int, commits: Int64) throws {
        let harness = try DaemonHarness(
            journeyYAML: DaemonTests.journey,
            ingestYAML: """
                ingest:
                  max_line_bytes: 131072
                """)
        let line = [UInt8](repeating: UInt8(ascii: "x"), count: 100_000) + [UInt8(ascii: "\n")]
        let contents = Data(Array([[UInt8]](repeating: line, count: linesPerFile).joined()))
        let paths = (0..<files).map { harness.directory.appendingPathComponent("long-\($0).ndjson").path }
        for path in paths { _ = FileManager.default.createFile(atPath: path, contents: contents) }

        let replayed = try CommandRunner.run(["replay", "--config", harness.configPath] + paths)
        try #require(replayed.status == 0, "\(replayed.stderr)")
        #expect(
            try harness.query("SELECT count(*) FROM cjm.rejected_events").int64(row: 0, column: 0)
                == Int64(files * linesPerFile))
        #expect(try Self.commits(harness) == commits)
    }

    static func commits(_ harness: DaemonHarness) throws -> Int64? {
        try harness.query("SELECT commits FROM cjm.engine_state WHERE id = 1").int64(row: 0, column: 0)
    }
}
