import Foundation
import NATSClient

/// A real `nats-server` (Debian's package) with JetStream on loopback, in a temporary
/// directory, stopped when the value is released.
final class NATSServerProcess: @unchecked Sendable {
    let port: Int
    let directory: URL
    private let process: Process

    var url: String { "nats://127.0.0.1:\(port)" }

    /// Starts a server; `extraConfiguration` is appended to its configuration file.
    init(extraConfiguration: String = "") throws {
        port = freeLoopbackPort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cjm-nats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let configuration = """
            listen: 127.0.0.1:\(port)
            jetstream { store_dir: "\(directory.path)/store" }
            \(extraConfiguration)
            """
        let file = directory.appendingPathComponent("nats.conf")
        try configuration.write(to: file, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["-c", file.path]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        let log = directory.appendingPathComponent("nats.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        try waitUntilReachable()
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Debian installs it in /usr/sbin, which may not be on root's PATH in a test runner.
    static let binary: String = {
        for candidate in ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "nats-server"
    }()

    /// Whether the tests that need nats-server run: when it is installed, and always under
    /// `CJM_REQUIRE_NATS=1` (the test script's, after scripts/ensure-deps.sh --tests
    /// installed it), so that they fail rather than skip where it should be.
    static var testsRun: Bool {
        FileManager.default.isExecutableFile(atPath: binary)
            || ProcessInfo.processInfo.environment["CJM_REQUIRE_NATS"] == "1"
    }

    private func waitUntilReachable() throws {
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
func freeLoopbackPort() -> Int {
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
