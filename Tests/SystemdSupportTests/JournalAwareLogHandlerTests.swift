import Dispatch
import Foundation
import Logging
import SystemdSupport
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite("journald-aware log lines written to a real pipe")
struct JournalAwareLogHandlerTests {
    private func logger(_ pipe: CapturePipe, style: LogOutput.Style, level: Logger.Level = .trace) -> Logger {
        let output = LogOutput(fileDescriptor: pipe.writeEnd, style: style)
        return Logger(label: "cjmd.test") { label in
            JournalAwareLogHandler(label: label, output: output, logLevel: level)
        }
    }

    @Test("journal lines carry the sd-daemon priority of each level and no timestamp")
    func journalPriorities() throws {
        let pipe = try CapturePipe()
        let log = logger(pipe, style: .journal)
        log.trace("t")
        log.debug("d")
        log.info("i")
        log.notice("n")
        log.warning("w")
        log.error("e")
        log.critical("c")
        #expect(
            pipe.readAvailable() == """
                <7>cjmd.test: t
                <7>cjmd.test: d
                <6>cjmd.test: i
                <5>cjmd.test: n
                <4>cjmd.test: w
                <3>cjmd.test: e
                <2>cjmd.test: c

                """)
    }

    @Test("plain lines start with an ISO-8601 UTC timestamp with milliseconds and the level")
    func plainLines() throws {
        let pipe = try CapturePipe()
        let log = logger(pipe, style: .plain)
        log.warning("disk almost full", metadata: ["free": "3%"])
        let line = pipe.readAvailable()
        let pattern =
            /(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z warning cjmd\.test: disk almost full free=3%\n/
        let match = try #require(line.wholeMatch(of: pattern))
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        // The year the handler printed is this year in UTC (allowing for a New Year's Eve tick).
        let year = try #require(Int(match.output.1))
        #expect(abs(year - (Int(parts.tm_year) + 1900)) <= 1)
        #expect((1...12).contains(Int(match.output.2) ?? 0))
    }

    @Test("metadata is sorted by key, call metadata wins, and values with spaces or quotes are quoted")
    func metadataFormatting() throws {
        let pipe = try CapturePipe()
        var log = logger(pipe, style: .journal)
        log[metadataKey: "source"] = "tcp"
        log[metadataKey: "batch"] = "7"
        log.info(
            "committed",
            metadata: [
                "batch": "8",
                "note": "two words",
                "quote": "say \"hi\"",
                "empty": "",
                "list": .array(["a", "b"]),
                "count": .stringConvertible(42),
            ])
        #expect(
            pipe.readAvailable()
                == #"<6>cjmd.test: committed batch=8 count=42 empty="" list="[a, b]" note="two words" quote="say \"hi\"" source=tcp"#
                + "\n")
    }

    @Test("an attached error is rendered as error=…")
    func errorMetadata() throws {
        struct DiskFull: Error, CustomStringConvertible { var description: String { "disk full" } }
        let pipe = try CapturePipe()
        let log = logger(pipe, style: .journal)
        log.error("checkpoint failed", error: DiskFull())
        #expect(pipe.readAvailable() == "<3>cjmd.test: checkpoint failed error=\"disk full\"\n")
    }

    @Test("a multi-line message stays one line")
    func newlinesAreEscaped() throws {
        let pipe = try CapturePipe()
        let log = logger(pipe, style: .journal)
        log.info("first\nsecond\tthird\u{1B}", metadata: ["detail": "a\nb"])
        #expect(pipe.readAvailable() == #"<6>cjmd.test: first\nsecond\tthird\u001B detail=a\nb"# + "\n")
    }

    @Test("passwords never reach the output")
    func redaction() throws {
        let pipe = try CapturePipe()
        let log = logger(pipe, style: .journal)
        log.info(
            "connecting to postgresql://cjm:s3cret@db.example/cjm",
            metadata: [
                "password": "hunter2",
                "DB_PASSWORD": .stringConvertible(12345),
                "conninfo": "host=/run/postgresql dbname=cjm password='p w'",
                "nested": .dictionary(["password": "x1", "user": "cjm"]),
            ])
        let line = pipe.readAvailable()
        for secret in ["s3cret", "hunter2", "12345", "p w", "x1"] {
            #expect(!line.contains(secret), "\(secret) leaked: \(line)")
        }
        #expect(
            line
                == #"<6>cjmd.test: connecting to postgresql://cjm:***@db.example/cjm DB_PASSWORD=*** conninfo="host=/run/postgresql dbname=cjm password=***" nested="[password: ***, user: cjm]" password=***"#
                + "\n")
    }

    @Test("levels below the handler's are not written")
    func levelFiltering() throws {
        let pipe = try CapturePipe()
        let log = logger(pipe, style: .journal, level: .notice)
        log.info("hidden")
        log.notice("shown")
        #expect(pipe.readAvailable() == "<5>cjmd.test: shown\n")
    }

    @Test("metadata providers contribute context beneath the call's own metadata")
    func metadataProvider() throws {
        let pipe = try CapturePipe()
        let output = LogOutput(fileDescriptor: pipe.writeEnd, style: .journal)
        let provider = Logger.MetadataProvider { ["request": "r1", "stage": "provider"] }
        let log = Logger(label: "ctx") { label in
            JournalAwareLogHandler(label: label, output: output, metadataProvider: provider)
        }
        log.info("step", metadata: ["stage": "call"])
        #expect(pipe.readAvailable() == "<6>ctx: step request=r1 stage=call\n")
    }

    @Test("JOURNAL_STREAM selects journal style only when it names the output's device and inode")
    func journalStreamDetection() throws {
        let pipe = try CapturePipe()
        let matching = LogOutput.detecting(
            fileDescriptor: pipe.writeEnd, environment: ["JOURNAL_STREAM": pipe.journalStreamValue()])
        #expect(matching.style == .journal)

        let other = try CapturePipe()
        let inherited = LogOutput.detecting(
            fileDescriptor: pipe.writeEnd, environment: ["JOURNAL_STREAM": other.journalStreamValue()])
        #expect(inherited.style == .plain)
        #expect(LogOutput.detecting(fileDescriptor: pipe.writeEnd, environment: [:]).style == .plain)
        #expect(
            LogOutput.detecting(fileDescriptor: pipe.writeEnd, environment: ["JOURNAL_STREAM": "garbage"]).style
                == .plain)
    }

    @Test("lines from many threads never interleave on a stream socket like journald's")
    func concurrentLinesStayWhole() async throws {
        // systemd connects stderr to journald with an AF_UNIX stream socket; a small send buffer
        // makes the kernel accept long lines in parts, where unlocked writers would interleave.
        var ends: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, testStreamType, 0, &ends) == 0)
        let (readEnd, writeEnd) = (ends[0], ends[1])
        defer {
            close(readEnd)
            close(writeEnd)
        }
        var sendBuffer: Int32 = 4096
        setsockopt(writeEnd, SOL_SOCKET, SO_SNDBUF, &sendBuffer, socklen_t(MemoryLayout<Int32>.size))
        let output = LogOutput(fileDescriptor: writeEnd, style: .journal)
        let payload = String(repeating: "x", count: 100_000)
        let writers = 8
        let linesPerWriter = 20

        let expectedBytes = (0..<writers).reduce(0) { total, writer in
            total + (0..<linesPerWriter).reduce(0) { $0 + "<6>w\(writer): \($1) \(payload)\n".utf8.count }
        }

        // Read while writing, like journald: a full pipe would otherwise block the writers.
        let collected = MessageCollector()
        let readingDone = DispatchSemaphore(value: 0)
        // A dedicated thread: GCD's global queues share the Swift concurrency pool's threads on Linux.
        Thread.detachNewThread {
            var bytes: [UInt8] = []
            // Small reads keep the buffer full, so writers wait mid-line and others get a turn.
            var buffer = [UInt8](repeating: 0, count: 1024)
            bytes.reserveCapacity(expectedBytes)
            while bytes.count < expectedBytes {
                let count = read(readEnd, &buffer, buffer.count)
                guard count > 0 else { break }
                bytes.append(contentsOf: buffer[0..<count])
            }
            collected.append(String(decoding: bytes, as: UTF8.self))
            readingDone.signal()
        }
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    let log = Logger(label: "w\(writer)") { JournalAwareLogHandler(label: $0, output: output) }
                    for index in 0..<linesPerWriter { log.info("\(index) \(payload)") }
                }
            }
        }
        readingDone.wait()
        let text = try #require(collected.all.first)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == writers * linesPerWriter)
        let wellFormed = lines.filter { line in
            guard line.hasPrefix("<6>w"), line.hasSuffix(" " + payload) else { return false }
            return line.split(separator: " ").count == 3
        }
        #expect(wellFormed.count == lines.count)
    }
}
