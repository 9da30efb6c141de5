import Foundation
import JourneyCore
import JourneyReference
import JourneyStore
import Logging
import PostgresClient
import Testing

/// Two writers on one database (a replay into a running daemon's database, two daemons by
/// mistake): each batch is applied to the state every earlier batch left, whoever wrote it,
/// so the tables end as if one process had written every batch (`cjm.engine_state.commits`,
/// migration 009).
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct WriterFenceTests {
    /// Batches of 40 accepted events, in arrival order.
    static func batches(_ scenario: Scenario, decoder: EventDecodingForTests) throws -> [IngestBatch] {
        var batches: [IngestBatch] = []
        var batch = IngestBatch()
        for line in scenario.ndjsonLines(for: scenario.arrivals) {
            batch.events.append(try decoder.accepted(line))
            if batch.events.count == 40 {
                batches.append(batch)
                batch = IngestBatch()
            }
        }
        batches.append(batch)
        return batches
    }

    /// The tables after one sink wrote every batch, then finished, on an emptied database.
    static func oneWriter(_ harness: StoreHarness, _ batches: [IngestBatch], derivedWriteInterval: Int = 0) throws
        -> TablesSnapshot
    {
        try harness.reset()
        var policy = JourneySink.WritePolicy()
        policy.derivedWriteInterval = derivedWriteInterval
        let sink = try JourneySink(
            configuration: harness.configuration, connection: harness.connection, logger: harness.logger,
            policy: policy)
        for batch in batches { try sink.commit(batch, watermark: .replay) }
        try sink.commit(IngestBatch(), watermark: .finish(asOf: nil))
        #expect(sink.restoresForOtherWriters == 0)
        return try harness.snapshot()
    }

    /// Writers take the batches in turns of one to three, in the same order as one process
    /// would; the last writer finishes. Both journaling and per-batch derived writes.
    @Test(arguments: [(7, 0), (19, 150), (23, 0), (101, 150), (4242, 0)] as [(UInt64, Int)])
    func writersTakingTurnsEqualOneWriter(seed: UInt64, derivedWriteInterval: Int) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: seed)
            let configuration = ReplayDifferentialTests.configuration(for: scenario, batch: 40)
            let harness = try StoreHarness(conninfo: conninfo, configuration: configuration)
            let decoder = EventDecodingForTests(settings: configuration.ingest, now: harness.now)
            let batches = try Self.batches(scenario, decoder: decoder)

            let alone = try Self.oneWriter(harness, batches, derivedWriteInterval: derivedWriteInterval)

            try harness.reset()
            let other = try PostgresConnection(conninfo: conninfo)
            var policy = JourneySink.WritePolicy()
            policy.derivedWriteInterval = derivedWriteInterval
            let sinks = [
                try JourneySink(
                    configuration: configuration, connection: harness.connection, logger: harness.logger,
                    policy: policy),
                try JourneySink(
                    configuration: configuration, connection: other, logger: harness.logger, policy: policy),
            ]
            var rng = SplitMix64(seed: seed)
            var writer = 0
            var turnLeft = 0
            for batch in batches {
                if turnLeft == 0 {
                    writer = 1 - writer
                    turnLeft = 1 + Int(rng.next() % 3)
                }
                try sinks[writer].commit(batch, watermark: .replay)
                turnLeft -= 1
            }
            try sinks[1 - writer].commit(IngestBatch(), watermark: .finish(asOf: nil))
            #expect(sinks[0].restoresForOtherWriters > 0 && sinks[1].restoresForOtherWriters > 0)
            let together = try harness.snapshot()
            #expect(together.events == alone.events)
            #expect(together.derived == alone.derived)
            #expect(together.watermark == alone.watermark)
            #expect(try harness.rows("SELECT count(*) FROM cjm.batch_journal") == [["0"]])
        }
    }

    /// Two threads write at the same time, each half of the batches, on connections of
    /// their own: their transactions take turns on the row lock. With lateness longer than
    /// the scenario nothing is late, so any order of the batches gives the same tables.
    @Test(arguments: [7, 23, 4242] as [UInt64])
    func concurrentWritersEqualOneWriter(seed: UInt64) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: seed)
            var settings = ReplayDifferentialTests.configuration(for: scenario, batch: 40)
            settings.ingest.allowedLateness = .seconds(5 * 365 * 86_400)
            let configuration = settings
            let harness = try StoreHarness(conninfo: conninfo, configuration: configuration)
            let decoder = EventDecodingForTests(settings: configuration.ingest, now: harness.now)
            let batches = try Self.batches(scenario, decoder: decoder)

            let alone = try Self.oneWriter(harness, batches)

            try harness.reset()
            let failures = Failures()
            let restores = Failures()
            DispatchQueue.concurrentPerform(iterations: 2) { half in
                do {
                    let connection = try PostgresConnection(conninfo: conninfo)
                    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
                    let sink = try JourneySink(configuration: configuration, connection: connection, logger: logger)
                    for (index, batch) in batches.enumerated() where index % 2 == half {
                        try sink.commit(batch, watermark: .replay)
                    }
                    restores.add("\(sink.restoresForOtherWriters)")
                } catch {
                    failures.add("writer \(half): \(error)")
                }
            }
            #expect(failures.all.isEmpty)
            let sink = try JourneySink(
                configuration: configuration, connection: harness.connection, logger: harness.logger)
            try sink.commit(IngestBatch(), watermark: .finish(asOf: nil))
            let together = try harness.snapshot()
            #expect(together.events == alone.events)
            #expect(together.derived == alone.derived)
            #expect(restores.all.contains { $0 != "0" }, "the writers should have interleaved: \(restores.all)")
        }
    }

    /// A `rebuild` while a writer is running counts as a batch: the writer's next batch
    /// starts from the rebuilt tables, not from its memory.
    @Test func aRebuildInBetweenIsNoticed() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: 19)
            let configuration = ReplayDifferentialTests.configuration(for: scenario, batch: 40)
            let harness = try StoreHarness(conninfo: conninfo, configuration: configuration)
            let decoder = EventDecodingForTests(settings: configuration.ingest, now: harness.now)
            let batches = try Self.batches(scenario, decoder: decoder)
            try harness.reset()
            let sink = try JourneySink(
                configuration: configuration, connection: harness.connection, logger: harness.logger)
            try sink.commit(batches[0], watermark: .replay)
            let other = try PostgresConnection(conninfo: conninfo)
            _ = try JourneyRebuilder.rebuild(configuration: configuration, connection: other, logger: harness.logger)
            try sink.commit(batches[1], watermark: .replay)
            #expect(sink.restoresForOtherWriters == 1)
        }
    }
}

/// Strings collected from several threads.
private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ item: String) { lock.withLock { items.append(item) } }
    var all: [String] { lock.withLock { items } }
}
