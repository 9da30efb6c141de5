import Foundation
import PostgresClient
import Testing

/// A `cjmd run` process against its own test database, with a Unix and a TCP source.
final class DaemonHarness: @unchecked Sendable {
    let conninfo: String
    let admin: PostgresConnection
    let databaseName: String
    let directory: URL
    let socketPath: String
    let tcpPort: Int
    let configPath: String
    var process: Process?
    let logPath: String

    /// - Parameters:
    ///   - extraSourcesYAML: more entries of `sources:` (indented by 2 spaces).
    ///   - unixSourceExtraYAML: one more key of the Unix source (e.g. `forward_to: bus`).
    ///   - tcpSourceExtraYAML: one more key of the TCP source.
    ///   - tcpListen: the TCP source's `listen` as written (default `127.0.0.1:<tcpPort>`).
    ///   - routeDatabase: the daemon's database URL for the test database's name (default:
    ///     the test cluster directly); queries of the harness always go directly.
    init(
        journeyYAML: String, ingestYAML: String = "", sourceNames: (unix: String, tcp: String)? = nil,
        extraSourcesYAML: String = "", unixSourceExtraYAML: String = "", tcpSourceExtraYAML: String = "",
        tcpListen: ((Int) -> String)? = nil,
        routeDatabase: ((String) -> String)? = nil, metricsPort: Int? = nil
    ) throws {
        let base = try #require(ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"])
        admin = try PostgresConnection(conninfo: base)
        databaseName = "cjm_d_\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        try admin.executeScript("CREATE DATABASE \(databaseName)")
        conninfo = base + " dbname=\(databaseName)"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cjmd-daemon-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        socketPath = directory.appendingPathComponent("events.sock").path
        tcpPort = freeTCPPort()
        logPath = directory.appendingPathComponent("cjmd.log").path
        configPath = directory.appendingPathComponent("cjmd.yaml").path
        let yaml = """
            database:
              url: "\((routeDatabase?(databaseName) ?? conninfo).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))"
            sources:
              - type: unix
                path: \(socketPath)
                mode: "0600"
                name: \(sourceNames?.unix ?? "unix-test")
                \(unixSourceExtraYAML)
              - type: tcp
                listen: "\(tcpListen?(tcpPort) ?? "127.0.0.1:\(tcpPort)")"
                name: \(sourceNames?.tcp ?? "tcp-test")
                \(tcpSourceExtraYAML)
            \(extraSourcesYAML)
            service:
              metrics_listen: \(metricsPort.map { "127.0.0.1:\($0)" } ?? "off")
            \(ingestYAML)
            \(journeyYAML)
            """
        _ = FileManager.default.createFile(atPath: configPath, contents: Data(yaml.utf8))
    }

    /// Starts the daemon (through `launcher`, e.g. systemd-socket-activate, when given) and,
    /// unless `waitForListening` is false, waits until it accepts TCP connections.
    func start(
        environment: [String: String] = [:], launcher: [String] = [], arguments: [String] = [],
        waitForListening: Bool = true
    ) throws {
        let process = Process()
        if let first = launcher.first {
            process.executableURL = URL(fileURLWithPath: first)
            process.arguments =
                Array(launcher.dropFirst()) + [CommandRunner.binary.path, "run", "--config", configPath] + arguments
        } else {
            process.executableURL = CommandRunner.binary
            process.arguments = ["run", "--config", configPath] + arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        recordCrashOfPreviousProcess()
        // Appended to across restarts, so that what a crashed process wrote stays readable.
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        guard waitForListening else { return }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if (try? LineClient(tcpPort: tcpPort)) != nil, FileManager.default.fileExists(atPath: socketPath) { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Issue.record("cjmd did not start listening: \(self.log())")
        throw CancellationError()
    }

    /// A daemon that died of a signal nobody sent it (a trap of the Swift runtime, say) is a
    /// bug even when a test goes on to restart it: recorded as a failure with its log.
    private func recordCrashOfPreviousProcess() {
        guard let process, !process.isRunning, process.terminationReason == .uncaughtSignal,
            process.terminationStatus != SIGKILL, process.terminationStatus != SIGTERM
        else { return }
        Issue.record(
            "cjmd died of signal \(process.terminationStatus) that the test did not send; its log ends: \(log().suffix(4000))"
        )
    }

    /// Sends SIGKILL (a crash at an arbitrary moment) and waits until the process is gone.
    func kill9() {
        recordCrashOfPreviousProcess()
        guard let process, process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGKILL)
        // Foundation's Process now and then misses a child's exit: the child stays a zombie
        // and waitUntilExit never returns (seen once in RunCrashTests' fifty kills). Wait a
        // while, then reap it here and forget the Process, whose view of it is stale.
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning {
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            self.process = nil
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    func terminate(timeout: TimeInterval = 60) -> Int32? {
        guard let process else { return nil }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        return process.terminationStatus
    }

    /// The daemon's resident memory in KiB (VmRSS), or nil when it is not running.
    func residentKiB() -> Int? {
        guard let pid = process?.processIdentifier,
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }

    func log() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    func query(_ sql: String) throws -> QueryResult {
        let connection = try PostgresConnection(conninfo: conninfo)
        return try connection.execute(sql)
    }

    deinit {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        // CJM_TEST_KEEP_DAEMONS=1 leaves the database and the directory (logs, configuration)
        // of every harness for a look after a failure.
        guard ProcessInfo.processInfo.environment["CJM_TEST_KEEP_DAEMONS"] != "1" else {
            print("kept: database \(databaseName), directory \(directory.path)")
            return
        }
        try? admin.executeScript("DROP DATABASE IF EXISTS \(databaseName) WITH (FORCE)")
        try? FileManager.default.removeItem(at: directory)
    }
}
