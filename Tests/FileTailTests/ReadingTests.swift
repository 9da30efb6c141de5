import FileTail
import Testing

@Suite("Reading lines")
struct ReadingTests {
    @Test("lines spanning 256 KiB read chunks come out whole with exact end offsets")
    func linesAcrossChunkBoundaries() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        // Lengths chosen so that many lines straddle chunk boundaries, one spans several chunks.
        var lines: [String] = []
        var seed: UInt64 = 42
        for index in 0..<3000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = index == 1500 ? 700_000 : Int(seed >> 33) % 900
            lines.append("\(index):" + String(repeating: "x", count: length))
        }
        lines.append("crlf-line\r")
        try append(path, joinedLines(lines))

        let follower = FileFollower(
            pattern: path, startAtBeginning: true, checkpoints: [], maxLineBytes: 1 << 20,
            logger: quietLogger, readBudgetBytes: 1 << 20)
        defer { follower.close() }
        var collected = Collected()
        try collected.pollUntilQuiet(follower)

        var expectedEnds: [Int64] = []
        var end: Int64 = 0
        for line in lines {
            end += Int64(line.utf8.count + 1)
            expectedEnds.append(end)
        }
        let identity = try fileIdentity(path)
        #expect(collected.lines.count == lines.count)
        #expect(Array(collected.lines.dropLast()) == Array(lines.dropLast()))
        #expect(collected.lines.last == "crlf-line", "one \\r before \\n is dropped")
        #expect(collected.endOffsets[identity] == expectedEnds)
        #expect(collected.checkpoints[identity]?.offset == end)
        let budget: Int64 = 1 << 20
        #expect(
            collected.polls > Int((end + budget - 1) / budget), "a 1 MiB budget needs several polls for \(end) bytes")
    }

    @Test("a partial last line waits for its newline; the checkpoint stays before it")
    func partialLineThenCompletion() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        let writer = try LogWriter(path)
        writer.write("first\n{\"half\":")
        let follower = FileFollower(
            pattern: path, startAtBeginning: true, checkpoints: [], maxLineBytes: 1024, logger: quietLogger)
        defer { follower.close() }
        var collected = Collected()
        try collected.pollUntilQuiet(follower)
        let identity = try fileIdentity(path)
        #expect(collected.lines == ["first"])
        #expect(collected.checkpoints[identity]?.offset == 6)

        writer.write("1}\nthird")
        try collected.pollUntilQuiet(follower)
        #expect(collected.lines == ["first", "{\"half\":1}"])
        #expect(collected.checkpoints[identity]?.offset == 17)
        #expect(collected.endOffsets[identity] == [6, 17])
    }

    @Test("a 10 MB line with max_line_bytes 1 KiB is reported once, cut, with its length, in bounded memory")
    func overLongLine() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        let writer = try LogWriter(path)
        writer.write("before\n")
        let follower = FileFollower(
            pattern: path, startAtBeginning: true, checkpoints: [], maxLineBytes: 1024,
            logger: quietLogger, readBudgetBytes: 1 << 20)
        defer { follower.close() }
        var collected = Collected()
        try collected.pollUntilQuiet(follower)

        let length = 10_000_000
        var written = 0
        let block = [UInt8](repeating: UInt8(ascii: "y"), count: 1 << 20)
        var largestBuffer = 0
        while written < length {
            let count = min(block.count, length - written)
            writer.write(Array(block[..<count]))
            written += count
            // Read as it is written: the line is never complete before the end.
            try collected.pollUntilQuiet(follower)
            largestBuffer = max(largestBuffer, follower.pendingLineBufferBytes)
        }
        writer.write("\nafter\n")
        try collected.pollUntilQuiet(follower)

        #expect(collected.lines.count == 3)
        #expect(collected.lines.first == "before")
        #expect(collected.lines.last == "after")
        #expect(collected.overLong.count == 1)
        let long = try #require(collected.overLong.first)
        #expect(long.overLongLength == Int64(length))
        #expect(long.bytes == [UInt8](repeating: UInt8(ascii: "y"), count: 1024))
        #expect(long.endOffset == Int64(7 + length + 1))
        #expect(largestBuffer > 0, "the line was pending between polls")
        #expect(largestBuffer <= 2 * 1024, "the framer keeps at most ~2 × max_line_bytes of a long line")
    }

    @Test("the read budget bounds one poll; waitForChanges returns at once while bytes are left")
    func readBudget() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        let lines = numberedLines("line", 0..<10_000)
        try append(path, joinedLines(lines))
        let budget = 16 << 10
        let follower = FileFollower(
            pattern: path, startAtBeginning: true, checkpoints: [], maxLineBytes: 1024,
            logger: quietLogger, readBudgetBytes: budget)
        defer { follower.close() }
        var collected = Collected()
        var polls = 0
        repeat {
            let outcome = try follower.poll()
            collected.apply(outcome)
            polls += 1
            let offset = outcome.reads.last?.file.offset ?? 0
            #expect(offset <= Int64(polls * budget), "no poll reads more than its budget")
            if follower.hasUnreadBytes {
                let started = monotonicNow()
                follower.waitForChanges(timeoutSeconds: 30)
                #expect(monotonicNow() - started < 5, "bytes were left unread: no wait")
            }
        } while follower.hasUnreadBytes && polls < 1000
        #expect(polls > 3)
        #expect(collected.lines == lines)
    }

    @Test("the fingerprint grows with a file shorter than 1 KiB, then stays at 1024 bytes")
    func fingerprintGrows() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        let writer = try LogWriter(path)
        writer.write("short\n")
        let follower = FileFollower(
            pattern: path, startAtBeginning: true, checkpoints: [], maxLineBytes: 4096, logger: quietLogger)
        defer { follower.close() }
        var collected = Collected()
        try collected.pollUntilQuiet(follower)
        let identity = try fileIdentity(path)
        #expect(collected.checkpoints[identity]?.fingerprint.hasPrefix("6:") == true)

        writer.write(String(repeating: "z", count: 100) + "\n")
        try collected.pollUntilQuiet(follower)
        #expect(collected.checkpoints[identity]?.fingerprint.hasPrefix("107:") == true)

        writer.write(String(repeating: "w", count: 2000) + "\n")
        try collected.pollUntilQuiet(follower)
        let fingerprint = try #require(collected.checkpoints[identity]?.fingerprint)
        #expect(fingerprint.hasPrefix("1024:"))
        #expect(fingerprint.count == "1024:".count + 32, "16 bytes of SHA-256 in hex")
    }

    @Test("many files matched by one glob are all followed, files appearing later too")
    func manyFiles() throws {
        let directory = try TemporaryDirectory()
        for index in 0..<150 {
            try append(directory.file("shard-\(index).ndjson"), joinedLines(numberedLines("s\(index)", 0..<20)))
        }
        try append(directory.file("ignored.log"), "not matched\n")
        try append(directory.file(".hidden.ndjson"), "not matched either\n")
        let follower = FileFollower(
            pattern: directory.file("*.ndjson"), startAtBeginning: true, checkpoints: [],
            maxLineBytes: 1024, logger: quietLogger)
        defer { follower.close() }
        var collected = Collected()
        try collected.pollUntilQuiet(follower)
        #expect(collected.lines.count == 150 * 20)
        #expect(collected.linesByFile.count == 150)
        #expect(follower.openFileCount == 150)
        #expect(openDescriptors(in: directory.path) == 150)
        for index in 0..<150 {
            let lines = collected.linesByFile[try fileIdentity(directory.file("shard-\(index).ndjson"))]
            #expect(lines == numberedLines("s\(index)", 0..<20))
        }

        try append(directory.file("late.ndjson"), "late-0\n")
        try collected.pollUntilQuiet(follower)
        #expect(collected.lines.last == "late-0")
        #expect(follower.openFileCount == 151)

        follower.close()
        #expect(openDescriptors(in: directory.path) == 0, "close() releases every descriptor")
    }
}
