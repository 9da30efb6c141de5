import Foundation
import Testing

/// Clients that close their sending side after `{"ack": true}` (as `nc -N`, `socat` and
/// "send a file, wait for the answer" scripts do) still get every acknowledgement they
/// asked for, then the end of the connection.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct HalfCloseTests {
    static func lines(_ prefix: String, _ range: Range<Int>) -> String {
        let base = Date().addingTimeInterval(-60)
        return range.map {
            DaemonTests.line(
                "\(prefix)-\($0)", customer: "hc-\($0 % 5)", event: "visit",
                at: base.addingTimeInterval(Double($0) * 0.001))
        }.joined()
    }

    static func storedCount(_ daemon: DaemonHarness, prefix: String) throws -> Int {
        let result = try daemon.query("SELECT count(*) FROM cjm.events WHERE event_id LIKE '\(prefix)-%'")
        return Int(result.string(row: 0, column: 0) ?? "") ?? -1
    }

    @Test func bothSocketKindsAnswerAHalfClosedClientThenClose() throws {
        let daemon = try DaemonHarness(journeyYAML: DaemonTests.journey)
        try daemon.start()
        for (kind, client) in [
            ("unix", try LineClient(unixPath: daemon.socketPath)),
            ("tcp", try LineClient(tcpPort: daemon.tcpPort)),
        ] {
            try client.send(Self.lines(kind, 0..<25) + "{\"ack\": true}\n")
            client.shutdownSending()
            #expect(try client.readToEnd() == "{\"acked\": 25}\n", "\(kind)")
            #expect(try Self.storedCount(daemon, prefix: kind) == 25, "\(kind): acknowledged means stored")
        }
        #expect(daemon.terminate() == 0, "\(daemon.log())")
    }

    @Test func aLastLineWithoutNewlineIsALineAtTheEndOfInput() throws {
        let daemon = try DaemonHarness(journeyYAML: DaemonTests.journey)
        try daemon.start()
        for (kind, client) in [
            ("unix", try LineClient(unixPath: daemon.socketPath)),
            ("tcp", try LineClient(tcpPort: daemon.tcpPort)),
        ] {
            // Three lines, a request, a fourth line without a newline, then a request without one.
            let last = Self.lines(kind, 3..<4).dropLast()
            try client.send(Self.lines(kind, 0..<3) + "{\"ack\": true}\n" + last + "\n{\"ack\": true}")
            client.shutdownSending()
            #expect(try client.readToEnd() == "{\"acked\": 3}\n{\"acked\": 4}\n", "\(kind)")
            #expect(try Self.storedCount(daemon, prefix: kind) == 4, "\(kind)")

            let unterminated = try LineClient(unixPath: daemon.socketPath)
            try unterminated.send("{\"ack\": true}\n" + Self.lines("\(kind)u", 0..<1).dropLast())
            unterminated.shutdownSending()
            #expect(try unterminated.readToEnd() == "{\"acked\": 0}\n")
        }
        // The unterminated lines arrive without an acknowledgement; they are committed all the same.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline,
            try Self.storedCount(daemon, prefix: "unixu") + Self.storedCount(daemon, prefix: "tcpu") < 2
        {
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(try Self.storedCount(daemon, prefix: "unixu") == 1)
        #expect(try Self.storedCount(daemon, prefix: "tcpu") == 1)
        #expect(daemon.terminate() == 0, "\(daemon.log())")
    }

    /// The database goes away after the client half-closed: the acknowledgement comes once it
    /// is back, not before, and the idle timeout does not close the waiting client.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_CLUSTER_DIR"] != nil))
    func theAcknowledgementWaitsForTheDatabaseToReturn() throws {
        let clusterDir = try #require(ProcessInfo.processInfo.environment["CJM_TEST_CLUSTER_DIR"])
        let daemon = try DaemonHarness(
            journeyYAML: DaemonTests.journey,
            ingestYAML: """
                ingest:
                  idle_timeout: 1s
                """)
        try daemon.start()
        let outage = try ClusterOutage(clusterDir: clusterDir)
        let unix = try LineClient(unixPath: daemon.socketPath)
        let tcp = try LineClient(tcpPort: daemon.tcpPort)
        try unix.send(Self.lines("away-u", 0..<40) + "{\"ack\": true}\n")
        try tcp.send(Self.lines("away-t", 0..<30) + "{\"ack\": true}\n")
        unix.shutdownSending()
        tcp.shutdownSending()
        Thread.sleep(forTimeInterval: 3)
        #expect(unix.nothingToRead() && tcp.nothingToRead(), "no acknowledgement while nothing can be committed")
        #expect(outage.end())
        #expect(try unix.readToEnd() == "{\"acked\": 40}\n")
        #expect(try tcp.readToEnd() == "{\"acked\": 30}\n")
        #expect(try Self.storedCount(daemon, prefix: "away-u") == 40)
        #expect(try Self.storedCount(daemon, prefix: "away-t") == 30)
        #expect(daemon.terminate() == 0, "\(daemon.log())")
    }

    /// Shutdown while the database is away: after `--drain-timeout` the half-closed client's
    /// connection is closed without an acknowledgement, so it knows to send again.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_CLUSTER_DIR"] != nil))
    func aShutdownDuringAnOutageClosesWithoutAnAcknowledgement() throws {
        let clusterDir = try #require(ProcessInfo.processInfo.environment["CJM_TEST_CLUSTER_DIR"])
        let daemon = try DaemonHarness(journeyYAML: DaemonTests.journey)
        try daemon.start(arguments: ["--drain-timeout", "2"])
        let outage = try ClusterOutage(clusterDir: clusterDir)
        let client = try LineClient(tcpPort: daemon.tcpPort)
        try client.send(Self.lines("gone", 0..<20) + "{\"ack\": true}\n")
        client.shutdownSending()
        Thread.sleep(forTimeInterval: 1)
        let status = daemon.terminate(timeout: 45)
        #expect(try client.readToEnd() == "", "closed with no acknowledgement")
        #expect(outage.end())
        #expect(status == 69, "\(daemon.log())")
        #expect(try Self.storedCount(daemon, prefix: "gone") == 0)
    }

    /// The example of docs/events.md, run as written with Debian's netcat (`netcat-openbsd`),
    /// pointed at the test daemon's socket.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/nc")))
    func theDocumentedNetcatExampleGetsItsAcknowledgement() throws {
        let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../docs/events.md").standardized
        let command = try #require(
            Self.netcatExample(in: try String(contentsOf: page, encoding: .utf8)),
            "docs/events.md shows a command piped into `nc -N -U`")
        let daemon = try DaemonHarness(journeyYAML: DaemonTests.journey)
        try daemon.start()
        let output = try Self.shell(command.replacingOccurrences(of: "/run/cjmd/events.sock", with: daemon.socketPath))
        #expect(output == "{\"acked\": 1}\n", "command: \(command)")
        #expect(daemon.terminate() == 0, "\(daemon.log())")
    }

    /// The shell command of a page whose last part is `nc -N -U …`, with its continuation
    /// lines, without the trailing comment.
    static func netcatExample(in page: String) -> String? {
        let lines = page.components(separatedBy: "\n")
        guard let end = lines.firstIndex(where: { $0.contains("nc -N -U") }) else { return nil }
        var start = end
        while start > 0, lines[start - 1].hasSuffix("\\") { start -= 1 }
        var command = lines[start...end].joined(separator: "\n")
        if command.hasPrefix("$ ") { command.removeFirst(2) }
        if let comment = command.range(of: " #", options: .backwards),
            comment.lowerBound > command.range(of: "nc -N -U")!.lowerBound
        {
            command = String(command[..<comment.lowerBound])
        }
        return command
    }

    static func shell(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", command]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

}

/// The test cluster stopped for a test: ``end()`` starts it again, and so does the end of
/// the value's life if the test did not get that far.
final class ClusterOutage {
    private let clusterDir: String
    private let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../scripts/pg-cluster.sh").standardized.path
    private var ended = false

    init(clusterDir: String) throws {
        self.clusterDir = clusterDir
        try #require(DaemonSystemdTests.run(["bash", script, "stop", clusterDir]) == 0, "the test cluster stops")
    }

    /// Starts the cluster again; returns whether it started.
    @discardableResult
    func end() -> Bool {
        guard !ended else { return true }
        ended = true
        return DaemonSystemdTests.run(["bash", script, "start", clusterDir, "--fast", "--database", "cjm_test"]) == 0
    }

    deinit { end() }
}
