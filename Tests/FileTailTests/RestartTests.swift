import FileTail
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Restarts and start positions")
struct RestartTests {
    @Test("a new follower resumes at a mid-file checkpoint, at the start of a partial tail line")
    func restartWithPartialTail() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        let writer = try LogWriter(path)
        writer.write(joinedLines(numberedLines("r", 0..<5)) + "{\"half")
        var collected = Collected()
        do {
            let follower = FileFollower(
                pattern: path, startAtBeginning: true, checkpoints: [], maxLineBytes: 1024, logger: quietLogger)
            try collected.pollUntilQuiet(follower)
            follower.close()
        }
        let identity = try fileIdentity(path)
        let stored = try #require(collected.checkpoints[identity])
        #expect(stored.offset == Int64(joinedLines(numberedLines("r", 0..<5)).utf8.count))

        writer.write("\":1}\n" + joinedLines(numberedLines("r", 5..<7)))
        let restarted = FileFollower(
            pattern: path, startAtBeginning: false, checkpoints: Array(collected.checkpoints.values),
            maxLineBytes: 1024, logger: quietLogger)
        defer { restarted.close() }
        let first = try restarted.poll()
        collected.apply(first)
        try collected.pollUntilQuiet(restarted)
        #expect(collected.lines == numberedLines("r", 0..<5) + ["{\"half\":1}"] + numberedLines("r", 5..<7))
        #expect(first.reads.first?.lines.first.map { String(decoding: $0.bytes, as: UTF8.self) } == "{\"half\":1}")
    }

    @Test("inode reuse: a checkpoint with the file's device and inode but other first bytes starts at 0")
    func inodeReuse() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        try append(path, joinedLines(numberedLines("stale", 0..<20)))
        var collected = Collected()
        do {
            let follower = FileFollower(
                pattern: path, startAtBeginning: true, checkpoints: [], maxLineBytes: 1024, logger: quietLogger)
            try collected.pollUntilQuiet(follower)
            follower.close()
        }
        let identity = try fileIdentity(path)
        // Same inode, other content, longer than the stored offset: only the fingerprint differs.
        try truncateFile(path)
        let fresh = numberedLines("fresh", 0..<30)
        try append(path, joinedLines(fresh))
        #expect(try fileIdentity(path) == identity)

        let recorder = LogRecorder()
        var after = Collected()
        let restarted = FileFollower(
            pattern: path, startAtBeginning: true, checkpoints: Array(collected.checkpoints.values),
            maxLineBytes: 1024, logger: recorder.logger)
        defer { restarted.close() }
        try after.pollUntilQuiet(restarted)
        #expect(after.lines == fresh)
        #expect(after.checkpoints[identity]?.offset == Int64(joinedLines(fresh).utf8.count))
        #expect(recorder.messages(atLeast: .notice).contains { $0.contains("not the file its checkpoint describes") })
    }

    @Test("a file replaced while stopped is read from 0 and the old checkpoint is forgotten")
    func replacedWhileStopped() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        try append(path, joinedLines(numberedLines("old", 0..<10)))
        var collected = Collected()
        do {
            let follower = FileFollower(
                pattern: path, startAtBeginning: true, checkpoints: [], maxLineBytes: 1024, logger: quietLogger)
            try collected.pollUntilQuiet(follower)
            follower.close()
        }
        let oldIdentity = try fileIdentity(path)
        // Moved out of its directory (kept alive so that the new file cannot get its inode):
        // as good as deleted for the follower, which only searches the checkpoint's directory.
        let elsewhere = directory.file("elsewhere")
        try #require(mkdir(elsewhere, 0o755) == 0)
        try renameFile(path, elsewhere + "/events.ndjson")
        try append(path, joinedLines(numberedLines("new", 0..<4)))

        var after = Collected()
        let restarted = FileFollower(
            pattern: path, startAtBeginning: false, checkpoints: Array(collected.checkpoints.values),
            maxLineBytes: 1024, logger: quietLogger)
        defer { restarted.close() }
        try after.pollUntilQuiet(restarted)
        #expect(after.lines == numberedLines("new", 0..<4), "start_at: end does not apply: the source has checkpoints")
        #expect(after.forgotten == [oldIdentity])
    }

    @Test("a file rotated while stopped is found by inode in its directory and drained from its checkpoint")
    func rotatedWhileStopped() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        let writer = try LogWriter(path)
        writer.write(joinedLines(numberedLines("a", 0..<6)))
        var collected = Collected()
        do {
            let follower = FileFollower(
                pattern: path, startAtBeginning: true, checkpoints: [], maxLineBytes: 1024, logger: quietLogger)
            try collected.pollUntilQuiet(follower)
            follower.close()
        }
        let oldIdentity = try fileIdentity(path)
        writer.write(joinedLines(numberedLines("a", 6..<9)) + "a-9-unfinished")
        try renameFile(path, directory.file("events.ndjson-20250101"))
        try append(path, joinedLines(numberedLines("b", 0..<2)))

        var after = Collected()
        let restarted = FileFollower(
            pattern: path, startAtBeginning: true, checkpoints: Array(collected.checkpoints.values),
            maxLineBytes: 1024, logger: quietLogger, drainGraceSeconds: 0)
        defer { restarted.close() }
        let first = try restarted.poll()
        after.apply(first)
        #expect(first.reads.first?.file.identity == oldIdentity)
        #expect(first.reads.first?.file.path == directory.file("events.ndjson-20250101"))
        try after.pollUntilQuiet(restarted)
        #expect(after.linesByFile[oldIdentity] == numberedLines("a", 6..<9) + ["a-9-unfinished"])
        #expect(after.linesByFile[try fileIdentity(path)] == numberedLines("b", 0..<2))
        #expect(after.forgotten == [oldIdentity])
        #expect(restarted.openFileCount == 1)
    }

    @Test("start_at end: first run starts at the end of the last complete line; later files at 0")
    func startAtEndFirstRun() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("a.ndjson")
        let writer = try LogWriter(path)
        let history = joinedLines(numberedLines("history", 0..<100))
        writer.write(history + "{\"being\":")
        let follower = FileFollower(
            pattern: directory.file("*.ndjson"), startAtBeginning: false, checkpoints: [],
            maxLineBytes: 1024, logger: quietLogger)
        defer { follower.close() }
        let first = try follower.poll()
        var collected = Collected()
        collected.apply(first)
        let identity = try fileIdentity(path)
        #expect(first.reads.count == 1)
        #expect(first.reads.first?.lines.isEmpty == true, "only the start checkpoint")
        #expect(first.reads.first?.file.offset == Int64(history.utf8.count))

        writer.write("\"written\"}\nnext\n")
        try append(directory.file("b.ndjson"), "b-0\nb-1\n")
        try collected.pollUntilQuiet(follower)
        #expect(
            collected.linesByFile[identity] == ["{\"being\":\"written\"}", "next"],
            "the partial line is read when it completes")
        #expect(
            collected.linesByFile[try fileIdentity(directory.file("b.ndjson"))] == ["b-0", "b-1"],
            "a file found later is read whole")
    }

    @Test("start_at end with stored checkpoints: a file without its own checkpoint starts at 0")
    func startAtEndLaterRun() throws {
        let directory = try TemporaryDirectory()
        let known = directory.file("a.ndjson")
        try append(known, "a-0\n")
        var collected = Collected()
        do {
            let follower = FileFollower(
                pattern: directory.file("*.ndjson"), startAtBeginning: false, checkpoints: [],
                maxLineBytes: 1024, logger: quietLogger)
            try collected.pollUntilQuiet(follower)
            follower.close()
        }
        #expect(collected.lines.isEmpty, "first run at the end")
        try append(known, "a-1\n")
        try append(directory.file("b.ndjson"), "b-0\n")
        let restarted = FileFollower(
            pattern: directory.file("*.ndjson"), startAtBeginning: false,
            checkpoints: Array(collected.checkpoints.values), maxLineBytes: 1024, logger: quietLogger)
        defer { restarted.close() }
        try collected.pollUntilQuiet(restarted)
        #expect(collected.lines.sorted() == ["a-1", "b-0"])
    }
}
