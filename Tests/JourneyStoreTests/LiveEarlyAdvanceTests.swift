import DaemonSettings
import JourneyCore
import JourneyReference
import JourneyStore
import Testing

/// A live batch moves the watermark over earlier batches' events while the database stores
/// its own (`JourneySink.advancesLiveWatermarkDuringCopy`); the tables must be exactly those
/// of the plain order (ingest, then advance), late events and duplicates included. (With the
/// derived-write spacing, a crash and the journal, `LiveDerivedWriteSpacingTests` compares
/// runs that both advance early; together they cover that case against the plain order.)
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct LiveEarlyAdvanceTests {
    struct Run {
        var snapshot: TablesSnapshot
        var late: Int
        var duplicates: Int
        var advancedDuringCopy: Int
    }

    /// Commits `lines` as live batches of `batchSize`, the clock at the latest event time
    /// seen, then one batch far in the future that applies everything.
    static func run(
        _ lines: [String], configuration: CJMConfiguration, harness: StoreHarness,
        batchSize: Int, early: Bool
    ) throws -> Run {
        try harness.reset()
        let decoder = EventDecodingForTests(settings: configuration.ingest, now: harness.now)
        var policy = JourneySink.WritePolicy()
        policy.advancesLiveWatermarkDuringCopy = early
        let sink = try JourneySink(
            configuration: configuration, connection: harness.connection, logger: harness.logger,
            policy: policy)
        var late = 0
        var duplicates = 0
        var clock = EventTime.distantPast
        var batch = IngestBatch()
        func commit() throws {
            let outcome = try sink.commit(batch, watermark: .live(now: clock))
            late += outcome.late
            duplicates += outcome.duplicates
            batch = IngestBatch()
        }
        for line in lines {
            let accepted = try decoder.accepted(line)
            clock = max(clock, accepted.event.time)
            batch.events.append(accepted)
            if batch.events.count == batchSize { try commit() }
        }
        try commit()
        clock = clock + .seconds(400 * 86_400)
        try commit()
        return Run(
            snapshot: try harness.snapshot(), late: late, duplicates: duplicates,
            advancedDuringCopy: sink.liveBatchesAdvancedDuringCopy)
    }

    /// `tightLateness` shrinks the allowed lateness below the scenario's disorder, so that
    /// many events arrive behind the watermark (late) and batches mix late and on-time ones.
    /// Batches of 40 rows end before the first slice of the advance (every 256 rows), so
    /// the advance is done after the COPY; batches of 300 do part of it after the first 256 rows
    /// (in scenarios long enough for several batches).
    @Test(arguments: [7, 19, 23, 102, 4242] as [UInt64], [false, true])
    func advancingDuringTheCopyChangesNoTable(seed: UInt64, tightLateness: Bool) throws {
        for batchSize in [40, 300] {
            try Self.compare(seed: seed, tightLateness: tightLateness, batchSize: batchSize)
        }
    }

    static func compare(seed: UInt64, tightLateness: Bool, batchSize: Int) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: seed)
            var configuration = ReplayDifferentialTests.configuration(for: scenario, batch: batchSize)
            if tightLateness { configuration.ingest.allowedLateness = .milliseconds(1) }
            let harness = try StoreHarness(conninfo: conninfo, configuration: configuration)
            let lines = scenario.ndjsonLines(for: scenario.arrivals)

            let plain = try run(
                lines, configuration: configuration, harness: harness, batchSize: batchSize, early: false)
            let early = try run(
                lines, configuration: configuration, harness: harness, batchSize: batchSize, early: true)

            #expect(plain.advancedDuringCopy == 0)
            #expect(early.advancedDuringCopy > 0, "no batch advanced during its COPY: the test proves nothing")
            if tightLateness, batchSize == 40 { #expect(early.late > 0, "the tight lateness should make events late") }
            #expect(early.late == plain.late)
            #expect(early.duplicates == plain.duplicates)
            #expect(early.snapshot.derived == plain.snapshot.derived)
            #expect(early.snapshot.events == plain.snapshot.events)
            #expect(early.snapshot.watermark == plain.snapshot.watermark)
        }
    }
}
