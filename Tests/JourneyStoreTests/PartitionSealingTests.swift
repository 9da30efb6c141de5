import Foundation
import JourneyCore
import JourneyReference
import JourneyStore
import PostgresClient
import Testing

/// Shards seal their partitions' closed instances (migration 022): chunks of one partition,
/// which a sink taking the partition over reads back as that partition's history. Four
/// partition sinks, each restarted half-way, end with the tables one whole-database sink
/// gives the same events.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct PartitionSealingTests {
    static let partitions = 4

    static func policy() -> JourneySink.WritePolicy {
        var policy = JourneySink.WritePolicy()
        policy.sealAfterClosedInstances = 4
        policy.sealedChunkSize = 3
        return policy
    }

    /// What both ways must agree on: the alerts are judged over all partitions by another
    /// component (PartitionAlertJudge), and the positions are kept per partition.
    static func comparable(_ snapshot: TablesSnapshot) -> TablesSnapshot {
        var s = snapshot
        s.watermark = []
        s.alerts = []
        // customer_personas' last column is the partition (-1: a single daemon's).
        s.personas = s.personas.map { Array($0.dropLast()) }
        return s
    }

    /// The tables that differ, each with its first differing row.
    static func differences(_ a: TablesSnapshot, _ b: TablesSnapshot) -> [String] {
        zip(Mirror(reflecting: a).children, Mirror(reflecting: b).children).compactMap { mine, theirs -> String? in
            guard let rows = mine.value as? [[String?]], let other = theirs.value as? [[String?]], rows != other
            else { return nil }
            let index =
                (0..<min(rows.count, other.count)).first { rows[$0] != other[$0] } ?? min(rows.count, other.count)
            let row = { (r: [[String?]]) -> String in index < r.count ? "\(r[index].map { $0 ?? "NULL" })" : "none" }
            return "\(mine.label ?? "?") (\(rows.count) rows, expected \(other.count)): row \(index) is \(row(rows)), "
                + "expected \(row(other))"
        }
    }

    @Test(arguments: [3, 17, 29, 4242] as [UInt64])
    func sealedPartitionsRestartToWhatOneSinkGives(seed: UInt64) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: seed)
            let configuration = ReplayDifferentialTests.configuration(for: scenario, batch: 40)
            let harness = try StoreHarness(conninfo: conninfo, configuration: configuration)
            let decoder = EventDecodingForTests(settings: configuration.ingest, now: harness.now)
            let batches = try WriterFenceTests.batches(scenario, decoder: decoder)
            let end = batches.flatMap(\.events).map(\.event.time).max()

            try harness.reset()
            let whole = try JourneySink(
                configuration: configuration, connection: harness.connection, logger: harness.logger,
                policy: Self.policy())
            for batch in batches { try whole.commit(batch, watermark: .replay) }
            try whole.commit(IngestBatch(), watermark: .finish(asOf: end))
            let expected = try harness.snapshot()

            try harness.reset()
            // Each partition's events, in arrival order, in batches as they came.
            var perPartition = [[IngestBatch]](repeating: [], count: Self.partitions)
            for batch in batches {
                var split = [IngestBatch](repeating: IngestBatch(), count: Self.partitions)
                for event in batch.events {
                    let p = CustomerPartition.partition(ofCustomer: event.event.customerID, partitions: Self.partitions)
                    split[p].events.append(event)
                }
                for p in 0..<Self.partitions where !split[p].events.isEmpty { perPartition[p].append(split[p]) }
            }
            for p in 0..<Self.partitions {
                let scope = SinkScope.partition(BusPartition(index: p, count: Self.partitions))
                func sink() throws -> JourneySink {
                    try JourneySink(
                        configuration: configuration, connection: harness.connection, logger: harness.logger,
                        policy: Self.policy(), scope: scope)
                }
                var current = try sink()
                for (k, var batch) in perPartition[p].enumerated() {
                    // Restarted half-way: the new sink reads the partition back, sealed chunks too.
                    if k == perPartition[p].count / 2 { current = try sink() }
                    batch.streamSequence = Int64(k + 1)
                    try current.commit(batch, watermark: .replay)
                }
                try current.commit(IngestBatch(), watermark: .finish(asOf: end))
            }
            let sharded = try harness.snapshot()
            let sealed = try harness.rows(
                "SELECT count(DISTINCT part), count(*) FROM cjm.sealed_instances WHERE part >= 0")
            #expect(Int(sealed[0][1] ?? "0") ?? 0 > 0, "seed \(seed): no partition sealed anything")
            #expect(
                Self.differences(Self.comparable(sharded), Self.comparable(expected)).isEmpty,
                "seed \(seed): \(Self.differences(Self.comparable(sharded), Self.comparable(expected)))")
        }
    }
}
