import Foundation
import IngestEnvelope
import JourneyCore
import JourneyReference
import JourneyStore
import Testing

@testable import Ingest

/// When the live commit loop has work without new events (`JourneySink.nextLiveDueTime`):
/// the instant the earliest buffered event is applied, and the instant the derived rows of
/// journaled batches may be written — exactly those instants, not a microsecond later.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct LiveDueTimeTests {
    @Test func dueWhenTheEarliestBufferedEventAppliesAndWhenTheDerivedRowsMayBeWritten() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let lateness = TimeSpan.seconds(5)
            let spacing = TimeSpan.seconds(3600)
            let setup = try SpacedSink(conninfo: conninfo, seed: 19, lateness: lateness, spacing: spacing)
            let sink = setup.sink
            func journalRows() throws -> String? { try setup.journalRows() }
            #expect(sink.nextLiveDueTime == nil, "nothing buffered, nothing journaled")

            var batch = IngestBatch()
            batch.events = try setup.firstEvents(60)
            let clock = batch.events.map(\.event.time).max()!
            // The first live batch writes the derived rows; the live watermark (clock −
            // lateness) leaves the events at or after it buffered.
            try sink.commit(batch, watermark: .live(now: clock))
            let earliestBuffered = try #require(batch.events.map(\.event.time).filter { $0 >= clock - lateness }.min())
            let eventDue = earliestBuffered + lateness + TimeSpan(microseconds: 1)
            let buffered = sink.bufferedEvents
            #expect(buffered > 0)
            #expect(try journalRows() == "0")
            #expect(sink.nextLiveDueTime == eventDue)

            // A microsecond early, the event stays buffered (and the batch journals: the
            // derived rows wait for their spacing); at the due time it is applied.
            try sink.commit(IngestBatch(), watermark: .live(now: eventDue - TimeSpan(microseconds: 1)))
            #expect(sink.bufferedEvents == buffered)
            #expect(try journalRows() == "1")
            try sink.commit(IngestBatch(), watermark: .live(now: eventDue))
            #expect(sink.bufferedEvents < buffered)

            // Everything applied, the derived rows waiting: due when the spacing has passed
            // since the last write (at `clock`), and written exactly then.
            let derivedDue = clock + spacing
            try sink.commit(IngestBatch(), watermark: .live(now: derivedDue - TimeSpan(microseconds: 1)))
            #expect(sink.bufferedEvents == 0)
            #expect(try journalRows() == "3")
            #expect(sink.nextLiveDueTime == derivedDue)
            try sink.commit(IngestBatch(), watermark: .live(now: derivedDue))
            #expect(try journalRows() == "0")
            #expect(sink.nextLiveDueTime == nil)
        }
    }

    /// A derived write that outlasts the spacing (the rows of a burst coming due at once) is
    /// followed by half a spacing of batches that only journal, measured from its end by
    /// the live clock: otherwise every later batch, each at most `batch_max_events`, would
    /// write again while the rows catch up, and taking in events would slow to a trickle.
    /// A write shorter than the spacing keeps the rhythm from its start.
    @Test func aLongDerivedWriteIsFollowedByHalfASpacingOfJournaledBatches() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let spacing = TimeSpan.seconds(1)
            // No lateness: after the next batch nothing is buffered, and the due time is the
            // derived rows' alone.
            let liveClock = SettableClock()
            let setup = try SpacedSink(
                conninfo: conninfo, seed: 23, lateness: .zero, spacing: spacing,
                liveClock: { liveClock.now })
            let sink = setup.sink
            func journalRows() throws -> String? { try setup.journalRows() }

            var batch = IngestBatch()
            batch.events = try setup.firstEvents(40)
            let start = batch.events.map(\.event.time).max()!
            // The write begins at `start` and, by the live clock, ends 3 s later.
            let end = start + .seconds(3)
            liveClock.now = end
            try sink.commit(batch, watermark: .live(now: start))
            #expect(try journalRows() == "0", "the first live batch writes the derived rows")

            // Past the spacing since the write began, but not half of it since the write ended.
            let due = end + TimeSpan(microseconds: spacing.microseconds / 2)
            try sink.commit(IngestBatch(), watermark: .live(now: start + spacing))
            #expect(sink.bufferedEvents == 0)
            #expect(sink.nextLiveDueTime == due)
            try sink.commit(IngestBatch(), watermark: .live(now: due - TimeSpan(microseconds: 1)))
            #expect(try journalRows() == "2")
            // This write takes 0.8 s, less than the spacing: the next is due a spacing after
            // it began, as without the live clock (not half a spacing after it ended).
            liveClock.now = due + .milliseconds(800)
            try sink.commit(IngestBatch(), watermark: .live(now: due))
            #expect(try journalRows() == "0")
            try sink.commit(IngestBatch(), watermark: .live(now: due + TimeSpan(microseconds: 1)))
            #expect(try journalRows() == "1")
            #expect(sink.nextLiveDueTime == due + spacing)
        }
    }

    /// A live sink on a fresh database whose derived writes are spaced, on a random scenario.
    struct SpacedSink {
        let scenario: Scenario
        let harness: StoreHarness
        let decoder: EventDecodingForTests
        let sink: JourneySink

        init(
            conninfo: String, seed: UInt64, lateness: TimeSpan, spacing: TimeSpan,
            liveClock: (@Sendable () -> EventTime)? = nil
        ) throws {
            scenario = RandomScenario.make(seed: seed)
            var configuration = ReplayDifferentialTests.configuration(for: scenario, batch: 60)
            configuration.ingest.allowedLateness = lateness
            harness = try StoreHarness(conninfo: conninfo, configuration: configuration)
            try harness.reset()
            decoder = EventDecodingForTests(settings: configuration.ingest, now: harness.now)
            var policy = JourneySink.WritePolicy.spaced(spacing)
            policy.liveClock = liveClock
            sink = try JourneySink(
                configuration: configuration, connection: harness.connection, logger: harness.logger,
                policy: policy)
        }

        /// The scenario's first `count` arrivals, decoded.
        func firstEvents(_ count: Int) throws -> [AcceptedEvent] {
            try scenario.ndjsonLines(for: scenario.arrivals).prefix(count).map { try decoder.accepted($0) }
        }

        /// Rows in `cjm.batch_journal`: batches applied since the last derived write.
        func journalRows() throws -> String? { try harness.rows("SELECT count(*) FROM cjm.batch_journal")[0][0] }
    }

    @Test func theIdleWaitEndsAtTheDueTimeWithinItsBounds() {
        let now = EventTime(microseconds: 1_700_000_000_000_000)
        #expect(LivePipeline.idleWait(until: nil, now: now) == LivePipeline.maximumIdleWait)
        #expect(LivePipeline.idleWait(until: now + .milliseconds(300), now: now) == 0.3)
        #expect(LivePipeline.idleWait(until: now + .seconds(30), now: now) == LivePipeline.maximumIdleWait)
        #expect(LivePipeline.idleWait(until: now - .seconds(1), now: now) == LivePipeline.minimumIdleWait)
        #expect(LivePipeline.idleWait(until: .distantPast, now: now) == LivePipeline.minimumIdleWait)
    }
}

/// A live clock a test sets by hand.
final class SettableClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value = EventTime.distantPast
    var now: EventTime {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
