import Testing

@testable import JourneyCore

/// The per-event stage map: packed for small configurations, spilled for large ones, the
/// same either way.
@Suite struct StageMapTests {
    @Test func packedAndSpilledMapsGiveBackWhatTheyWereMadeOf() {
        let cases: [[Int?]] = [
            [], [nil], [0], [nil, 3, nil], [254, 0, nil, 7, nil, nil, 1, 2],
            [255], [1, nil, 2, nil, 3, nil, 4, nil, 5],  // spilled: a stage past 254, nine journeys
        ]
        for stages in cases {
            let map = StageMap(stages)
            #expect(map.stages(journeys: stages.count) == stages, "\(stages)")
            #expect(StageMap(journeys: stages.count) { stages[$0] } == map, "built journey by journey: \(stages)")
            #expect(map[stages.count] == nil, "a journey past the map has no stage")
            #expect(map.isEmpty == stages.allSatisfy { $0 == nil })
        }
        #expect(StageMap([nil, 2]) == StageMap([nil, 2]))
        #expect(StageMap([nil, 2]) != StageMap([2, nil]))
    }

    @Test func theCatalogsMapHonoursTheJourneyRestriction() {
        let catalog = JourneyCatalog(journeys: [
            JourneyDefinition(
                name: "a", conversionWindow: .seconds(60),
                stages: [
                    StageDefinition(name: "s0", events: [EventPattern("visit")]),
                    StageDefinition(name: "s1", events: [EventPattern("buy")]),
                ]),
            JourneyDefinition(
                name: "b", conversionWindow: .seconds(60),
                stages: [
                    StageDefinition(name: "t0", events: [EventPattern("buy")]),
                    StageDefinition(name: "t1", events: [EventPattern("visit")]),
                ]),
        ])
        var event = TouchpointEvent(
            eventID: "e", customerID: "c", name: "buy", time: EventTime(seconds: 1), touchpoint: "web")
        #expect(catalog.stageMap(for: event).stages(journeys: 2) == [1, 0])
        event.journey = "b"
        #expect(catalog.stageMap(for: event).stages(journeys: 2) == [nil, 0])
        #expect(catalog.stageMap(for: event).stages(journeys: 2) == catalog.mappedStages(for: event))
    }
}
