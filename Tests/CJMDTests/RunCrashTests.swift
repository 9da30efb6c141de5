import Foundation
import PostgresClient
import Testing

/// `cjmd run` under crashes while clients send over sockets (issue 7): the daemon is killed
/// with SIGKILL at 50 random moments and started again each time; the clients do what the
/// acknowledgement contract asks of them (after a broken connection, send again everything
/// not acknowledged). Afterwards the stored events, and what `rebuild` derives from them,
/// equal a clean replay of the same lines: nothing acknowledged is lost, nothing is stored
/// twice.
///
/// Only good lines are sent: a resent line that the daemon had committed just before the
/// crash is recognised by its event id, but a resent *bad* line has no id and becomes a
/// second dead letter (documented in docs/reliability.md).
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct RunCrashTests {
    static let kills = Int(ProcessInfo.processInfo.environment["CJM_TEST_RUN_KILLS"] ?? "") ?? 50
    static let clients = 4

    @Test func killedFiftyTimesWhileClientsSendEndsEqualToACleanReplay() throws {
        let daemon = try DaemonHarness(
            journeyYAML: TailCrashTests.journeyYAML,
            ingestYAML: """
                ingest:
                  batch_max_delay: 100ms
                """)
        let eventsPath = daemon.directory.appendingPathComponent("events.ndjson").path
        let start = RFC3339Text.format(Date().addingTimeInterval(-365 * 86_400))
        let simulated = try CommandRunner.run([
            "simulate", "--config", daemon.configPath, "--customers", "60000", "--seed", "41", "--start", start,
            "--duration", "3d", "--duplicates", "0.01", "--personas", "--output", eventsPath,
        ])
        try #require(simulated.status == 0, "\(simulated.stderr)")
        let lines = try String(contentsOfFile: eventsPath, encoding: .utf8).split(separator: "\n").map {
            String($0) + "\n"
        }

        try daemon.start()
        // Each client sends every fourth line, in chunks, each followed by an acknowledgement
        // request. (Arrival order does not matter: the derived tables are compared after
        // `rebuild`, which applies the stored events in time order.)
        let shares = (0..<Self.clients).map { client in
            lines.enumerated().filter { $0.offset % Self.clients == client }.map(\.element)
        }
        let finished = DispatchGroup()
        let progress = ClientProgress(clients: Self.clients)
        // Should the test end early (a failed start, say), the clients stop retrying: they
        // would otherwise go on forever and keep the daemon's harness from being released.
        defer { progress.stop() }
        for (client, share) in shares.enumerated() {
            finished.enter()
            Thread.detachNewThread {
                defer { finished.leave() }
                Self.sendWithRetries(share, to: daemon, useTCP: client % 2 == 0, client: client, progress: progress)
            }
        }
        var rng = SplitMix(seed: 99)
        var kills = 0
        let started = Date()
        while kills < Self.kills, finished.wait(timeout: .now()) == .timedOut {
            Thread.sleep(forTimeInterval: 0.2 + Double(rng.next() % 800) / 1000)
            guard finished.wait(timeout: .now()) == .timedOut else { break }
            daemon.kill9()
            kills += 1
            try daemon.start()
        }
        let acknowledgedAtLastKill = progress.acknowledged
        let done = finished.wait(timeout: .now() + 600) == .success
        #expect(done, "the clients did not finish in 10 minutes; the daemon's log ends: \(daemon.log().suffix(3000))")
        let seconds = Date().timeIntervalSince(started)
        #expect(daemon.terminate() == 0)
        #expect(kills == Self.kills, "the clients finished after \(kills) kills; send more lines")
        #expect(progress.acknowledged == lines.count)

        let clean = try DaemonHarness(journeyYAML: TailCrashTests.journeyYAML)
        let replayed = try CommandRunner.run([
            "replay", "--config", clean.configPath, "--as-of", RFC3339Text.format(Date()), eventsPath,
        ])
        try #require(replayed.status == 0, "\(replayed.stderr)")
        let rebuilt = try CommandRunner.run(["rebuild", "--config", daemon.configPath])
        try #require(rebuilt.status == 0, "\(rebuilt.stderr)")
        for (name, sql) in TailCrashTests.comparedTables {
            let a = try TailCrashTests.digest(daemon, sql)
            let b = try TailCrashTests.digest(clean, sql)
            #expect(a == b, "\(name) differs: crashed \(a), clean \(b)")
        }
        print(
            """
            run crash test: \(lines.count) lines from \(Self.clients) clients, \(kills) × kill -9 in \
            \(String(format: "%.1f", seconds)) s (\(acknowledgedAtLastKill) lines acknowledged by the last kill), \
            \(progress.resent) lines sent again after broken connections
            """)
    }

    /// Sends `lines` in chunks of 200 with an acknowledgement request after each; after a
    /// broken connection, reconnects and sends the unacknowledged chunk again.
    static func sendWithRetries(
        _ lines: [String], to daemon: DaemonHarness, useTCP: Bool, client: Int, progress: ClientProgress
    ) {
        var position = 0
        var connection: LineClient? = nil
        var sentOnConnection = 0
        while position < lines.count, !progress.isStopped {
            do {
                if connection == nil {
                    connection =
                        useTCP ? try LineClient(tcpPort: daemon.tcpPort) : try LineClient(unixPath: daemon.socketPath)
                    sentOnConnection = 0
                }
                let end = min(position + 200, lines.count)
                try connection!.send(lines[position..<end].joined())
                sentOnConnection += end - position
                guard try connection!.ack() == sentOnConnection else { throw LineClient.Failure.closed }
                progress.add(end - position)
                position = end
            } catch {
                if connection != nil { progress.resent(min(200, lines.count - position)) }
                connection = nil
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }

    /// Lines acknowledged and sent again, over all clients.
    final class ClientProgress: @unchecked Sendable {
        private let lock = NSLock()
        private var acknowledgedLines = 0
        private var resentLines = 0
        private var stopped = false
        init(clients: Int) {}
        var isStopped: Bool { lock.withLock { stopped } }
        func stop() { lock.withLock { stopped = true } }
        var acknowledged: Int { lock.withLock { acknowledgedLines } }
        var resent: Int { lock.withLock { resentLines } }
        func add(_ count: Int) { lock.withLock { acknowledgedLines += count } }
        func resent(_ count: Int) { lock.withLock { resentLines += count } }
    }
}
