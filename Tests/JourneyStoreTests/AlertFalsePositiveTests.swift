import EventDecoding
import JourneyCore
import JourneySimulator
import Testing

/// The detector on long simulated histories, through decoder and engine (no database: the
/// end-to-end test covers the store). Steady traffic must not alert; spikes must, quickly.
@Suite struct AlertFalsePositiveTests {
    /// Simulates, decodes and runs the engine as a replay would; returns the alert transitions.
    static func alerts(days: Int64, customers: Int, seed: UInt64, spike: SimulationOptions.Spike?) -> [AlertTransition]
    {
        let configuration = AlertEndToEndTests.configuration()
        var options = SimulationOptions()
        options.seed = seed
        options.customers = customers
        options.start = AlertEndToEndTests.start
        options.duration = .days(days)
        options.spike = spike
        var simulator = JourneySimulator(journeys: configuration.journeys, options: options)
        let decoder = EventDecoder(settings: configuration.ingest)
        let now = EventTime.distantFuture - .days(1)
        var engine = JourneyEngine(
            catalog: JourneyCatalog(journeys: configuration.journeys),
            allowedLateness: configuration.ingest.allowedLateness, alerts: configuration.alerts)
        var transitions: [AlertTransition] = []
        var sequence: Int64 = 0
        var seen = Set<String>()
        let end = AlertEndToEndTests.endOfArrivals(days: days)
        simulator.run { line in
            guard case .event(let event) = decoder.decode(line.dropLast(), now: now), event.time <= end,
                seen.insert(event.eventID).inserted
            else { return }
            sequence += 1
            engine.ingest(event, sequence: sequence)
            if sequence % 5000 == 0 {
                engine.advanceReplayWatermark()
                transitions += engine.takeChanges().alertTransitions
            }
        }
        // The end of the simulated arrivals is a real change of traffic (arrivals stop while
        // earlier customers still go silent): stop before it.
        engine.finish(asOf: end)
        transitions += engine.takeChanges().alertTransitions
        return transitions
    }

    @Test func thirtySteadyDaysRaiseNoAlert() {
        var fired = 0
        for seed in [30, 31] as [UInt64] {
            let transitions = Self.alerts(days: 30, customers: 130_000, seed: seed, spike: nil)
            let firing = transitions.filter { if case .fired = $0 { return true } else { return false } }
            fired += firing.count
            #expect(firing.isEmpty, "seed \(seed): \(firing.map(AlertEndToEndTests.describe))")
        }
        print("false positives over 2 × 30 steady days: \(fired)")
    }

    @Test func spikesAreDetectedWithinTheSpike() {
        var delays: [Int64] = []
        for seed in [61, 62, 63, 64] as [UInt64] {
            let spikeStart = AlertEndToEndTests.start + .days(3) + .hours(Int64(seed % 24))
            let spike = SimulationOptions.Spike(
                journey: "purchase", stage: "consideration", start: spikeStart,
                duration: .hours(6), progression: 0.05)
            let transitions = Self.alerts(days: 5, customers: 21_000, seed: seed, spike: spike)
            let fired = transitions.compactMap { if case .fired(let a) = $0 { a } else { nil } }
            let resolved = transitions.compactMap { if case .resolved(let a) = $0 { a } else { nil } }
            #expect(
                fired.count == 1 && resolved.count == 1,
                "seed \(seed): \(transitions.map(AlertEndToEndTests.describe))")
            guard let alert = fired.first else { continue }
            #expect(alert.stageName == "consideration")
            #expect(alert.firedAt > spikeStart && alert.firedAt < spikeStart + .hours(6))
            delays.append((alert.firedAt - spikeStart).microseconds / 60_000_000)
        }
        print("detection delay (event-time minutes from spike start to fired_at): \(delays)")
    }
}
