import JourneyCore
import Testing

@testable import JourneyStore

/// The sink's write timing and writer fence, fed directly: no database.
@Suite struct DerivedWriteScheduleTests {
    let t0 = EventTime(seconds: 1_796_558_400)

    @Test func withTheDefaultPolicyEveryBatchWritesTheDerivedRows() {
        let schedule = DerivedWriteSchedule(policy: JourneySink.WritePolicy())
        #expect(schedule.isDue(.replay, pendingChangeBytes: 0))
        #expect(schedule.isDue(.live(now: t0), pendingChangeBytes: 0))
        #expect(schedule.isDue(.finish(asOf: nil), pendingChangeBytes: 0))
        #expect(schedule.isDue(.through(t0), pendingChangeBytes: 0))
    }

    @Test func aReplayWritesAfterItsIntervalOrAtItsBudget() {
        var policy = JourneySink.WritePolicy()
        policy.derivedWriteInterval = 100
        policy.derivedWriteBudget = 1_000
        var schedule = DerivedWriteSchedule(policy: policy)
        schedule.applied(60)
        #expect(!schedule.isDue(.replay, pendingChangeBytes: 999))
        #expect(schedule.isDue(.replay, pendingChangeBytes: 1_000), "the memory budget comes first")
        schedule.applied(40)
        #expect(schedule.isDue(.replay, pendingChangeBytes: 0), "100 events applied")
        #expect(schedule.isDue(.finish(asOf: nil), pendingChangeBytes: 0), "the end always writes")
        schedule.tookChanges()
        schedule.wroteDerivedRows(rule: .replay)
        #expect(schedule.unwrittenEvents == 0 && !schedule.isDue(.replay, pendingChangeBytes: 0))
    }

    @Test func liveWritesAreSpacedFromTheStartOfTheLastWrite() {
        var schedule = DerivedWriteSchedule(policy: .spaced(.milliseconds(500)))
        #expect(schedule.isDue(.live(now: t0), pendingChangeBytes: 0), "the first live batch writes")
        schedule.wroteDerivedRows(rule: .live(now: t0))
        #expect(!schedule.isDue(.live(now: t0 + .milliseconds(499)), pendingChangeBytes: 0))
        #expect(schedule.isDue(.live(now: t0 + .milliseconds(500)), pendingChangeBytes: 0))
        #expect(schedule.isDue(.live(now: t0 - .seconds(1)), pendingChangeBytes: 0), "a clock that went back writes")
    }

    @Test func aWriteThatOutlastedTheSpacingIsFollowedByHalfASpacingOfJournaling() {
        let end = SettableClock()
        var policy = JourneySink.WritePolicy.spaced(.seconds(1))
        policy.liveClock = { end.now }
        var schedule = DerivedWriteSchedule(policy: policy)
        end.now = t0 + .seconds(3)
        schedule.wroteDerivedRows(rule: .live(now: t0))
        #expect(schedule.nextLiveWrite(spacing: .seconds(1)) == t0 + .milliseconds(3500))
        end.now = t0 + .seconds(4)
        schedule.wroteDerivedRows(rule: .live(now: t0 + .milliseconds(3500)))
        #expect(
            schedule.nextLiveWrite(spacing: .seconds(1)) == t0 + .milliseconds(4500), "0.5 s write: the rhythm stays")
    }

    @Test func theNextDueTimeIsTheEarlierOfABufferedEventAndWaitingDerivedRows() {
        var schedule = DerivedWriteSchedule(policy: .spaced(.seconds(1)))
        let lateness = TimeSpan.seconds(5)
        #expect(schedule.nextLiveDueTime(pendingFrom: nil, lateness: lateness) == nil, "nothing waits")
        #expect(
            schedule.nextLiveDueTime(pendingFrom: t0, lateness: lateness) == t0 + .seconds(5)
                + TimeSpan(microseconds: 1))
        schedule.restored(journaledBatches: 2, journaledEvents: 10)
        #expect(
            schedule.nextLiveDueTime(pendingFrom: t0, lateness: lateness) == .distantPast,
            "journaled before any live write: due now")
        schedule.wroteDerivedRows(rule: .live(now: t0))
        schedule.journaled()
        #expect(schedule.nextLiveDueTime(pendingFrom: t0, lateness: lateness) == t0 + .seconds(1))
    }

    @Test func theFenceAsksForARestoreWhenAnotherWriterCommitted() {
        var fence = WriterFence(seen: 7)
        #expect(fence.claimed(8) == .init(otherWriterCommitted: false, report: false))
        fence.committed()
        #expect(fence.seen == 8)
        // Another process committed twice meanwhile.
        #expect(fence.claimed(11) == .init(otherWriterCommitted: true, report: true))
        fence.restored(seen: 11)
        fence.committed()
        #expect(fence.seen == 11)
        var reports: [Int] = []
        for n in 2...9 {
            if fence.claimed(Int64(100 * n)).report { reports.append(n) }
        }
        #expect(reports == [2, 4, 8], "logged the first time, then at 2, 4, 8 … restores")
        #expect(fence.restoresForOtherWriters == 9)
    }
}
