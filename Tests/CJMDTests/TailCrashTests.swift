import Foundation
import PostgresClient
import Testing

/// docs/reliability.md's tail guarantee under crashes: a file of about 420,000 simulated lines is appended to a tailed
/// log while `cjmd run` is killed with SIGKILL at random moments and restarted each time.
/// The tables must end up equal to those of a clean `cjmd replay` of the same file.
///
/// Raw tables (events, dead letters) are compared as they are. The derived tables are compared
/// after `cjmd rebuild` of the tailed database: live ingestion applies historical lines as late
/// events, by design (docs/semantics.md), so its intermediate flags differ from a replay's; what must be
/// equal is the set of lines stored, and what they yield.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct TailCrashTests {
    /// About 4.2 lines each; `CJM_TEST_TAIL_CUSTOMERS=N` makes the file longer (240,000 for a
    /// million lines). The default keeps the suite within CI's time.
    static let customers = Int(ProcessInfo.processInfo.environment["CJM_TEST_TAIL_CUSTOMERS"] ?? "") ?? 100_000

    @Test func killedAtRandomMomentsWhileTailingEndsEqualToACleanReplay() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cjmd-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let logPath = directory.appendingPathComponent("events.ndjson").path
        let sourcePath = directory.appendingPathComponent("all.ndjson").path

        let tailed = try DaemonHarness(
            journeyYAML: Self.journeyYAML,
            ingestYAML: """
                ingest:
                  batch_max_events: 5000
                """,
            extraSourcesYAML: """
                  - type: tail
                    path: \(logPath)
                    start_at: beginning
                    name: tail-crash
                """)
        // The simulated history lies a year back: every deadline in it has long passed, for
        // the live daemon and for the replay alike.
        let start = RFC3339Text.format(Date().addingTimeInterval(-365 * 86_400))
        let simulated = try CommandRunner.run([
            "simulate", "--config", tailed.configPath, "--customers", "\(Self.customers)", "--seed", "77",
            "--start", start, "--duration", "7d", "--malformed", "0.002", "--personas", "--output", sourcePath,
        ])
        try #require(simulated.status == 0, "\(simulated.stderr)")
        let source = try Data(contentsOf: URL(fileURLWithPath: sourcePath))
        let lineCount = source.reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        #expect(lineCount >= Self.customers * 4, "simulate wrote \(lineCount) lines")

        // The baseline of the throughput note: reading the file at all.
        let catStarted = Date()
        _ = system("cat '\(sourcePath)' > /dev/null")
        let catSeconds = Date().timeIntervalSince(catStarted)

        // A writer appends the file in uneven chunks (cutting lines anywhere), as a logger would.
        // It holds back the file's last tenth until the daemon has been killed at least
        // `minimumKills` times, so that a fast machine cannot read the file before the kills.
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let writerDone = DispatchSemaphore(value: 0)
        let killCount = LockedCounters(count: 1)
        let minimumKills = 5
        Thread.detachNewThread {
            defer { writerDone.signal() }
            guard let handle = try? FileHandle(forWritingTo: URL(fileURLWithPath: logPath)) else { return }
            var rng = SplitMix(seed: 5)
            var offset = 0
            let heldBack = source.count - source.count / 10
            while offset < source.count {
                if offset >= heldBack {
                    let deadline = Date().addingTimeInterval(300)
                    while killCount.value(0) < minimumKills, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
                }
                let size = Int(rng.next() % (1 << 20)) + 1
                let end = min(offset + size, offset < heldBack ? heldBack : source.count)
                handle.write(source.subdata(in: offset..<end))
                offset = end
                Thread.sleep(forTimeInterval: Double(rng.next() % 50) / 1000)
            }
            try? handle.close()
        }

        let started = Date()
        try tailed.start()
        var rng = SplitMix(seed: 11)
        var kills = 0
        var writerFinished = false
        while true {
            Thread.sleep(forTimeInterval: 0.3 + Double(rng.next() % 2500) / 1000)
            if !writerFinished { writerFinished = writerDone.wait(timeout: .now()) == .success }
            if writerFinished, try Self.committedOffset(tailed, path: logPath) == Int64(source.count) { break }
            if kills < 12 {
                tailed.kill9()
                kills += 1
                killCount.set(0, kills)
                try tailed.start()
            }
            #expect(Date().timeIntervalSince(started) < 900, "the tailed file was not read completely in 15 minutes")
            if Date().timeIntervalSince(started) > 900 { return }
        }
        let tailSeconds = Date().timeIntervalSince(started)
        #expect(tailed.terminate() == 0)
        #expect(kills >= minimumKills, "only \(kills) kills happened before the file was read")

        // The clean replay of the same lines, in a database of its own.
        let clean = try DaemonHarness(journeyYAML: Self.journeyYAML)
        let replayed = try CommandRunner.run([
            "replay", "--config", clean.configPath, "--as-of", RFC3339Text.format(Date()), sourcePath,
        ])
        try #require(replayed.status == 0, "\(replayed.stderr)")
        let rebuilt = try CommandRunner.run(["rebuild", "--config", tailed.configPath])
        try #require(rebuilt.status == 0, "\(rebuilt.stderr)")

        for (name, sql) in Self.comparedTables {
            let a = try Self.digest(tailed, sql)
            let b = try Self.digest(clean, sql)
            #expect(a == b, "\(name) differs: tailed \(a), replayed \(b)")
        }
        let stored = try tailed.query(
            "SELECT (SELECT count(*) FROM cjm.events) + (SELECT count(*) FROM cjm.rejected_events)")
        let rows = try stored.int64(row: 0, column: 0) ?? 0
        let megabytes = Double(source.count) / 1e6
        print(
            """
            tail crash test: \(lineCount) lines (\(String(format: "%.0f", megabytes)) MB), \(rows) rows stored, \
            \(kills) × kill -9; tailed with crashes in \(String(format: "%.1f", tailSeconds)) s \
            (\(Int(Double(lineCount) / tailSeconds)) lines/s, \(String(format: "%.1f", megabytes / tailSeconds)) MB/s); \
            cat of the file: \(String(format: "%.3f", catSeconds)) s (\(String(format: "%.0f", megabytes / max(catSeconds, 1e-6))) MB/s)
            """)
    }

    static let journeyYAML = """
        personas:
          from: [traits.persona]
        journeys:
          - name: purchase
            conversion_window: 30d
            stages:
              - name: awareness
                events: [ad_impression, email_open, "landing_*"]
                abandon_after: 7d
              - name: consideration
                events: [product_view, compare]
                abandon_after: 3d
              - name: purchase
                events: [payment_done]
              - name: loyalty
                events: [repeat_purchase, review_posted]
            critical:
              events: [payment_failed, support_ticket, refund_requested]
              sentiment_below: -0.5
        """

    /// Tables whose content must match, as queries without run-specific columns (sequence,
    /// arrival time, source name, ids).
    static let comparedTables: [(String, String)] = [
        (
            "events",
            "SELECT event_id, customer_id, ts, event, touchpoint, sentiment, revenue, properties, journey, stages, persona FROM cjm.events"
        ),
        ("funnel_by_persona", "SELECT * FROM cjm.funnel_by_persona"),
        ("customer_personas", "SELECT * FROM cjm.customer_personas"),
        ("repeat_loop", "SELECT * FROM cjm.repeat_loop"),
        ("repeat_triggers", "SELECT * FROM cjm.repeat_triggers"),
        ("repeat_pending", "SELECT * FROM cjm.repeat_pending"),
        ("exit_points", "SELECT * FROM cjm.exit_points"),
        ("rejected_events", "SELECT reason, detail, raw FROM cjm.rejected_events"),
        ("journey_instances", "SELECT * FROM cjm.journey_instances"),
        ("critical_moments", "SELECT * FROM cjm.critical_moments"),
        ("funnel", "SELECT * FROM cjm.funnel"),
        ("touchpoints", "SELECT * FROM cjm.touchpoints"),
        ("stage_decisions", "SELECT * FROM cjm.stage_decisions"),
        (
            "alerts",
            "SELECT journey, stage_index, window_start, window_end, decided, rate, baseline_rate, fired_at, resolved_at FROM cjm.alerts"
        ),
    ]

    /// Row count and an order-independent hash of the rows (a sum of per-row hashes), computed
    /// in PostgreSQL; doubles rounded to 11 digits (sums depend on the order of addition).
    static func digest(_ harness: DaemonHarness, _ sql: String) throws -> String {
        let connection = try PostgresConnection(conninfo: harness.conninfo)
        defer { connection.close() }
        try connection.executeScript("SET extra_float_digits = -4")
        let result = try connection.execute(
            """
            SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0),
                   coalesce(sum(('x' || substr(md5(t::text), 16, 15))::bit(60)::bigint), 0)
            FROM (\(sql)) t
            """)
        return (0..<3).map { result.string(row: 0, column: $0) ?? "" }.joined(separator: "/")
    }

    static func committedOffset(_ harness: DaemonHarness, path: String) throws -> Int64? {
        let result = try harness.query(
            """
            SELECT max("offset") FROM cjm.source_checkpoints WHERE source = 'tail-crash' AND path = '\(path)'
            """)
        return try result.int64(row: 0, column: 0)
    }
}

/// RFC 3339 in UTC with seconds, for command-line arguments.
enum RFC3339Text {
    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
