import Foundation
import PostgresClient
import Testing

/// docs/reliability.md for `type: tail` sources, against the real binary and the test cluster: random
/// sequences of writes, partial lines, rotations, truncations, deletions, restarts and
/// `kill -9`; afterwards every complete line written is stored exactly once.
///
/// Every fourth line is garbage: rejected lines are not de-duplicated by event id, so a line
/// read twice shows as a second dead letter — the check for "nothing counted twice" cannot be
/// hidden by the event-id de-duplication.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct TailDaemonTests {
    static let journeyYAML = """
        journeys:
          - name: visits
            stages:
              - name: visited
                events: [visit]
              - name: bought
                events: [buy]
        """

    /// The model of one log file family: what was written, what must arrive.
    final class LogModel {
        let directory: URL
        let path: String
        let seed: UInt64
        var nextLine = 0
        var rotations = 0
        /// Complete lines written, valid (by event id) and garbage (by content).
        var validIDs: Set<String> = []
        var garbage: [String] = []
        /// Bytes of a partial last line, not yet completed.
        var partialTail: String? = nil
        /// Whether the daemon has read the file now at `path` (it knows its identity). A file
        /// that was never seen at its path and is renamed away cannot be found again unless
        /// the pattern matches the rotated name: the documented limit of rename rotation.
        var currentFileSeen = false

        init(directory: URL, seed: UInt64) {
            self.directory = directory
            self.path = directory.appendingPathComponent("events.ndjson").path
            self.seed = seed
        }

        func nextText() -> (text: String, id: String?) {
            nextLine += 1
            let n = nextLine
            if n % 4 == 0 { return ("garbage \(seed)-\(n) {not json", nil) }
            let id = "e\(seed)-\(n)"
            let second = 10 + n % 50
            return (
                "{\"event_id\":\"\(id)\",\"customer_id\":\"c\(n % 37)\",\"event\":\"\(n % 3 == 0 ? "buy" : "visit")\",\"ts\":\"2026-05-01T10:\(n % 50 + 10):\(second)Z\"}",
                id
            )
        }

        func append(_ text: String) throws {
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(text.utf8))
        }

        func writeLines(_ count: Int) throws {
            try completePartial()
            var text = ""
            for _ in 0..<count {
                let (line, id) = nextText()
                text += line + "\n"
                record(line, id: id)
            }
            try append(text)
        }

        func record(_ line: String, id: String?) {
            if let id { validIDs.insert(id) } else { garbage.append(line) }
        }

        func writePartial() throws {
            try completePartial()
            let (line, id) = nextText()
            let cut = line.index(line.startIndex, offsetBy: line.count / 2)
            try append(String(line[..<cut]))
            partialTail = String(line[cut...]) + "\n"
            record(line, id: id)
        }

        func completePartial() throws {
            guard let rest = partialTail else { return }
            partialTail = nil
            try append(rest)
        }

        func renameRotate() throws {
            try completePartial()
            rotations += 1
            guard FileManager.default.fileExists(atPath: path) else { return }
            try FileManager.default.moveItem(atPath: path, toPath: path + ".\(rotations)")
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            currentFileSeen = false
        }

        func copyTruncate() throws {
            try completePartial()
            rotations += 1
            guard FileManager.default.fileExists(atPath: path) else { return }
            try FileManager.default.copyItem(atPath: path, toPath: path + ".\(rotations)")
            truncate(path, 0)
        }

        func truncateInPlace() throws {
            try completePartial()
            guard FileManager.default.fileExists(atPath: path) else { return }
            truncate(path, 0)
        }

        func delete() throws {
            try completePartial()
            try? FileManager.default.removeItem(atPath: path)
            currentFileSeen = false
        }

        /// Lines a daemon must have stored by now (a partial line is not complete yet).
        var expectedCount: Int { validIDs.count + garbage.count - (partialTail == nil ? 0 : 1) }
    }

    static func makeHarness(_ directory: URL, startAt: String = "beginning") throws -> DaemonHarness {
        try DaemonHarness(
            journeyYAML: journeyYAML,
            ingestYAML: """
                ingest:
                  batch_max_delay: 50ms
                  allowed_lateness: 1s
                  max_future_skew: 3650d
                """,
            extraSourcesYAML: """
                  - type: tail
                    path: \(directory.appendingPathComponent("events.ndjson").path)
                    start_at: \(startAt)
                    name: tail-test
                """)
    }

    /// Waits until the database holds `expected` lines from the tail source (events plus dead
    /// letters); returns the count seen last.
    @discardableResult
    static func waitForLines(_ harness: DaemonHarness, expected: Int, timeout: TimeInterval = 20) throws -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        var seen = -1
        while Date() < deadline {
            let result = try harness.query(
                """
                SELECT (SELECT count(*) FROM cjm.events WHERE source = 'tail-test')
                     + (SELECT count(*) FROM cjm.rejected_events WHERE source = 'tail-test')
                """)
            seen = Int(try result.int64(row: 0, column: 0) ?? -1)
            if seen >= expected { return seen }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return seen
    }

    @Test(arguments: 1...8 as ClosedRange<UInt64>)
    func randomOperationsStoreEveryCompleteLineExactlyOnce(seed: UInt64) throws {
        var rng = SplitMix(seed: seed)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cjmd-tail-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = LogModel(directory: directory, seed: seed)
        let harness = try Self.makeHarness(directory)
        try model.writeLines(5)
        try harness.start()
        var running = true
        var operations: [String] = []
        for _ in 0..<40 {
            let choice = rng.next() % 100
            switch choice {
            case 0..<35:
                let n = Int(rng.next() % 40) + 1
                try model.writeLines(n)
                operations.append("write \(n)")
            case 35..<45:
                try model.writePartial()
                operations.append("partial")
            case 45..<55:
                // Rename rotation: the daemon must know the file (have seen it at its path),
                // or the renamed file is out of reach. While it runs, let it catch up first;
                // while it is stopped, only a file it knew can be rotated (it is found again
                // by its inode at the next start, "replaced while stopped").
                try model.completePartial()
                if running {
                    let seen = try Self.waitForLines(harness, expected: model.expectedCount)
                    #expect(seen == model.expectedCount, "seed \(seed) before rotate: \(operations)")
                    model.currentFileSeen = true
                } else if !model.currentFileSeen {
                    operations.append("(rotate skipped: file not seen)")
                    continue
                }
                try model.renameRotate()
                operations.append(running ? "rotate" : "rotate while stopped")
            case 55..<62, 62..<67, 67..<72:
                // Copytruncate, truncation and deletion lose lines written after the last read
                // (the documented window): make sure the daemon has read everything first.
                // While it is down there is nobody to read: then they happen to a read file only.
                try model.completePartial()
                if running {
                    let seen = try Self.waitForLines(harness, expected: model.expectedCount)
                    #expect(seen == model.expectedCount, "seed \(seed) before \(choice): \(operations)")
                    model.currentFileSeen = true
                } else {
                    operations.append("(skipped while stopped)")
                    continue
                }
                if choice < 62 {
                    try model.copyTruncate()
                    operations.append("copytruncate")
                } else if choice < 67 {
                    try model.truncateInPlace()
                    operations.append("truncate")
                } else {
                    try model.delete()
                    operations.append("delete")
                }
            case 72..<84:
                if running { _ = harness.terminate() } else { try harness.start() }
                running.toggle()
                operations.append(running ? "start" : "stop")
            default:
                if running {
                    // A crash at an arbitrary moment: right after writing, mid-commit perhaps.
                    try model.writeLines(Int(rng.next() % 200) + 1)
                    Thread.sleep(forTimeInterval: Double(rng.next() % 300) / 1000)
                    harness.kill9()
                    try harness.start()
                    operations.append("kill -9 + start")
                } else {
                    try harness.start()
                    running = true
                    operations.append("start")
                }
            }
        }
        try model.completePartial()
        if !running { try harness.start() }
        let seen = try Self.waitForLines(harness, expected: model.expectedCount)
        #expect(harness.terminate() == 0, "cjmd did not exit cleanly: \(harness.log().suffix(2000))")

        let events = try harness.query("SELECT event_id FROM cjm.events WHERE source = 'tail-test'")
        let stored = Set((0..<events.rowCount).compactMap { events.string(row: $0, column: 0) })
        #expect(
            stored == model.validIDs,
            "seed \(seed): missing \(model.validIDs.subtracting(stored).sorted().prefix(5)), ops \(operations)")
        let rejected = try harness.query(
            """
            SELECT convert_from(raw, 'UTF8'), count(*) FROM cjm.rejected_events WHERE source = 'tail-test' GROUP BY 1
            """)
        var deadLetters: [String: Int] = [:]
        for row in 0..<rejected.rowCount {
            deadLetters[rejected.string(row: row, column: 0) ?? ""] = Int(try rejected.int64(row: row, column: 1) ?? 0)
        }
        let twice = deadLetters.filter { $0.value > 1 }
        #expect(twice.isEmpty, "seed \(seed): read twice: \(twice.keys.sorted().prefix(5)), ops \(operations)")
        #expect(Set(deadLetters.keys) == Set(model.garbage), "seed \(seed): ops \(operations)")
        #expect(seen == model.expectedCount)
        print(
            "tail model seed \(seed): \(model.validIDs.count) events, \(model.garbage.count) dead letters, \(operations.count) operations: \(operations.joined(separator: ", "))"
        )
    }
}

/// A seeded generator (reproducible sequences).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) {
        // Mix the seed, so that nearby seeds give unrelated sequences.
        var z = seed &+ 0x2545_F491_4F6C_DD1D
        z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        z = (z ^ (z >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        state = z ^ (z >> 33)
    }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
