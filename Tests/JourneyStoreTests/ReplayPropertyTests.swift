import Foundation
import JourneyCore
import JourneyReference
import JourneyStore
import Logging
import PostgresClient
import Testing

/// Replays are repeatable: twice changes nothing, halves in turn equal the whole, arrival
/// order within lateness does not matter, a rebuild or a restart gives the same tables.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct ReplayPropertyTests {
    static let seeds: [UInt64] = [7, 19, 23, 101, 4242]

    static func lines(_ scenario: Scenario, _ events: [TouchpointEvent]) -> String {
        scenario.ndjsonLines(for: events).joined()
    }

    @Test(arguments: seeds)
    func replayingTheSameFileTwiceChangesNothing(seed: UInt64) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: seed)
            let harness = try StoreHarness(
                conninfo: conninfo,
                configuration: ReplayDifferentialTests.configuration(for: scenario, batch: 100))
            let text = Self.lines(scenario, scenario.arrivals)
            let first = try harness.replay(text)
            let before = try harness.snapshot()
            let second = try harness.replay(text)
            let after = try harness.snapshot()
            #expect(first.outcome.stored > 0)
            #expect(second.outcome.stored == 0)
            #expect(second.outcome.duplicates == first.outcome.stored + first.outcome.duplicates)
            #expect(after == before)
        }
    }

    /// A replay that meets stored ids after batches of new ones: its engine, which ran
    /// ahead of the refused COPY, is restored (snapshot and journal) and the batch written
    /// again. The tables end as with every batch written plainly, one after the other.
    @Test(arguments: seeds)
    func storedIDsMidwayThroughAReplayChangeNothingButTheWay(seed: UInt64) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: seed)
            let harness = try StoreHarness(
                conninfo: conninfo,
                configuration: ReplayDifferentialTests.configuration(for: scenario, batch: 40))
            // The later part first; then all: new events for a while, then stored ones.
            let later = Self.lines(scenario, Array(scenario.arrivals[(scenario.arrivals.count / 2)...]))
            let all = Self.lines(scenario, scenario.arrivals)
            try harness.replay(later)
            let summary = try harness.replay(all)
            let overlapped = try harness.snapshot()
            #expect(summary.outcome.duplicates > 0 && summary.outcome.stored > 0)
            #expect(summary.batchesWrittenAgain > 0)

            try harness.reset()
            try harness.replay(later, derivedWriteInterval: 0, overlapsEngineWithCopy: false)
            try harness.replay(all, derivedWriteInterval: 0, overlapsEngineWithCopy: false)
            let plain = try harness.snapshot()
            #expect(overlapped.derived == plain.derived)
            #expect(overlapped.events == plain.events)
        }
    }

    /// Files replayed in one command are read ahead on another thread, one after the other,
    /// with batches spanning their ends: the tables equal those of their concatenation, and
    /// each file's committed position is its end.
    @Test(arguments: seeds)
    func severalFilesInOneReplayEqualTheirConcatenation(seed: UInt64) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: seed)
            let harness = try StoreHarness(
                conninfo: conninfo,
                configuration: ReplayDifferentialTests.configuration(for: scenario, batch: 37))
            let lines = scenario.ndjsonLines(for: scenario.arrivals)
            let third = lines.count / 3
            let parts = [
                lines[..<third].joined() + "not json\n", "", lines[third..<(2 * third)].joined(),
                "\n\n" + lines[(2 * third)...].joined() + "{\"half\": ",
            ]
            let (summary, files) = try harness.replay(files: parts)
            let separate = try harness.snapshot()
            #expect(summary.lines == parts.joined().split(separator: "\n", omittingEmptySubsequences: false).count)
            for (index, file) in files.enumerated() where file.size > 0 {
                #expect(file.committed == file.size, "file \(index)")
            }

            try harness.reset()
            try harness.replay(parts.joined())
            let joined = try harness.snapshot()
            #expect(separate.derived == joined.derived)
            #expect(separate.events == joined.events)
            #expect(separate.rejected.count == joined.rejected.count)
        }
    }

    @Test(arguments: seeds)
    func twoHalvesReplayedInTurnEqualTheWhole(seed: UInt64) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: seed)
            let harness = try StoreHarness(
                conninfo: conninfo,
                configuration: ReplayDifferentialTests.configuration(for: scenario, batch: 64))
            try harness.replay(Self.lines(scenario, scenario.arrivals))
            let whole = try harness.snapshot()

            // Split in event time, so the second half is not late for the first one's watermark.
            let times = scenario.arrivals.map(\.time).sorted()
            let cut = times[times.count / 2]
            try harness.reset()
            try harness.replay(Self.lines(scenario, scenario.arrivals.filter { $0.time < cut }))
            try harness.replay(Self.lines(scenario, scenario.arrivals.filter { $0.time >= cut }))
            let halves = try harness.snapshot()
            #expect(halves.derived == whole.derived)
            #expect(halves.events == whole.events)
        }
    }

    @Test(arguments: seeds)
    func arrivalOrderWithinLatenessDoesNotMatter(seed: UInt64) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: seed)
            let harness = try StoreHarness(
                conninfo: conninfo,
                configuration: ReplayDifferentialTests.configuration(for: scenario, batch: 50))
            try harness.replay(Self.lines(scenario, scenario.arrivals))
            let original = try harness.snapshot()
            for permutation in 1...2 {
                try harness.reset()
                let permuted = scenario.permutedArrivals(seed: seed &* 31 &+ UInt64(permutation))
                let summary = try harness.replay(Self.lines(scenario, permuted))
                #expect(summary.outcome.late == 0)
                #expect(try harness.snapshot().derived == original.derived)
            }
        }
    }

    @Test(arguments: seeds)
    func rebuildRecomputesTheSameTables(seed: UInt64) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: seed)
            let configuration = ReplayDifferentialTests.configuration(for: scenario, batch: 80)
            let harness = try StoreHarness(conninfo: conninfo, configuration: configuration)
            try harness.replay(Self.lines(scenario, scenario.arrivals))
            let replayed = try harness.snapshot()
            let summary = try JourneyRebuilder.rebuild(
                configuration: configuration, connection: harness.connection,
                logger: harness.logger)
            #expect(summary.events == replayed.events.count)
            let rebuilt = try harness.snapshot()
            #expect(rebuilt.derived == replayed.derived)
            #expect(rebuilt.watermark == replayed.watermark)
        }
    }

    /// Derived rows written every few batches, with the batches in between journaled, end
    /// with the tables of derived rows written with every batch — also when the process dies
    /// between two derived writes, and whether the next process is a replay (journaling
    /// again) or the daemon (writing with every batch).
    @Test(arguments: [(7, 0), (19, 150), (23, 1_000), (101, 150), (4242, 1_000)] as [(UInt64, Int)])
    func journaledBatchesSurviveACrashExactly(seed: UInt64, nextInterval: Int) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: seed)
            let configuration = ReplayDifferentialTests.configuration(for: scenario, batch: 40)
            let harness = try StoreHarness(conninfo: conninfo, configuration: configuration)
            try harness.replay(Self.lines(scenario, scenario.arrivals), derivedWriteInterval: 0)
            let perBatch = try harness.snapshot()

            try harness.reset()
            try harness.replay(Self.lines(scenario, scenario.arrivals), derivedWriteInterval: 150)
            let journaled = try harness.snapshot()
            #expect(journaled == perBatch)
            #expect(try harness.rows("SELECT count(*) FROM cjm.batch_journal") == [["0"]])

            try harness.reset()
            let decoder = EventDecodingForTests(settings: configuration.ingest, now: harness.now)
            let cut = scenario.arrivals.count * 6 / 10
            var derivedWrites = 0
            do {
                var policy = JourneySink.WritePolicy()
                policy.derivedWriteInterval = 150
                let sink = try JourneySink(
                    configuration: configuration, connection: harness.connection, logger: harness.logger,
                    policy: policy)
                var batch = IngestBatch()
                for line in scenario.ndjsonLines(for: Array(scenario.arrivals[..<cut])) {
                    batch.events.append(try decoder.accepted(line))
                    if batch.events.count == 40 {
                        try sink.commit(batch, watermark: .replay)
                        if try harness.rows("SELECT count(*) FROM cjm.batch_journal") == [["0"]] { derivedWrites += 1 }
                        batch = IngestBatch()
                    }
                }
                try sink.commit(batch, watermark: .replay)
            }
            let waiting = try harness.rows("SELECT count(*) FROM cjm.batch_journal")
            #expect(derivedWrites > 0, "the scenario should write derived rows before the crash")
            #expect(waiting != [["0"]], "the crash should leave journaled batches")
            // A new process replays everything (the first part again: duplicates).
            try harness.replay(Self.lines(scenario, scenario.arrivals), derivedWriteInterval: nextInterval)
            #expect(try harness.snapshot().derived == perBatch.derived)
            #expect(try harness.rows("SELECT count(*) FROM cjm.batch_journal") == [["0"]])
        }
    }

    /// A process that stops after committing some batches (before the end of its input)
    /// leaves events in the reorder buffer; the next process must restore them from the
    /// database and end with exactly the tables of an uninterrupted run.
    @Test(arguments: seeds)
    func restartAfterCommittedBatchesContinuesExactly(seed: UInt64) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: seed)
            let configuration = ReplayDifferentialTests.configuration(for: scenario, batch: 40)
            let harness = try StoreHarness(conninfo: conninfo, configuration: configuration)
            try harness.replay(Self.lines(scenario, scenario.arrivals))
            let uninterrupted = try harness.snapshot()

            try harness.reset()
            // Feed the first 60% through a sink in replay batches, never finishing: a crash.
            let decoder = EventDecodingForTests(settings: configuration.ingest, now: harness.now)
            let cut = scenario.arrivals.count * 6 / 10
            do {
                let sink = try JourneySink(
                    configuration: configuration, connection: harness.connection, logger: harness.logger)
                var batch = IngestBatch()
                for line in scenario.ndjsonLines(for: Array(scenario.arrivals[..<cut])) {
                    batch.events.append(try decoder.accepted(line))
                    if batch.events.count == 40 {
                        try sink.commit(batch, watermark: .replay)
                        batch = IngestBatch()
                    }
                }
                try sink.commit(batch, watermark: .replay)
                #expect(sink.bufferedEvents > 0, "the scenario should leave events unapplied at the crash")
            }
            // A new process replays everything (the first part again: duplicates).
            let summary = try harness.replay(Self.lines(scenario, scenario.arrivals))
            #expect(summary.outcome.duplicates >= cut - 5)
            let restarted = try harness.snapshot()
            #expect(restarted.derived == uninterrupted.derived)
        }
    }
}

/// The daemon's derived writes at a spacing (``JourneySink/liveDerivedWriteSpacing``):
/// batches in between only journal, and the tables end as if every batch had written them —
/// also when the process dies between two derived writes and a new one restores.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct LiveDerivedWriteSpacingTests {
    /// Feeds `events` in batches of 40 as live batches whose clock is the latest event time
    /// seen, then one batch far in the future that applies everything. Returns how many
    /// batches left rows in the journal.
    static func feed(
        _ lines: [String], into sink: JourneySink, decoder: EventDecodingForTests, harness: StoreHarness,
        clock: inout EventTime, end: Bool
    ) throws -> Int {
        var journaled = 0
        var batch = IngestBatch()
        func commit() throws {
            try sink.commit(batch, watermark: .live(now: clock))
            if try harness.rows("SELECT count(*) > 0 FROM cjm.batch_journal") == [["t"]] { journaled += 1 }
            batch = IngestBatch()
        }
        for line in lines {
            let accepted = try decoder.accepted(line)
            clock = max(clock, accepted.event.time)
            batch.events.append(accepted)
            if batch.events.count == 40 { try commit() }
        }
        try commit()
        if end {
            clock = clock + .seconds(400 * 86_400)
            try commit()
        }
        return journaled
    }

    @Test(arguments: [7, 19, 23, 101, 4242] as [UInt64])
    func spacedDerivedWritesEqualPerBatchOnesAlsoAcrossACrash(seed: UInt64) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let scenario = RandomScenario.make(seed: seed)
            let configuration = ReplayDifferentialTests.configuration(for: scenario, batch: 40)
            let harness = try StoreHarness(conninfo: conninfo, configuration: configuration)
            let decoder = EventDecodingForTests(settings: configuration.ingest, now: harness.now)
            let lines = scenario.ndjsonLines(for: scenario.arrivals)
            let times = scenario.arrivals.map(\.time)
            let spacing = TimeSpan(microseconds: max(1, (times.max()! - times.min()!).microseconds / 12))
            func journalRows() throws -> [[String?]] { try harness.rows("SELECT count(*) FROM cjm.batch_journal") }

            // Per batch, ending with one more batch at the same clock (as the spaced run does).
            try harness.reset()
            var clock = EventTime.distantPast
            do {
                let sink = try JourneySink(
                    configuration: configuration, connection: harness.connection, logger: harness.logger)
                _ = try Self.feed(lines, into: sink, decoder: decoder, harness: harness, clock: &clock, end: false)
                try sink.commit(IngestBatch(), watermark: .live(now: clock))
            }
            let perBatch = try harness.snapshot()

            try harness.reset()
            clock = .distantPast
            let cut = lines.count * 6 / 10
            do {
                let sink = try JourneySink(
                    configuration: configuration, connection: harness.connection, logger: harness.logger,
                    policy: JourneySink.WritePolicy.spaced(spacing))
                let journaled = try Self.feed(
                    Array(lines[..<cut]), into: sink, decoder: decoder, harness: harness,
                    clock: &clock, end: false)
                #expect(journaled > 0, "batches between derived writes should journal")
                // One more batch at the same clock: less than the spacing after any write, so
                // it journals, and the crash below certainly leaves journaled batches.
                try sink.commit(IngestBatch(), watermark: .live(now: clock))
                #expect(try journalRows() != [["0"]])
                // Dies here: whatever waits in the journal is not written.
            }
            do {
                let sink = try JourneySink(
                    configuration: configuration, connection: harness.connection, logger: harness.logger,
                    policy: JourneySink.WritePolicy.spaced(spacing))
                _ = try Self.feed(
                    Array(lines[cut...]), into: sink, decoder: decoder, harness: harness, clock: &clock, end: false)
                try sink.commit(IngestBatch(), watermark: .live(now: clock))
                #expect(try journalRows() != [["0"]], "the last batch journals; the stop must write what waits")
                try sink.writeWaitingDerivedRows()
                #expect(try journalRows() == [["0"]])
            }
            let spaced = try harness.snapshot()
            #expect(spaced.derived == perBatch.derived)
            #expect(spaced.events == perBatch.events)
            #expect(spaced.watermark == perBatch.watermark)
        }
    }
}

extension JourneySink.WritePolicy {
    /// Live derived writes at `spacing`, with no live clock (a write counts as instant).
    static func spaced(_ spacing: TimeSpan) -> JourneySink.WritePolicy {
        var policy = JourneySink.WritePolicy()
        policy.liveDerivedWriteSpacing = spacing
        return policy
    }
}
