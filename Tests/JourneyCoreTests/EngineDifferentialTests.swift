import Foundation
import JourneyCore
import JourneyReference
import Testing

/// The engine against the plain reference recomputation (Tests/JourneyReference), over
/// thousands of random scenarios: configurations of 2–6 stages, windows, abandonment,
/// touchpoint filters, globs, disorder within lateness and duplicates.
@Suite struct EngineDifferentialTests {
    /// Sized so that the suite fits CI's time; `CJM_ENGINE_SCENARIOS=N` runs more (or fewer).
    static let scenarioCount = Int(ProcessInfo.processInfo.environment["CJM_ENGINE_SCENARIOS"] ?? "") ?? 1500

    @Test func engineMatchesReferenceOnRandomScenarios() {
        var failures = 0
        var checkedInstances = 0
        var checkedMoments = 0
        var checkedTouchpoints = 0
        var personaInstances = 0
        var customersWithTwoPersonas = 0
        var loop = RepeatCoverage()
        var momentsWithFewNames = 0
        for seed in 0..<UInt64(Self.scenarioCount) {
            let scenario = RandomScenario.make(seed: seed)
            let expected = scenario.reference()
            let batch = 1 + Int(seed % 97)
            // Two scenarios in three begin each advance in slices, as a replay does.
            let slice = seed % 3 == 0 ? 0 : 1 + Int(seed % 5)
            // One scenario in four with a table of last-event names too small for its pairs
            // (1: every customer's is kept beside it).
            let nameCapacity: Int? = seed % 4 == 1 ? [1, 2, 3, 5][Int(seed / 4 % 4)] : nil
            let actual = EngineHarness.run(
                journeys: scenario.journeys, lateness: scenario.allowedLateness,
                arrivals: scenario.arrivals, batchSize: batch, slice: slice, lastEventNameCapacity: nameCapacity)
            if nameCapacity != nil { momentsWithFewNames += expected.moments.count }
            checkedInstances += expected.instances.count
            checkedMoments += expected.moments.count
            personaInstances += expected.instances.filter { $0.persona != Scenario.defaultPersona }.count
            customersWithTwoPersonas +=
                Dictionary(grouping: expected.instances) { "\($0.journey)|\($0.customerID)" }
                .values.filter { Set($0.map(\.persona)).count > 1 }.count
            let instancesMatch = Self.sameInstances(actual.sortedInstances, expected.instances)
            let momentsMatch = actual.sortedMoments == expected.moments
            let touchpointsMatch =
                actual.sortedTouchpoints == expected.touchpoints
                && actual.touchpointCountsDisagreeingWithInstances.isEmpty
            let funnelProblems = actual.funnelDisagreements(with: expected)
            if !funnelProblems.isEmpty {
                Issue.record("seed \(seed) (batch \(batch), slice \(slice)): funnel \(funnelProblems.prefix(3))")
            }
            let repeatProblems = actual.repeatDisagreements(with: expected, journeys: scenario.journeys)
            if !repeatProblems.isEmpty {
                Issue.record("seed \(seed) (batch \(batch), slice \(slice)): \(repeatProblems.prefix(3))")
            }
            loop.count(expected, journeys: scenario.journeys)
            checkedTouchpoints += expected.touchpoints.count
            if !actual.newnessErrors.isEmpty {
                Issue.record("seed \(seed) (batch \(batch), slice \(slice)): \(actual.newnessErrors.prefix(3))")
            }
            if !instancesMatch || !momentsMatch || !touchpointsMatch || actual.late != 0 {
                failures += 1
                if failures <= 3 {
                    Issue.record(
                        """
                        seed \(seed) (batch \(batch), slice \(slice)): instances match: \(instancesMatch), moments match: \(momentsMatch), \
                        touchpoints match: \(touchpointsMatch), \
                        late: \(actual.late)
                        \(Self.firstDifference(actual: actual, expected: expected))
                        """)
                }
            }
        }
        #expect(failures == 0)
        // The scenarios must exercise the interesting paths, or the comparison proves little.
        #expect(checkedInstances > Self.scenarioCount * 5)
        #expect(checkedMoments > Self.scenarioCount)
        #expect(checkedTouchpoints > Self.scenarioCount * 3)
        #expect(personaInstances > Self.scenarioCount * 2)
        #expect(customersWithTwoPersonas > Self.scenarioCount / 2)
        // Moments name the last event and touchpoint; these came partly from beside the table.
        #expect(momentsWithFewNames > Self.scenarioCount / 8)
        loop.expectEveryPath(scenarios: Self.scenarioCount)
    }

    /// Two events of a customer at the same time with different personas: the one processed
    /// later (the later arrival) is the customer's persona from then on, in the engine as in
    /// the reference.
    @Test func personaTiesGoToTheLaterArrival() {
        var tiedEntries = 0
        var immediateReturns = 0
        for seed in 0..<UInt64(Self.scenarioCount / 5) {
            let scenario = RandomScenario.make(seed: seed &+ 50_000, personaTies: true)
            let expected = scenario.reference()
            let actual = EngineHarness.run(
                journeys: scenario.journeys, lateness: scenario.allowedLateness, arrivals: scenario.arrivals,
                batchSize: 1 + Int(seed % 11))
            let instancesMatch = Self.sameInstances(actual.sortedInstances, expected.instances)
            let momentsMatch = actual.sortedMoments == expected.moments
            let touchpointsMatch = actual.sortedTouchpoints == expected.touchpoints
            let funnelProblems =
                actual.funnelDisagreements(with: expected)
                + actual.repeatDisagreements(with: expected, journeys: scenario.journeys)
            immediateReturns += expected.repeatLoop.filter { $0.persona == "*" }.map {
                $0.timesToReturn.filter { $0 == .zero }.count
            }.reduce(0, +)
            if !instancesMatch || !momentsMatch || !touchpointsMatch || !funnelProblems.isEmpty {
                let difference = Self.firstDifference(actual: actual, expected: expected)
                let summary =
                    "seed \(seed): instances \(instancesMatch), moments \(momentsMatch), "
                    + "touchpoints \(touchpointsMatch), funnel \(Array(funnelProblems.prefix(2)))"
                Issue.record("\(summary)\n\(difference)")
            }
            let tieTimes = Set(
                scenario.arrivals.filter { $0.eventID.hasPrefix("tie-") }.map { "\($0.customerID)|\($0.time)" })
            tiedEntries += expected.instances.filter { tieTimes.contains("\($0.customerID)|\($0.enteredAt)") }.count
        }
        // Instances entered at a tie: there the arrival order decides the persona.
        #expect(tiedEntries > 20)
        // Returns at the very time of the conversion: their arrival order decides too.
        #expect(immediateReturns > 20)
    }

    @Test func anyArrivalOrderWithinLatenessGivesTheSameResult() {
        for seed in 0..<UInt64(Self.scenarioCount / 5) {
            let scenario = RandomScenario.make(seed: seed &+ 10_000)
            let base = EngineHarness.run(
                journeys: scenario.journeys, lateness: scenario.allowedLateness,
                arrivals: scenario.arrivals, batchSize: 7)
            let permuted = scenario.permutedArrivals(seed: seed)
            #expect(scenario.respectsLateness(permuted))
            let other = EngineHarness.run(
                journeys: scenario.journeys, lateness: scenario.allowedLateness,
                arrivals: permuted, batchSize: 13)
            #expect(other.sortedInstances == base.sortedInstances, "seed \(seed)")
            #expect(other.sortedMoments == base.sortedMoments, "seed \(seed)")
            #expect(other.sortedTouchpoints == base.sortedTouchpoints, "seed \(seed)")
        }
    }

    /// Sentiment sums may differ in the last bits with the order of addition.
    static func sameInstances(_ a: [ReferenceInstance], _ b: [ReferenceInstance]) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) {
            var x2 = x
            x2.sentimentSum = y.sentimentSum
            guard x2 == y, zip(x.sentimentSum, y.sentimentSum).allSatisfy({ abs($0 - $1) < 1e-9 }) else { return false }
        }
        return true
    }

    static func firstDifference(actual: EngineHarness, expected: ReferenceResult) -> String {
        let a = actual.sortedInstances
        for (i, y) in expected.instances.enumerated() {
            guard i < a.count else {
                return "engine has fewer instances (\(a.count) vs \(expected.instances.count)); next expected: \(y)"
            }
            if !sameInstances([a[i]], [y]) { return "instance differs:\n engine:    \(a[i])\n reference: \(y)" }
        }
        if a.count > expected.instances.count { return "engine has extra instance \(a[expected.instances.count])" }
        let m = actual.sortedMoments
        for (i, y) in expected.moments.enumerated() {
            guard i < m.count else {
                return "engine has fewer moments (\(m.count) vs \(expected.moments.count)); next expected: \(y)"
            }
            if m[i] != y { return "moment differs:\n engine:    \(m[i])\n reference: \(y)" }
        }
        if m.count > expected.moments.count { return "engine has extra moment \(m[expected.moments.count])" }
        return "late events: \(actual.late)"
    }
}

/// How often the scenarios reach each path of the repeat loop: a comparison that never met
/// a window ending at the watermark proves nothing about it.
struct RepeatCoverage {
    var returned = 0
    var pending = 0
    var didNotReturn = 0
    /// Returns exactly as the window ends (by the microsecond).
    var returnsAtWindowEnd = 0
    var triggers = 0
    /// Waiting conversions whose window ends at the end of the replay, or a microsecond after.
    var windowsEndingAtEnd = 0

    mutating func count(_ result: ReferenceResult, journeys: [JourneyDefinition]) {
        for row in result.repeatLoop where row.persona == "*" {
            returned += row.returned
            pending += row.pending
            didNotReturn += row.didNotReturn
            let window = journeys.first { $0.name == row.journey }!.repeatWindow
            returnsAtWindowEnd += row.timesToReturn.filter { $0 == window }.count
            windowsEndingAtEnd += row.windowsEndingAtEnd
        }
        triggers += result.repeatTriggers.count
    }

    func expectEveryPath(scenarios: Int) {
        print("repeat loop paths: \(self)")
        #expect(returned > scenarios)
        #expect(pending > scenarios / 30)
        #expect(didNotReturn > scenarios / 2)
        #expect(returnsAtWindowEnd > scenarios / 10)
        #expect(triggers > scenarios / 2)
        #expect(windowsEndingAtEnd > scenarios / 10)
    }
}
