import Foundation
import PostgresClient
import Testing

/// The service protocol of docs/operations.md through the real binary: sd_notify on a real datagram
/// socket, socket activation by a real launcher, and a database outage mid-stream.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct DaemonSystemdTests {
    @Test func notifyProtocolReadyWatchdogReloadStopping() throws {
        let daemon = try DaemonHarness(journeyYAML: DaemonTests.journey)
        let notify = try DatagramListener(path: daemon.directory.appendingPathComponent("notify").path)
        try daemon.start(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"])

        let untilReady = try #require(
            notify.waitFor(timeout: 30) { $0.contains("READY=1") }, "no READY=1: \(daemon.log())")
        #expect(untilReady.last?.contains("STATUS=") == true)
        // WATCHDOG=1 at half of WatchdogSec: at least two pings in 1.5 s.
        var pings = 0
        let until = Date().addingTimeInterval(1.5)
        while Date() < until, let message = notify.receive(timeout: until.timeIntervalSinceNow) {
            if message == "WATCHDOG=1" { pings += 1 }
        }
        #expect(pings >= 2)

        // A change the journey state does not depend on.
        let original = try String(contentsOfFile: daemon.configPath, encoding: .utf8)
        try (original + "\ningest:\n  batch_max_delay: 150ms\n").write(
            toFile: daemon.configPath, atomically: true, encoding: .utf8)
        let before = monotonicMicrosecondsNow()
        kill(daemon.process!.processIdentifier, SIGHUP)
        let reload = try #require(notify.waitFor(timeout: 10) { $0.hasPrefix("RELOADING=1") }, "no RELOADING=1")
        let fields = Dictionary(
            uniqueKeysWithValues: reload.last!.split(separator: "\n").map {
                let kv = $0.split(separator: "=", maxSplits: 1)
                return (String(kv[0]), kv.count > 1 ? String(kv[1]) : "")
            })
        let monotonic = try #require(fields["MONOTONIC_USEC"].flatMap(UInt64.init))
        #expect(monotonic >= before && monotonic <= monotonicMicrosecondsNow())
        #expect(notify.waitFor(timeout: 10) { $0.hasPrefix("READY=1") } != nil, "READY=1 after the reload")
        // Nothing the engine depends on changed: its state is kept, not restored from the database.
        let kept = Date().addingTimeInterval(10)
        while !daemon.log().contains("journey state kept"), Date() < kept { Thread.sleep(forTimeInterval: 0.1) }
        #expect(daemon.log().contains("journey state kept"), "\(daemon.log())")

        kill(daemon.process!.processIdentifier, SIGTERM)
        #expect(notify.waitFor(timeout: 10) { $0.hasPrefix("STOPPING=1") } != nil)
        #expect(daemon.terminate() == 0)
    }

    /// SIGHUP applies a changed configuration (a new source, a changed journey) without a
    /// restart, and keeps the running one when the new file is invalid.
    @Test func reloadAppliesSourcesAndJourneysOrKeepsTheOldOnProblems() throws {
        let daemon = try DaemonHarness(journeyYAML: DaemonTests.journey)
        let notify = try DatagramListener(path: daemon.directory.appendingPathComponent("notify").path)
        try daemon.start(environment: ["NOTIFY_SOCKET": notify.path])
        _ = try #require(notify.waitFor(timeout: 30) { $0.contains("READY=1") }, "no READY=1: \(daemon.log())")

        let original = try String(contentsOfFile: daemon.configPath, encoding: .utf8)
        let newPort = freeTCPPort()
        let changed =
            original
            .replacingOccurrences(
                of: "service:",
                with: """
                      - type: tcp
                        listen: 127.0.0.1:\(newPort)
                        name: tcp-new
                    service:
                    """
            )
            .replacingOccurrences(
                of: "      - name: buy\n        events: [buy]",
                with: """
                          - name: buy
                            events: [buy]
                          - name: review
                            events: [review]
                    """)
        #expect(changed.contains("tcp-new") && changed.contains("review"), "the test rewrote the configuration")
        try changed.write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
        kill(daemon.process!.processIdentifier, SIGHUP)
        #expect(notify.waitFor(timeout: 10) { $0.hasPrefix("RELOADING=1") } != nil)
        #expect(notify.waitFor(timeout: 10) { $0.hasPrefix("READY=1") } != nil)

        let client = try LineClient(tcpPort: newPort)
        try client.send(DaemonTests.line("r-1", customer: "r", event: "visit", at: Date()))
        #expect(try client.ack() == 1)
        #expect(
            try daemon.query("SELECT source FROM cjm.events WHERE event_id = 'r-1'").string(row: 0, column: 0)
                == "tcp-new")
        #expect(
            try daemon.query("SELECT count(*) FROM cjm.journey_stages WHERE journey = 'shop'").int64(row: 0, column: 0)
                == 3)

        // An invalid file: every problem logged, the running configuration kept.
        try "journeys: [oops\n".write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
        kill(daemon.process!.processIdentifier, SIGHUP)
        #expect(notify.waitFor(timeout: 10) { $0.hasPrefix("READY=1") } != nil)
        let still = try LineClient(tcpPort: newPort)
        try still.send(DaemonTests.line("r-2", customer: "r", event: "buy", at: Date()))
        #expect(try still.ack() == 1)
        #expect(daemon.log().contains("keeping the running configuration"))
        #expect(daemon.terminate() == 0)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-socket-activate")))
    func socketActivatedListenerIsAdoptedByName() throws {
        let daemon = try DaemonHarness(journeyYAML: DaemonTests.journey, sourceNames: (unix: "events", tcp: "tcp"))
        // The launcher owns the Unix socket and passes it as "events"; cjmd binds only tcp itself.
        let activated = daemon.directory.appendingPathComponent("activated.sock").path
        try daemon.start(
            launcher: [
                "/usr/bin/systemd-socket-activate", "-l", activated, "--fdname=events",
                "-E", "CJM_TEST_DATABASE_URL",
            ],
            waitForListening: false)
        var client: LineClient? = nil
        let deadline = Date().addingTimeInterval(20)
        while client == nil && Date() < deadline {
            client = try? LineClient(unixPath: activated)
            if client == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        let connected = try #require(client, "could not connect to the activated socket: \(daemon.log())")
        try connected.send(DaemonTests.line("act-1", customer: "a", event: "visit", at: Date()))
        #expect(try connected.ack() == 1)
        let stored = try daemon.query("SELECT source FROM cjm.events WHERE event_id = 'act-1'")
        #expect(stored.string(row: 0, column: 0) == "events")
        #expect(
            !FileManager.default.fileExists(atPath: daemon.socketPath),
            "the configured path is not bound when a socket is passed")
        #expect(daemon.terminate() == 0)
    }

    /// PostgreSQL stops for over 10 s while clients keep sending with acks: nothing
    /// acknowledged is lost, the clients are slowed (not failed), memory stays bounded.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_CLUSTER_DIR"] != nil))
    func databaseOutageLosesNothingAcknowledged() throws {
        let clusterDir = try #require(ProcessInfo.processInfo.environment["CJM_TEST_CLUSTER_DIR"])
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../scripts/pg-cluster.sh").standardized.path
        let daemon = try DaemonHarness(
            journeyYAML: DaemonTests.journey,
            ingestYAML: """
                ingest:
                  batch_max_events: 500
                  batch_max_delay: 50ms
                """)
        try daemon.start()
        let rssAtStart = daemon.residentKiB() ?? 0
        let clients = 4
        let acked = LockedCounters(count: clients)
        let failures = LockedCounters(count: clients)
        let stop = LockedCounters(count: 1)
        let socketPath = daemon.socketPath
        let tcpPort = daemon.tcpPort
        let base = Date().addingTimeInterval(-30)
        let group = DispatchGroup()
        for c in 0..<clients {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    let client = c % 2 == 0 ? try LineClient(unixPath: socketPath) : try LineClient(tcpPort: tcpPort)
                    var n = 0
                    while stop.value(0) == 0 {
                        var text = ""
                        for _ in 0..<100 {
                            text += DaemonTests.line(
                                "o\(c)-\(n)", customer: "oc\(c)-\(n % 50)", event: "visit",
                                at: base.addingTimeInterval(Double(n) * 0.0001))
                            n += 1
                        }
                        try client.send(text)
                        acked.set(c, try client.ack())
                    }
                } catch {
                    failures.set(c, 1)
                }
            }
        }
        Thread.sleep(forTimeInterval: 2)
        let beforeOutage = acked.total
        #expect(Self.run(["bash", script, "stop", clusterDir]) == 0)
        var peakKiB = 0
        let outageEnd = Date().addingTimeInterval(12)
        while Date() < outageEnd {
            peakKiB = max(peakKiB, daemon.residentKiB() ?? 0)
            Thread.sleep(forTimeInterval: 0.25)
        }
        let duringOutage = acked.total
        #expect(Self.run(["bash", script, "start", clusterDir, "--fast", "--database", "cjm_test"]) == 0)
        Thread.sleep(forTimeInterval: 8)
        stop.set(0, 1)
        group.wait()
        let afterOutage = acked.total
        print(
            "outage: acked before \(beforeOutage), during \(duringOutage - beforeOutage), after \(afterOutage - duringOutage); RSS start \(rssAtStart) KiB, peak during outage \(peakKiB) KiB"
        )
        #expect(failures.total == 0, "clients are slowed, not failed")
        #expect(afterOutage > duringOutage, "ingestion resumes after the outage")
        #expect(peakKiB - rssAtStart < 256 * 1024, "memory stays bounded during the outage")

        #expect(daemon.terminate() == 0, "\(daemon.log())")
        let stored = try daemon.query("SELECT event_id FROM cjm.events")
        var ids = Set<String>()
        for row in 0..<stored.rowCount { ids.insert(stored.string(row: row, column: 0) ?? "") }
        var missing = 0
        for c in 0..<clients { for n in 0..<acked.value(c) where !ids.contains("o\(c)-\(n)") { missing += 1 } }
        #expect(missing == 0)
        #expect(
            daemon.log().components(separatedBy: "database unavailable").count - 1 == 1, "the outage is logged once")
    }

    /// SIGTERM while PostgreSQL is down: the daemon retries for `--drain-timeout`, then exits
    /// 69 saying how much it leaves uncommitted and what becomes of it (not killed by
    /// systemd's stop timeout with nothing said). What it acknowledged before is stored.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_CLUSTER_DIR"] != nil))
    func shutdownDuringAnOutageGivesUpAfterTheDrainTimeout() throws {
        let clusterDir = try #require(ProcessInfo.processInfo.environment["CJM_TEST_CLUSTER_DIR"])
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../scripts/pg-cluster.sh").standardized.path
        let daemon = try DaemonHarness(journeyYAML: DaemonTests.journey)
        try daemon.start(arguments: ["--drain-timeout", "2"])
        let client = try LineClient(unixPath: daemon.socketPath)
        let base = Date().addingTimeInterval(-30)
        func lines(_ range: Range<Int>) -> String {
            range.map {
                DaemonTests.line(
                    "dt-\($0)", customer: "dc-\($0 % 7)", event: "visit",
                    at: base.addingTimeInterval(Double($0) * 0.001))
            }.joined()
        }
        try client.send(lines(0..<100))
        #expect(try client.ack() == 100)

        #expect(Self.run(["bash", script, "stop", clusterDir]) == 0)
        var restarted = false
        defer {
            if !restarted { _ = Self.run(["bash", script, "start", clusterDir, "--fast", "--database", "cjm_test"]) }
        }
        try client.send(lines(100..<150))
        // Read and queued once the daemon has seen them; commits fail meanwhile.
        Thread.sleep(forTimeInterval: 1)
        let status = daemon.terminate(timeout: 45)
        #expect(Self.run(["bash", script, "start", clusterDir, "--fast", "--database", "cjm_test"]) == 0)
        restarted = true

        let log = daemon.log()
        #expect(status == 69, "exits by itself, as database unavailable: \(log)")
        #expect(log.contains("stopping with accepted lines not committed"), "\(log)")
        #expect(log.contains("items=50"), "the 50 lines sent during the outage: \(log)")
        #expect(log.contains("were not acknowledged for them and send them again"), "\(log)")
        let stored = try daemon.query("SELECT count(*) FROM cjm.events WHERE event_id LIKE 'dt-%'")
        #expect(stored.string(row: 0, column: 0) == "100", "what was acknowledged is stored, the rest not")
    }

    /// Runs a shell command and waits for it. Not Foundation.Process: its wait did not return
    /// here when the command left a daemon (the restarted postmaster) behind.
    static func run(_ arguments: [String]) -> Int32 {
        let command = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(
            separator: " ")
        let status = system(command + " >/dev/null 2>&1 </dev/null")
        return status == -1 ? -1 : (status >> 8) & 0xFF
    }
}

func monotonicMicrosecondsNow() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
}
