import Testing

@testable import Ingest

@Suite("When the commit loop returns freed memory")
struct MemoryTrimScheduleTests {
    private let second: UInt64 = 1_000_000_000

    @Test func trimsOnceWhenWorkEndsAndNotWhileIdle() {
        var schedule = MemoryTrimSchedule()
        // (busy, seconds) → whether a trim is due.
        let steps: [(Bool, UInt64)] = [
            (false, 1), (true, 2), (true, 3), (false, 4), (false, 5), (false, 500), (true, 501), (false, 502),
        ]
        let due = steps.map { schedule.isDue(busy: $0.0, now: $0.1 * second) }
        // Nothing before any work; once at the first idle batch after work; not again while
        // idle, however long; once more after the next work.
        #expect(due == [false, false, false, true, false, false, false, true])
    }

    @Test func trimsEveryMinuteUnderContinuousLoad() {
        var schedule = MemoryTrimSchedule()
        var trims: [UInt64] = []
        for t in stride(from: UInt64(10), through: 200, by: 1) where schedule.isDue(busy: true, now: t * second) {
            trims.append(t)
        }
        #expect(trims == [70, 130, 190])
    }
}
