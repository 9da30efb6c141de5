import JourneyCore
import Testing

/// The repeat loop's rules one at a time, with time injected (docs/semantics.md, "The repeat
/// loop"): the window's end against the watermark mid-stream, an entry exactly at it, late
/// entries, and a restart that decides a waiting conversion exactly once.
@Suite struct RepeatLoopTests {
    static let start = EventTime(seconds: 1_767_225_600)  // 2026-01-01T00:00:00Z
    static let window = TimeSpan.hours(2)
    static let journey = JourneyDefinition(
        name: "purchase", conversionWindow: .days(1),
        stages: [
            StageDefinition(name: "visit", events: [EventPattern("visit")]),
            StageDefinition(name: "buy", events: [EventPattern("buy")]),
        ], repeatWindow: window)
    /// When the conversion at `start + 60 s` stops waiting.
    static let windowEnd = start + .seconds(60) + window

    static func engine(restoring snapshot: EngineSnapshot = .init()) -> JourneyEngine {
        JourneyEngine(
            catalog: JourneyCatalog(journeys: [journey]), allowedLateness: .seconds(1), restoring: snapshot)
    }

    static func event(_ name: String, at time: EventTime, touchpoint: String = "web") -> TouchpointEvent {
        TouchpointEvent(
            eventID: "\(name)-\(time.microseconds)", customerID: "c-1", name: name, time: time, touchpoint: touchpoint)
    }

    /// A customer who visited at `start` and bought a minute later, applied.
    static func converted() -> JourneyEngine {
        var engine = engine()
        engine.ingest(event("visit", at: start), sequence: 1)
        engine.ingest(event("buy", at: start + .seconds(60)), sequence: 2)
        engine.advanceWatermark(to: start + .seconds(61))
        return engine
    }

    @Test func aWindowEndingAtTheWatermarkWaitsUntilTheWatermarkPassesIt() {
        var engine = Self.converted()
        let conversion = engine.takeChanges()
        #expect(conversion.repeatLoop[RepeatLoopKey(journey: 0)] == RepeatTally(converted: 1))
        #expect(conversion.repeatPending.map(\.exitedAt) == [Self.start + .seconds(60)])

        // Every event before the window's end is applied, but one at it could still come.
        engine.advanceWatermark(to: Self.windowEnd)
        let atTheEnd = engine.takeChanges()
        #expect(atTheEnd.repeatLoop.isEmpty && atTheEnd.repeatDecided.isEmpty)

        engine.advanceWatermark(to: Self.windowEnd + TimeSpan(microseconds: 1))
        let after = engine.takeChanges()
        #expect(after.repeatLoop[RepeatLoopKey(journey: 0)] == RepeatTally(didNotReturn: 1))
        #expect(after.repeatLoop[RepeatLoopKey(journey: 0, persona: "unknown")] == RepeatTally(didNotReturn: 1))
        #expect(after.repeatDecided.map(\.customerID) == ["c-1"])
        #expect(after.repeatTriggers.isEmpty && after.returnTimes.isEmpty)
    }

    @Test func anEntryExactlyAtTheWindowsEndIsAReturn() {
        var engine = Self.converted()
        _ = engine.takeChanges()
        engine.ingest(Self.event("visit", at: Self.windowEnd, touchpoint: "email"), sequence: 3)
        engine.advanceWatermark(to: Self.windowEnd + .seconds(10))
        let changes = engine.takeChanges()
        #expect(changes.repeatLoop[RepeatLoopKey(journey: 0)] == RepeatTally(returned: 1))
        #expect(
            changes.returnTimes == [
                ReturnTimeKey(journey: 0, bucket: DurationBuckets.bucket(Self.window)): 1,
                ReturnTimeKey(journey: 0, bucket: DurationBuckets.bucket(Self.window), persona: "unknown"): 1,
            ])
        #expect(changes.repeatTriggers == [RepeatTriggerKey(journey: 0, event: "visit", touchpoint: "email"): 1])
        #expect(changes.repeatDecided.map(\.customerID) == ["c-1"])
    }

    @Test func aLateEntryAfterTheDecisionIsNoReturn() {
        var engine = Self.converted()
        engine.advanceWatermark(to: Self.windowEnd + .seconds(10))
        _ = engine.takeChanges()
        // Behind the watermark: applied on arrival, opening the next instance, too late to count.
        let late = engine.ingest(Self.event("visit", at: Self.windowEnd - .seconds(30)), sequence: 3)
        #expect(late)
        let changes = engine.takeChanges()
        #expect(changes.instances.map(\.instance) == [2])
        #expect(changes.repeatLoop.isEmpty && changes.repeatTriggers.isEmpty)
    }

    @Test func aLateEntryBeforeTheConversionReturnsAfterZeroSeconds() {
        var engine = Self.converted()
        engine.advanceWatermark(to: Self.start + .seconds(100))
        _ = engine.takeChanges()
        let late = engine.ingest(Self.event("visit", at: Self.start + .seconds(30)), sequence: 3)
        #expect(late)
        let changes = engine.takeChanges()
        #expect(changes.repeatLoop[RepeatLoopKey(journey: 0)] == RepeatTally(returned: 1))
        #expect(changes.returnTimes[ReturnTimeKey(journey: 0, bucket: DurationBuckets.bucket(TimeSpan.zero))] == 1)
    }

    @Test func aRestoredEngineDecidesAWaitingConversionOnce() {
        var first = Self.converted()
        let handedOut = first.takeChanges()
        var snapshot = EngineSnapshot()
        snapshot.watermark = first.watermark
        snapshot.maxEventTime = first.maxEventTime
        snapshot.repeatPending = handedOut.repeatPending
        snapshot.customerJourneys = [
            StoredCustomerJourney(journey: 0, customerID: "c-1", instances: 1, furthestStage: 1, touchpointPairs: [])
        ]

        var lapsing = Self.engine(restoring: snapshot)
        lapsing.advanceWatermark(to: Self.windowEnd + .seconds(1))
        lapsing.advanceWatermark(to: Self.windowEnd + .hours(5))
        #expect(lapsing.takeChanges().repeatLoop[RepeatLoopKey(journey: 0)] == RepeatTally(didNotReturn: 1))

        var returning = Self.engine(restoring: snapshot)
        returning.ingest(Self.event("visit", at: Self.windowEnd - .seconds(10)), sequence: 3)
        returning.advanceWatermark(to: Self.windowEnd + .hours(5))
        let changes = returning.takeChanges()
        #expect(changes.repeatLoop[RepeatLoopKey(journey: 0)] == RepeatTally(returned: 1))
        #expect(changes.instances.map(\.instance) == [2])
    }
}
