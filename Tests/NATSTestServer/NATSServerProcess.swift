import Foundation
import NATSClient

/// A real `nats-server` (Debian's package) with JetStream on loopback, in a temporary
/// directory, stopped when the value is released.
public final class NATSServerProcess: @unchecked Sendable {
    public let port: Int
    public let directory: URL
    private var process: Process
    private let configurationFile: URL

    public var url: String { "nats://127.0.0.1:\(port)" }

    /// Starts a server; `extraConfiguration` is appended to its configuration file. `port`:
    /// the client port (a free one when nil); `waitsUntilReachable` false returns at once (a
    /// cluster's nodes wait for one another).
    public init(extraConfiguration: String = "", port: Int? = nil, waitsUntilReachable: Bool = true) throws {
        self.port = port ?? freeLoopbackPort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cjm-nats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let configuration = """
            listen: 127.0.0.1:\(self.port)
            jetstream { store_dir: "\(directory.path)/store" }
            \(extraConfiguration)
            """
        configurationFile = directory.appendingPathComponent("nats.conf")
        try configuration.write(to: configurationFile, atomically: true, encoding: .utf8)
        process = Process()
        try launch(waitsUntilReachable: waitsUntilReachable)
    }

    /// Stops the server (SIGTERM) and waits for it to exit; its store stays.
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// Starts the server again on the same port, with the same store.
    public func restart() throws { try launch(waitsUntilReachable: true) }

    /// Kills the server with SIGKILL (no chance to flush or say goodbye) and waits for it.
    public func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGSTOP: the server freezes, its connections stay open and unanswered.
    public func pause() { kill(process.processIdentifier, SIGSTOP) }

    /// SIGCONT after ``pause()``.
    public func resume() { kill(process.processIdentifier, SIGCONT) }

    public var isRunning: Bool { process.isRunning }

    private func launch(waitsUntilReachable: Bool) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["-c", configurationFile.path]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        let log = directory.appendingPathComponent("nats.log")
        if !FileManager.default.fileExists(atPath: log.path) {
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardError = handle
        try process.run()
        self.process = process
        if waitsUntilReachable { try waitUntilReachable() }
    }

    deinit {
        if process.isRunning {
            resume()
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Debian installs it in /usr/sbin, which may not be on root's PATH in a test runner.
    public static let binary: String = {
        for candidate in ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "nats-server"
    }()

    /// Whether the tests that need nats-server run: when it is installed, and always under
    /// `CJM_REQUIRE_NATS=1` (the test script's, after scripts/ensure-deps.sh --tests
    /// installed it), so that they fail rather than skip where it should be.
    public static var testsRun: Bool {
        FileManager.default.isExecutableFile(atPath: binary)
            || ProcessInfo.processInfo.environment["CJM_REQUIRE_NATS"] == "1"
    }

    func waitUntilReachable() throws {
        var lastError: NATSError?
        for _ in 0..<100 {
            do {
                _ = try NATSConnection(servers: [url], name: "cjm-test-probe", timeoutMilliseconds: 200)
                return
            } catch {
                lastError = error
            }
            usleep(100_000)
        }
        throw StartFailure(
            detail: "nats-server at \(url) unreachable after 10 s: \(lastError.map(String.init(describing:)) ?? "")")
    }

    struct StartFailure: Error, CustomStringConvertible {
        var detail: String
        var description: String { detail }
    }
}

/// A free TCP port on loopback (bound and released; good enough for tests).
public func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
