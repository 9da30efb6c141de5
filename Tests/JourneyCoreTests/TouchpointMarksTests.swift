import JourneyReference
import Testing

@testable import JourneyCore

/// The distinct customers of a touchpoint are a running count (migration 008): the marks
/// must say "first time" exactly once per customer, journey and pair — beyond the 64 pairs a
/// word holds, and after a restore from what the store keeps.
@Suite("Touchpoint marks")
struct TouchpointMarksTests {
    /// Hundreds of pairs (most numbered past 64) over a few journeys and customers, met in
    /// random order with repeats, against a set of what was met.
    @Test(arguments: 1...5)
    func firstMeetingsMatchASet(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let journeys = 3
        let customers = 40
        var marks = TouchpointMarks(journeys: journeys)
        marks.addSlots(customers * journeys)
        var met = Set<String>()
        var firsts = 0
        for _ in 0..<20_000 {
            let customer = Int(random.next() % UInt64(customers))
            let journey = Int(random.next() % UInt64(journeys))
            let stage = Int(random.next() % 4)
            let touchpoint = "tp\(random.next() % 60)"
            let code = marks.code(journey: journey, stageIndex: stage, touchpoint: touchpoint)
            #expect(
                marks.pair(journey: journey, code: code) == TouchpointPair(stageIndex: stage, touchpoint: touchpoint))
            let first = marks.mark(slot: customer * journeys + journey, code: code)
            #expect(first == met.insert("\(customer)|\(journey)|\(stage)|\(touchpoint)").inserted)
            if first { firsts += 1 }
        }
        #expect(firsts == met.count)
        #expect(marks.code(journey: 0, stageIndex: 3, touchpoint: "tp59") >= 64, "the test must reach the overflow set")
    }

    /// A restored engine knows the pairs its customers met before: meeting them again counts
    /// nobody, meeting a new one counts the customer once, and the instance record carries
    /// only the new pair.
    @Test func restoredPairsAreNotCountedAgain() {
        let journey = JourneyDefinition(
            name: "j", conversionWindow: .seconds(1000),
            stages: [
                StageDefinition(name: "in", events: [EventPattern("in")]),
                StageDefinition(name: "out", events: [EventPattern("out")]),
            ])
        var snapshot = EngineSnapshot()
        snapshot.customerJourneys = [
            StoredCustomerJourney(
                journey: 0, customerID: "c", instances: 1, furthestStage: 0,
                touchpointPairs: [
                    TouchpointPair(stageIndex: 0, touchpoint: "web"), TouchpointPair(stageIndex: 0, touchpoint: "app"),
                ])
        ]
        var engine = JourneyEngine(
            catalog: JourneyCatalog(journeys: [journey]), allowedLateness: .seconds(0), restoring: snapshot)
        func event(_ id: String, _ name: String, _ second: Int64, _ touchpoint: String) -> TouchpointEvent {
            TouchpointEvent(
                eventID: id, customerID: "c", name: name, time: EventTime(microseconds: second * 1_000_000),
                touchpoint: touchpoint)
        }
        engine.ingest(event("1", "in", 10, "web"), sequence: 1)
        engine.ingest(event("2", "in", 11, "app"), sequence: 2)
        engine.ingest(event("3", "in", 12, "email"), sequence: 3)
        engine.ingest(event("4", "in", 13, "email"), sequence: 4)
        engine.finish(asOf: EventTime(microseconds: 20_000_000))
        let changes = engine.takeChanges()
        let customers = changes.touchpoints.mapValues(\.customers)
        #expect(customers[TouchpointKey(journey: 0, stageIndex: 0, touchpoint: "web")] == 0)
        #expect(customers[TouchpointKey(journey: 0, stageIndex: 0, touchpoint: "app")] == 0)
        #expect(customers[TouchpointKey(journey: 0, stageIndex: 0, touchpoint: "email")] == 1)
        #expect(changes.touchpoints[TouchpointKey(journey: 0, stageIndex: 0, touchpoint: "email")]?.events == 2)
        #expect(changes.instances.map(\.instance) == [2])
        #expect(changes.instances.first?.firstTouches == [TouchpointPair(stageIndex: 0, touchpoint: "email")])
    }
}
