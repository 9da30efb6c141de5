import Foundation
import NATSClient
import NATSTestServer
import PostgresClient
import Testing

/// Shards on a three-node JetStream cluster (streams of 3 replicas) under faults at random
/// moments while a day of events goes through the gateway (docs/scaling.md): a shard killed
/// with SIGKILL (the standby takes over), the gateway killed and restarted, the nats-server
/// leading a stream killed and restarted, a nats-server stopped (SIGSTOP) for 10 s, the
/// database restarted. The client sends again what was not acknowledged, as the contract asks.
/// Afterwards every acknowledged event is stored once and every table equals one replay.
///
/// `CJM_TEST_SHARD_FAULT_ROUNDS` (default 1) repeats the whole series of faults.
@Suite(
    .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_CLUSTER_DIR"] != nil),
    .enabled(if: NATSServerProcess.testsRun, "nats-server is not installed"))
struct ShardFaultTests {
    static let rounds = Int(ProcessInfo.processInfo.environment["CJM_TEST_SHARD_FAULT_ROUNDS"] ?? "") ?? 1

    @Test func faultsOfEveryPartLoseNothingAndDoubleNothing() throws {
        let clusterDir = try #require(ProcessInfo.processInfo.environment["CJM_TEST_CLUSTER_DIR"])
        let cluster = try NATSCluster()
        // Longer than any stall below: a partition moves by the wall clock only once the
        // whole day is in (what a replay of it gives is then well defined).
        let deployment = try ShardTests.Deployment(servers: cluster.urls, replicas: 3, idleAfter: "25s")
        let day = try ShardTests.generatedDay(deployment.gateway, customers: 4000, seed: 27)
        try deployment.start()

        let sender = ResendingSender(lines: day.lines, gateway: deployment.gateway, seconds: 20.0 * Double(Self.rounds))
        let sending = Thread { sender.run() }
        sending.start()
        var rng = SystemRandomNumberGenerator()
        func pause() { Thread.sleep(forTimeInterval: Double.random(in: 0.3...2, using: &rng)) }
        var restartedShard = false
        for _ in 0..<Self.rounds {
            pause()
            let shard = deployment.shards[0]
            shard.kill9()
            pause()
            // Back as a standby of the partitions the standby now holds.
            try shard.start()
            restartedShard = true
            pause()
            deployment.gateway.kill9()
            pause()
            try deployment.gateway.start()
            pause()
            let leader = try Self.leader(of: "CJM_\(Int.random(in: 0..<ShardTests.partitions, using: &rng))", cluster)
            leader.kill9()
            pause()
            try leader.restart()
            try cluster.waitForJetStream()
            pause()
            let stopped = cluster.nodes.randomElement(using: &rng)!
            stopped.pause()
            Thread.sleep(forTimeInterval: 10)
            stopped.resume()
            pause()
            let outage = try ClusterOutage(clusterDir: clusterDir)
            Thread.sleep(forTimeInterval: Double.random(in: 1...3, using: &rng))
            #expect(outage.end(), "the test cluster starts again")
        }
        #expect(
            sender.waitUntilDone(seconds: 300), "the client did not finish: \(deployment.gateway.log().suffix(3000))")
        #expect(sender.acknowledged == day.lines.count)
        #expect(restartedShard)

        let (replayed, events) = try ShardTests.replay(day.path)
        try ShardTests.expectTheSpikesAlerts(replayed)
        let differences = try ShardTests.differences(deployment.gateway, replayed, events: events, seconds: 240)
        #expect(
            differences.isEmpty,
            "\(differences)\nstandby: \(deployment.standby.log().suffix(3000))\nshard: \(deployment.shards[1].log().suffix(2000))"
        )
        deployment.terminate()
    }

    /// The nats-server leading `stream`.
    static func leader(of stream: String, _ cluster: NATSCluster) throws -> NATSServerProcess {
        let connection = try NATSConnection(servers: cluster.urls, name: "cjm-test-leader")
        let name = try #require(try connection.jetStream().streamLeader(stream), "stream \(stream) has a leader")
        return try #require(cluster.node(named: name))
    }
}

/// A client of the acknowledgement contract: sends lines in chunks, each followed by an
/// acknowledgement request, over `seconds`; after a broken connection it connects again and
/// sends the chunk not acknowledged again.
final class ResendingSender: @unchecked Sendable {
    let lines: [String]
    let gateway: DaemonHarness
    let seconds: Double
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var acked = 0

    init(lines: [String], gateway: DaemonHarness, seconds: Double) {
        self.lines = lines
        self.gateway = gateway
        self.seconds = seconds
    }

    var acknowledged: Int { lock.withLock { acked } }

    func run() {
        defer { done.signal() }
        let chunk = 200
        let chunks = (lines.count + chunk - 1) / chunk
        let pace = seconds / Double(max(1, chunks))
        let giveUp = Date().addingTimeInterval(seconds + 240)
        var client: LineClient?
        var next = 0
        while next < lines.count, Date() < giveUp {
            let end = min(next + chunk, lines.count)
            do {
                let connected = try client ?? LineClient(unixPath: gateway.socketPath)
                client = connected
                try connected.send(lines[next..<end].joined())
                let answer = try connected.ack()
                guard answer >= end - next else { throw CancellationError() }
                // Acknowledged: each connection counts from its first line.
                lock.withLock { acked += end - next }
                next = end
                // A new connection per chunk keeps the count per chunk.
                client = nil
                Thread.sleep(forTimeInterval: pace)
            } catch {
                client = nil
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
    }

    func waitUntilDone(seconds: Double) -> Bool {
        done.wait(timeout: .now() + seconds) == .success
    }
}
