import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real Prometheus Alertmanager on 127.0.0.1 with a null receiver, in a temporary
/// directory, started with posix_spawn (a long-lived child does not suit Foundation.Process).
final class AlertmanagerProcess {
    static let binary = "/usr/bin/prometheus-alertmanager"

    let port: UInt16
    let directory: URL
    private var pid: pid_t

    var alertsURL: String { "http://127.0.0.1:\(port)/api/v2/alerts" }

    /// Starts Alertmanager; call ``terminate()`` when done, also on failure.
    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cjm-alertmanager-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("alertmanager.yml")
        try """
        route:
          receiver: "null"
        receivers:
          - name: "null"
        """.write(to: config, atomically: true, encoding: .utf8)
        port = try LoopbackSockets.unusedPort()
        let arguments = [
            Self.binary,
            "--config.file=\(config.path)",
            "--storage.path=\(directory.appendingPathComponent("data").path)",
            "--web.listen-address=127.0.0.1:\(port)",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        let logPath = directory.appendingPathComponent("alertmanager.log").path

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, Self.binary, &actions, nil, argv, environ)
        guard status == 0 else {
            throw LoopbackSockets.Failure(
                description: "posix_spawn \(Self.binary) failed: \(String(cString: strerror(status)))")
        }
        pid = child
    }

    /// Waits until `/-/ready` answers 200 (true) or the process exits or time runs out (false).
    func waitUntilReady(timeoutSeconds: Double = 20) async -> Bool {
        await eventually(timeoutSeconds: timeoutSeconds) {
            guard isRunning else { return true }  // ends the wait; the check below fails
            return LoopbackSockets.get(port: port, path: "/-/ready", timeoutSeconds: 2)?.status == 200
        } && isRunning
    }

    /// Whether the child is still alive (reaps it if it exited).
    var isRunning: Bool {
        guard pid > 0 else { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            pid = 0
            return false
        }
        return true
    }

    /// Alertmanager's own log, for failure messages.
    var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("alertmanager.log"), encoding: .utf8)) ?? "(no log)"
    }

    /// SIGTERM, then SIGKILL after 5 s; reaps the child and removes the directory.
    func terminate() {
        if isRunning {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            let deadline = Date().addingTimeInterval(5)
            while waitpid(pid, &status, WNOHANG) == 0 {
                if Date() > deadline {
                    kill(pid, SIGKILL)
                    waitpid(pid, &status, 0)
                    break
                }
                usleep(20_000)
            }
            pid = 0
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// The alerts Alertmanager currently holds (active, silenced, inhibited and unprocessed).
    func alerts() throws -> [[String: Any]] {
        let path = "/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true"
        guard let response = LoopbackSockets.get(port: port, path: path), response.status == 200 else {
            throw LoopbackSockets.Failure(description: "GET \(path) on Alertmanager failed")
        }
        return try jsonObjects(response.body)
    }
}
