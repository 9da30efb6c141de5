import Foundation
import NATSTestServer
import PostgresClient
import Testing

/// Shards (docs/scaling.md): a gateway publishes a generated day of events to a 16-partition
/// bus; two shard daemons (partitions 0-7 and 8-15) and a standby (all of them) process it
/// into one database. Every table equals what one `cjmd replay` of the same events gives,
/// also when a shard is killed with SIGKILL mid-stream and the standby takes its partitions.
@Suite(
    .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil),
    .enabled(if: NATSServerProcess.testsRun, "nats-server is not installed"))
struct ShardTests {
    static let partitions = 16

    /// The daemons of one deployment, all writing the gateway's database.
    struct Deployment {
        let gateway: DaemonHarness
        let shards: [DaemonHarness]
        let standby: DaemonHarness

        /// `servers`: the bus's; `replicas` of its streams; `idleAfter` of its partitions.
        init(servers: [String], replicas: Int = 1, idleAfter: String = "8s") throws {
            let bus = Bus(servers: servers, replicas: replicas, idleAfter: idleAfter)
            let gateway = try ShardTests.daemon(bus: bus, owned: "none", database: nil)
            self.gateway = gateway
            shards = try ["0-7", "8-15"].map { try ShardTests.daemon(bus: bus, owned: $0, database: gateway) }
            standby = try ShardTests.daemon(bus: bus, owned: "all", database: gateway)
        }

        func start() throws {
            try gateway.start()
            for shard in shards { try shard.start() }
            // After the shards: it finds every partition's lock taken and stands by.
            Thread.sleep(forTimeInterval: 2)
            try standby.start()
        }

        func terminate() {
            for daemon in [standby] + shards + [gateway] {
                #expect(daemon.terminate() == 0, "\(daemon.log().suffix(2000))")
            }
        }
    }

    /// The `jetstream` source's settings the daemons share.
    struct Bus {
        var servers: [String]
        var replicas: Int
        var idleAfter: String
    }

    /// A daemon whose Unix and TCP sources forward to the bus and which owns `owned`,
    /// writing `database`'s database (its own when nil).
    static func daemon(bus: Bus, owned: String, database: DaemonHarness?) throws -> DaemonHarness {
        try DaemonHarness(
            journeyYAML: journeyYAML,
            ingestYAML: """
                ingest:
                  batch_max_delay: 100ms
                """,
            extraSourcesYAML: """
                  - type: jetstream
                    name: bus
                    servers: [\(bus.servers.map { "\"\($0)\"" }.joined(separator: ", "))]
                    partitions: \(partitions)
                    owned_partitions: "\(owned)"
                    replicas: \(bus.replicas)
                    idle_after: \(bus.idleAfter)
                """,
            unixSourceExtraYAML: "forward_to: bus", tcpSourceExtraYAML: "forward_to: bus",
            routeDatabase: database.map { shared in { _ in shared.conninfo } })
    }

    /// The journeys of the crash tests, with give-ups known within hours and alerts sensitive
    /// enough that the day's drop-off spike fires and resolves: the judge over all partitions
    /// is compared too.
    static let journeyYAML =
        TailCrashTests.journeyYAML
        .replacingOccurrences(of: "abandon_after: 7d", with: "abandon_after: 2h")
        .replacingOccurrences(of: "abandon_after: 3d", with: "abandon_after: 1h")
            + """

            alerts:
              window: 1h
              baseline: 4h
              min_decided: 20
              z: 3
              min_delta: 0.15
              by_persona: true
            """

    /// A day of events, a year ago (so that every deadline has passed by now), with a
    /// drop-off spike at consideration from noon for three hours.
    static func generatedDay(_ harness: DaemonHarness, customers: Int, seed: Int) throws -> (
        path: String, lines: [String]
    ) {
        let path = harness.directory.appendingPathComponent("day.ndjson").path
        let day = Date().addingTimeInterval(-365 * 86_400)
        let spike = "purchase:consideration:\(RFC3339Text.format(day.addingTimeInterval(12 * 3600))):3h:0.05"
        let simulated = try CommandRunner.run([
            "simulate", "--config", harness.configPath, "--customers", "\(customers)", "--seed", "\(seed)",
            "--start", RFC3339Text.format(day), "--duration", "1d", "--duplicates", "0.01", "--personas",
            "--spike", spike, "--output", path,
        ])
        try #require(simulated.status == 0, "\(simulated.stderr)")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { String($0) + "\n" }
        return (path, lines)
    }

    /// Sends `lines` through the gateway's Unix socket in chunks, each acknowledged.
    static func send(_ lines: ArraySlice<String>, to gateway: DaemonHarness) throws {
        let client = try LineClient(unixPath: gateway.socketPath)
        var sent = 0
        for chunk in stride(from: lines.startIndex, to: lines.endIndex, by: 500) {
            let end = min(chunk + 500, lines.endIndex)
            try client.send(lines[chunk..<end].joined())
            sent += end - chunk
            #expect(try client.ack() == sent)
        }
    }

    /// The tables compared: those of ``TailCrashTests/comparedTables`` without the `part`
    /// column (a shard's rows carry their partition), and the views over the running totals.
    static let comparedTables: [(String, String)] =
        TailCrashTests.comparedTables.map { name, sql in
            switch name {
            case "customer_personas": return (name, "SELECT customer_id, persona, set_at FROM cjm.customer_personas")
            case "alerts":
                return (
                    name,
                    """
                    SELECT journey, stage_index, persona, window_start, window_end, decided, abandoned, rate,
                           baseline_rate, baseline_decided, z, fired_at, calm_since, resolved_at
                    FROM cjm.alerts
                    """
                )
            case "repeat_pending":
                return (name, "SELECT journey, customer_id, instance, exited_at, persona FROM cjm.repeat_pending")
            default: return (name, sql)
            }
        } + [
            ("funnel_daily", "SELECT * FROM cjm.funnel_daily"), ("dropoff_hourly", "SELECT * FROM cjm.dropoff_hourly"),
            ("time_to_next_percentiles", "SELECT * FROM cjm.time_to_next_percentiles"),
            ("journey_map", "SELECT * FROM cjm.journey_map"), ("funnel_stats", "SELECT * FROM cjm.funnel_stats"),
            ("touchpoint_stats", "SELECT * FROM cjm.touchpoint_stats"),
            ("repeat_stats", "SELECT * FROM cjm.repeat_stats"),
        ]

    /// Waits until the shards have committed `events` events and every partition's watermark
    /// has moved to the wall clock (all read, `idle_after` passed), and the alerts are judged
    /// through the slowest; then compares every table with `replayed`'s. Differences left
    /// after `seconds` are returned, table by table.
    static func differences(_ shards: DaemonHarness, _ replayed: DaemonHarness, events: Int64, seconds: Double) throws
        -> [String]
    {
        let deadline = Date().addingTimeInterval(seconds)
        var differences: [String] = []
        repeat {
            Thread.sleep(forTimeInterval: 2)
            let state = try shards.query(
                """
                SELECT (SELECT count(*) FROM cjm.events),
                       (SELECT count(*) FROM cjm.partition_state WHERE watermark > now() - interval '1 day'),
                       (SELECT evaluated_through >= date_trunc('minute', (SELECT min(watermark) FROM cjm.partition_state))
                        FROM cjm.alert_judge_state)
                """)
            guard try state.int64(row: 0, column: 0) == events, try state.int64(row: 0, column: 1) == Int64(partitions)
            else {
                differences = [
                    "not settled: \(state.string(row: 0, column: 0) ?? "") of \(events) events, "
                        + "\(state.string(row: 0, column: 1) ?? "") partitions at the wall clock"
                ]
                continue
            }
            differences = try comparedTables.compactMap { name, sql in
                let mine = try TailCrashTests.digest(shards, sql)
                let theirs = try TailCrashTests.digest(replayed, sql)
                return mine == theirs ? nil : "\(name): shards \(mine), replay \(theirs)"
            }
        } while !differences.isEmpty && Date() < deadline
        return differences
    }

    /// The replay's alerts include the spike's (by persona too), fired and resolved: the judge
    /// is compared on an alert episode, not on an empty table.
    static func expectTheSpikesAlerts(_ replayed: DaemonHarness) throws {
        let alerts = try replayed.query(
            """
            SELECT count(*) FILTER (WHERE persona = '*'), count(*) FILTER (WHERE persona <> '*'),
                   count(*) FILTER (WHERE resolved_at IS NULL)
            FROM cjm.alerts WHERE stage = 'consideration'
            """)
        #expect(try alerts.int64(row: 0, column: 0) ?? 0 >= 1, "no alert for every instance")
        #expect(try alerts.int64(row: 0, column: 1) ?? 0 >= 1, "no alert for a persona")
        #expect(try alerts.int64(row: 0, column: 2) == 0, "an alert not resolved")
    }

    static func replay(_ path: String) throws -> (DaemonHarness, Int64) {
        let clean = try DaemonHarness(journeyYAML: journeyYAML)
        let replayed = try CommandRunner.run([
            "replay", "--config", clean.configPath, "--as-of", RFC3339Text.format(Date()), path,
        ])
        try #require(replayed.status == 0, "\(replayed.stderr)")
        let events = try #require(try clean.query("SELECT count(*) FROM cjm.events").int64(row: 0, column: 0))
        return (clean, events)
    }

    @Test func twoShardsAndAStandbyGiveWhatOneReplayGives() throws {
        let bus = try NATSServerProcess()
        let deployment = try Deployment(servers: [bus.url])
        let day = try Self.generatedDay(deployment.gateway, customers: 4000, seed: 25)
        try deployment.start()
        try Self.send(day.lines[...], to: deployment.gateway)
        let (replayed, events) = try Self.replay(day.path)
        try Self.expectTheSpikesAlerts(replayed)
        let differences = try Self.differences(deployment.gateway, replayed, events: events, seconds: 120)
        #expect(differences.isEmpty, "\(differences)\n\(deployment.shards[0].log().suffix(3000))")
        // Every partition was processed; the standby stood by.
        let owners = try deployment.gateway.query(
            "SELECT count(*) FROM cjm.partition_state WHERE stream_sequence > 0")
        #expect(try owners.int64(row: 0, column: 0) == Int64(Self.partitions))
        #expect(deployment.standby.log().contains("standing by"))
        deployment.terminate()
    }

    @Test func aStalledBusAndAKilledShardLoseNothingAndDoubleNothing() throws {
        let bus = try NATSServerProcess()
        let deployment = try Deployment(servers: [bus.url])
        let day = try Self.generatedDay(deployment.gateway, customers: 4000, seed: 26)
        try deployment.start()
        let half = day.lines.count / 2
        try Self.send(day.lines[..<half], to: deployment.gateway)
        // The bus stalls for longer than idle_after: every fetch comes back empty, but the
        // partitions are not known to be caught up, so the wall clock must not move their
        // watermarks (the second half, a year old, would be late).
        bus.pause()
        Thread.sleep(forTimeInterval: 12)
        bus.resume()
        // Mid-stream: shard 0-7 dies; the rest arrives while the standby takes its partitions.
        Thread.sleep(forTimeInterval: Double.random(in: 0...1))
        deployment.shards[0].kill9()
        try Self.send(day.lines[half...], to: deployment.gateway)
        let (replayed, events) = try Self.replay(day.path)
        let differences = try Self.differences(deployment.gateway, replayed, events: events, seconds: 120)
        #expect(differences.isEmpty, "\(differences)\n\(deployment.standby.log().suffix(3000))")
        #expect(deployment.standby.log().contains("took the partition"))
        for daemon in [deployment.standby, deployment.shards[1], deployment.gateway] {
            #expect(daemon.terminate() == 0, "\(daemon.log().suffix(2000))")
        }
    }
}
