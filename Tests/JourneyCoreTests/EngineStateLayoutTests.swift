import Testing

@testable import JourneyCore

/// The engine's per-customer and per-instance state: its size (what figure 3 of `bench/run`
/// measures is mostly these, times millions) and the bookkeeping that keeps it small.
@Suite("Engine state")
struct EngineStateLayoutTests {
    /// Sizes the memory budget (≤ 300 bytes per open instance) is built on; a field added to
    /// either type must be weighed against it, and this test updated with the reason.
    @Test func perCustomerAndPerInstanceStateKeepTheirSizes() {
        #expect(MemoryLayout<CustomerState>.stride == 24)
        #expect(MemoryLayout<OpenInstance>.stride == 64)
        #expect(MemoryLayout<JourneySlot>.stride == 12)
        #expect(MemoryLayout<ScheduledDeadline>.stride == 16)
    }

    @Test func pairsInTheTableAreSharedAndPairsBeyondItAreKeptPerCustomer() {
        var names = LastEventNames(capacity: 3)
        let a = names.code(event: "page_view", touchpoint: "web", customer: 0, previous: LastEventNames.noneCode)
        let b = names.code(event: "page_view", touchpoint: "app", customer: 1, previous: LastEventNames.noneCode)
        #expect(a != b && a > 0 && b > 0)
        #expect(names.code(event: "page_view", touchpoint: "web", customer: 2, previous: LastEventNames.noneCode) == a)
        // The table is full (the empty pair and two others): new pairs stay with their customer.
        let c = names.code(event: "purchase", touchpoint: "web", customer: 3, previous: LastEventNames.noneCode)
        let d = names.code(event: "refund", touchpoint: "store", customer: 4, previous: LastEventNames.noneCode)
        #expect(c == LastEventNames.outsideCode && d == LastEventNames.outsideCode)
        #expect(names.pair(c, customer: 3) == .init(event: "purchase", touchpoint: "web"))
        #expect(names.pair(d, customer: 4) == .init(event: "refund", touchpoint: "store"))
        #expect(names.pair(a, customer: 3) == .init(event: "page_view", touchpoint: "web"))
        #expect(names.outsideCount == 2)
        // A customer outside whose next pair is outside too keeps only the newest one.
        let c2 = names.code(event: "return", touchpoint: "store", customer: 3, previous: c)
        #expect(names.pair(c2, customer: 3) == .init(event: "return", touchpoint: "store"))
        #expect(names.outsideCount == 2)
        // Back to a pair of the table: what was kept beside it is forgotten.
        #expect(names.code(event: "page_view", touchpoint: "app", customer: 3, previous: c2) == b)
        #expect(names.outsideCount == 1)
        #expect(names.pair(LastEventNames.noneCode, customer: 9) == .init(event: "", touchpoint: ""))
    }

    /// The instance's extras are copied on write: a copy taken before a change keeps what it
    /// had (the engine copies instances when it fires deadlines and builds records).
    @Test func copiesOfAnInstanceDoNotShareChanges() {
        var original = OpenInstance(instance: 1, enteredAt: EventTime(microseconds: 10))
        original.advance(to: 1, at: EventTime(microseconds: 20))
        original.painPoints.append(
            PainPoint(
                event: "complaint", touchpoint: "support", time: EventTime(microseconds: 20), stageIndex: 1,
                sentiment: nil))
        let copy = original
        original.advance(to: 2, at: EventTime(microseconds: 30))
        original.stages[1].events += 5
        original.stages[0].events += 1
        original.painPoints.removeAll()
        #expect(copy.stages.count == 2 && original.stages.count == 3)
        #expect(copy.stages[1].events == 0 && original.stages[1].events == 5)
        #expect(copy.stages[0].events == 0 && original.stages[0].events == 1)
        #expect(copy.painPoints.count == 1 && original.painPoints.isEmpty)
        #expect(copy.stages[1].reachedAt == EventTime(microseconds: 20))
        #expect(original.stages[2].reachedAt == EventTime(microseconds: 30))
        #expect(!copy.isFlagged && !original.isFlagged)
    }

    @Test func anInstanceInItsFirstStageNeedsNoExtras() {
        var instance = OpenInstance(instance: 1, enteredAt: EventTime(microseconds: 10))
        instance.stages[0].events += 3
        instance.flaggedMoment = nil
        #expect(instance.stages.count == 1 && instance.stages[0].events == 3)
        #expect(!instance.hasExtras)
        instance.advance(to: 1, at: EventTime(microseconds: 11))
        #expect(instance.hasExtras)
    }
}
