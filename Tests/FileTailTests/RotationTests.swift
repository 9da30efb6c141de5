import FileTail
import Testing

@Suite("Rotation, truncation and deletion")
struct RotationTests {
    @Test("rename rotation: the old file is read to its end first, the new one from 0, nothing lost or repeated")
    func renameRotation() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        let rotated = directory.file("events.ndjson.1")
        let writer = try LogWriter(path)
        writer.write(joinedLines(numberedLines("old", 0..<5)))
        let follower = FileFollower(
            pattern: path, startAtBeginning: true, checkpoints: [], maxLineBytes: 1024,
            logger: quietLogger, drainGraceSeconds: 0)
        defer { follower.close() }
        var collected = Collected()
        try collected.pollUntilQuiet(follower)
        let oldIdentity = try fileIdentity(path)

        writer.write(joinedLines(numberedLines("old", 5..<8)))
        try renameFile(path, rotated)
        // The writer has not reopened yet: its next lines still go to the rotated file.
        writer.write(joinedLines(numberedLines("old", 8..<10)) + "old-unfinished")
        let newWriter = try LogWriter(path)
        newWriter.write(joinedLines(numberedLines("new", 0..<3)))

        let first = try follower.poll()
        collected.apply(first)
        #expect(first.reads.first?.file.identity == oldIdentity, "the rotated file is read first")
        #expect(first.reads.first?.file.path == rotated, "its checkpoint names where it went")
        #expect(first.forgotten.isEmpty, "kept open for at least one more poll")
        try collected.pollUntilQuiet(follower)

        let expectedOld = numberedLines("old", 0..<10) + ["old-unfinished"]
        #expect(
            collected.linesByFile[oldIdentity] == expectedOld,
            "a never-finished last line is handed out when the file is closed")
        #expect(collected.linesByFile[try fileIdentity(path)] == numberedLines("new", 0..<3))
        #expect(collected.lines.count == expectedOld.count + 3)
        #expect(collected.forgotten == [oldIdentity])
        #expect(collected.checkpoints[oldIdentity] == nil)
        #expect(follower.openFileCount == 1)
        writer.close()
        newWriter.close()
        #expect(
            openDescriptors(in: directory.path) == 1, "ours for the old file is closed, the one for the new file open")
    }

    @Test("a rotation noticed by a poll that finds nothing new keeps the old file for one more poll")
    func lateWriteAfterRotationNoticed() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        let writer = try LogWriter(path)
        writer.write("a-0\n")
        let follower = FileFollower(
            pattern: path, startAtBeginning: true, checkpoints: [], maxLineBytes: 1024,
            logger: quietLogger, drainGraceSeconds: 0)
        defer { follower.close() }
        var collected = Collected()
        try collected.pollUntilQuiet(follower)
        try renameFile(path, directory.file("events.ndjson.1"))
        let noticed = try follower.poll()
        collected.apply(noticed)
        #expect(noticed.forgotten.isEmpty)
        #expect(follower.drainingFileCount == 1)
        writer.write("a-1\n")  // the writer has not reopened yet
        try collected.pollUntilQuiet(follower)
        #expect(collected.lines == ["a-0", "a-1"])
        #expect(collected.forgotten.count == 1)
    }

    @Test("a glob that also matches rotated names follows the same file under its new name without re-reading it")
    func globMatchingRotatedNames() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        let writer = try LogWriter(path)
        writer.write(joinedLines(numberedLines("a", 0..<4)))
        let follower = FileFollower(
            pattern: directory.file("events.ndjson*"), startAtBeginning: true, checkpoints: [],
            maxLineBytes: 1024, logger: quietLogger, drainGraceSeconds: 0)
        defer { follower.close() }
        var collected = Collected()
        try collected.pollUntilQuiet(follower)
        let first = try fileIdentity(path)

        for generation in 1...3 {
            writer.write(joinedLines(numberedLines("a", 4 * generation..<4 * generation + 4)))
            // logrotate: events.ndjson.N → .N+1, then events.ndjson → .1
            for older in stride(from: generation - 1, through: 1, by: -1) {
                try renameFile(directory.file("events.ndjson.\(older)"), directory.file("events.ndjson.\(older + 1)"))
            }
            try renameFile(path, directory.file("events.ndjson.1"))
            let next = try LogWriter(path)
            next.write("gen\(generation)-0\n")
            try collected.pollUntilQuiet(follower)
        }
        #expect(collected.linesByFile[first] == numberedLines("a", 0..<16))
        #expect(collected.checkpoints[first]?.path == directory.file("events.ndjson.3"))
        #expect(collected.lines.count == 16 + 3, "nothing read twice")
        #expect(collected.forgotten.isEmpty)
        #expect(follower.openFileCount == 4)

        // logrotate deletes the oldest: drained (nothing left) and forgotten.
        try removeFile(directory.file("events.ndjson.3"))
        try collected.pollUntilQuiet(follower)
        #expect(collected.forgotten == [first])
        #expect(follower.openFileCount == 3)
    }

    @Test("copytruncate: reading restarts at 0 of the new content, without duplicates, and says so")
    func copyTruncate() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        let writer = try LogWriter(path)
        writer.write(joinedLines(numberedLines("before", 0..<50)))
        let recorder = LogRecorder()
        let follower = FileFollower(
            pattern: path, startAtBeginning: true, checkpoints: [], maxLineBytes: 1024,
            logger: recorder.logger, drainGraceSeconds: 0)
        defer { follower.close() }
        var collected = Collected()
        try collected.pollUntilQuiet(follower)

        try copyFile(path, to: directory.file("events.ndjson.1"))
        try truncateFile(path)
        writer.write(joinedLines(numberedLines("after", 0..<3)))
        try collected.pollUntilQuiet(follower)
        #expect(collected.lines == numberedLines("before", 0..<50) + numberedLines("after", 0..<3))
        #expect(
            collected.checkpoints[try fileIdentity(path)]?.offset
                == Int64(joinedLines(numberedLines("after", 0..<3)).utf8.count))
        #expect(recorder.messages(atLeast: .notice).contains { $0.contains("truncated") })

        // New content longer than the old offset: only the changed first bytes tell.
        try truncateFile(path)
        writer.write(joinedLines(numberedLines("third", 0..<40)))
        try collected.pollUntilQuiet(follower)
        #expect(collected.lines.suffix(40) == ArraySlice(numberedLines("third", 0..<40)))
        #expect(collected.lines.count == 50 + 3 + 40)
        #expect(recorder.messages(atLeast: .notice).contains { $0.contains("first bytes changed") })
    }

    @Test("plain truncation: restart at 0, a partial line before it is dropped, no duplicates")
    func plainTruncation() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        let writer = try LogWriter(path)
        writer.write(joinedLines(numberedLines("x", 0..<10)) + "partial")
        let follower = FileFollower(
            pattern: path, startAtBeginning: true, checkpoints: [], maxLineBytes: 1024, logger: quietLogger)
        defer { follower.close() }
        var collected = Collected()
        try collected.pollUntilQuiet(follower)
        try truncateFile(path)
        try collected.pollUntilQuiet(follower)
        let identity = try fileIdentity(path)
        #expect(collected.checkpoints[identity]?.offset == 0, "the restart at 0 is reported")
        #expect(collected.checkpoints[identity]?.fingerprint.hasPrefix("0:") == true)
        writer.write("y-0\ny-1\n")
        try collected.pollUntilQuiet(follower)
        #expect(collected.lines == numberedLines("x", 0..<10) + ["y-0", "y-1"])
    }

    @Test("a deleted file is drained from its descriptor, then closed and forgotten")
    func deletion() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        let writer = try LogWriter(path)
        writer.write(joinedLines(numberedLines("d", 0..<3)))
        let follower = FileFollower(
            pattern: path, startAtBeginning: true, checkpoints: [], maxLineBytes: 1024,
            logger: quietLogger, drainGraceSeconds: 0)
        defer { follower.close() }
        var collected = Collected()
        try collected.pollUntilQuiet(follower)
        let identity = try fileIdentity(path)
        #expect(openDescriptors(in: directory.path) == 2)

        writer.write(joinedLines(numberedLines("d", 3..<5)))
        try removeFile(path)
        writer.write(joinedLines(numberedLines("d", 5..<7)))
        let drained = try follower.poll()
        collected.apply(drained)
        #expect(drained.forgotten.isEmpty)
        #expect(collected.lines == numberedLines("d", 0..<7))
        try collected.pollUntilQuiet(follower)
        #expect(collected.forgotten == [identity])
        #expect(collected.checkpoints.isEmpty)
        writer.close()
        #expect(openDescriptors(in: directory.path) == 0, "no descriptor left on the deleted file")
    }

    @Test("a rotated file stays open for the drain grace time, then is closed")
    func drainGraceTime() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        try append(path, "one\n")
        let follower = FileFollower(
            pattern: path, startAtBeginning: true, checkpoints: [], maxLineBytes: 1024,
            logger: quietLogger, drainGraceSeconds: 0.3)
        defer { follower.close() }
        var collected = Collected()
        try collected.pollUntilQuiet(follower)
        try renameFile(path, directory.file("events.ndjson.1"))
        let started = monotonicNow()
        var lateLines: [String] = []
        while collected.forgotten.isEmpty, monotonicNow() - started < 10 {
            collected.apply(try follower.poll())
            if collected.forgotten.isEmpty {
                if monotonicNow() - started < 0.15 {
                    let late = "late-\(lateLines.count)"
                    lateLines.append(late)
                    try append(directory.file("events.ndjson.1"), late + "\n")
                }
                follower.waitForChanges(timeoutSeconds: 0.05)
            }
        }
        #expect(monotonicNow() - started >= 0.3)
        #expect(collected.forgotten.count == 1)
        // Every line a lagging writer put in the rotated file before it was closed was read.
        #expect(lateLines.count > 1)
        #expect(collected.lines == ["one"] + lateLines)
    }
}
