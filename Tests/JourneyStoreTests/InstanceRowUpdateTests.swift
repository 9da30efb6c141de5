import JourneyCore
import JourneyReference
import JourneyStore
import Testing

/// Instance rows are rewritten in place (heap-only tuples, migration 9): a live rewrite of
/// an open instance leaves the table's indexes alone. Adding an index on a rewritten column,
/// or losing the free room on each page, would make every rewrite index the row again.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct InstanceRowUpdateTests {
    struct Rewrites {
        /// Row versions written by updates, and those of them kept on their page.
        var all: Int, inPlace: Int
        /// Instances closed by the end: each was rewritten once with `exited_at` set, which
        /// the partial index on open instances must see (never in place).
        var closed: Int
    }

    /// Feeds `lines` as live batches of 40 (derived rows written with each, the clock at the
    /// latest event time seen) and counts the rewrites of `cjm.journey_instances`.
    static func rewrites(_ lines: [String], harness: StoreHarness, configuration: CJMConfiguration) throws -> Rewrites {
        func counters() throws -> (updated: Int, inPlace: Int) {
            // A backend publishes its counters when idle, at most once a second unless asked.
            _ = try harness.rows("SELECT pg_stat_force_next_flush()")
            _ = try harness.rows("SELECT 1")
            let row = try harness.rows("""
                SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = 'cjm.journey_instances'::regclass
                """)[0]
            return (Int(row[0] ?? "") ?? -1, Int(row[1] ?? "") ?? -1)
        }
        try harness.reset()
        let before = try counters()
        let decoder = EventDecodingForTests(settings: configuration.ingest, now: harness.now)
        let sink = try JourneySink(configuration: configuration, connection: harness.connection, logger: harness.logger)
        var clock = EventTime.distantPast
        var batch = IngestBatch()
        for line in lines {
            let accepted = try decoder.accepted(line)
            clock = max(clock, accepted.event.time)
            batch.events.append(accepted)
            if batch.events.count == 40 {
                try sink.commit(batch, watermark: .live(now: clock))
                batch = IngestBatch()
            }
        }
        try sink.commit(batch, watermark: .live(now: clock))
        let after = try counters()
        let closed = try harness.rows("SELECT count(*) FROM cjm.journey_instances WHERE exited_at IS NOT NULL")
        return Rewrites(all: after.updated - before.updated, inPlace: after.inPlace - before.inPlace,
                        closed: Int(closed[0][0] ?? "") ?? -1)
    }

    @Test(arguments: [19, 23, 101, 4242] as [UInt64])
    func liveRewritesOfOpenInstancesStayOnTheirPage(seed: UInt64) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: seed)
            var configuration = ReplayDifferentialTests.configuration(for: scenario, batch: 40)
            // Instances stay open (until they convert), so that most rewrites are of open ones.
            for j in configuration.journeys.indices {
                configuration.journeys[j].conversionWindow = .seconds(10_000 * 86_400)
                for s in configuration.journeys[j].stages.indices { configuration.journeys[j].stages[s].abandonAfter = nil }
            }
            let harness = try StoreHarness(conninfo: conninfo, configuration: configuration)
            let rewrites = try Self.rewrites(scenario.ndjsonLines(for: scenario.arrivals), harness: harness,
                                             configuration: configuration)
            let ofOpenInstances = rewrites.all - rewrites.closed
            #expect(ofOpenInstances > 50, "the scenario should rewrite open instances: \(rewrites)")
            #expect(Double(rewrites.inPlace) >= 0.9 * Double(ofOpenInstances), "\(rewrites)")
        }
    }
}
