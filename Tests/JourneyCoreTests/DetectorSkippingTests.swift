import Testing

@testable import JourneyCore

/// The detector visits a series only at the boundaries where something can change
/// (StageSeries). Against the same detector visiting every series at every minute, on sparse
/// random decisions — bursts hours apart, late ones, personas, every kind of baseline, random
/// evaluation steps and restarts — the alerts, their states and the running sums are equal.
@Suite struct DetectorSkippingTests {
    static let start = EventTime(seconds: 1_767_225_600)

    static let catalog = JourneyCatalog(journeys: [
        JourneyDefinition(
            name: "shop", conversionWindow: .days(30),
            stages: [
                StageDefinition(name: "visit", events: [EventPattern("visit")], abandonAfter: .minutes(1)),
                StageDefinition(name: "cart", events: [EventPattern("cart")], abandonAfter: .minutes(37)),
                StageDefinition(name: "paid", events: [EventPattern("paid")]),
            ])
    ])

    static let baselines: [AlertBaseline] = [.preceding(.minutes(30)), .preceding(.hours(3)), .sameHourDays(2)]
    static let personas = ["buyer", "browser", "pro"]

    struct Decision {
        var stage: Int
        var time: EventTime
        var abandoned: Bool
        var persona: String
    }

    /// Bursts of decisions hours apart, each a few minutes to an hour long, some with a high
    /// give-up rate; one decision in twenty arrives up to two hours late. With a seasonal
    /// baseline the bursts come at the same hour of consecutive days, so that they have one.
    static func decisions(seasonal: Bool, using rng: inout SeededGenerator) -> [(arrival: Int64, Decision)] {
        var out: [(Int64, Decision)] = []
        var minute: Int64 = 0
        for burst in 0..<Int.random(in: 4...12, using: &rng) {
            let length = seasonal ? 60 : Int64.random(in: 1...60, using: &rng)
            minute = seasonal ? Int64(burst) * 1440 + 600 : minute + Int64.random(in: 1...(3 * 1440), using: &rng)
            let rate = Bool.random(using: &rng) ? 0.1 : Double.random(in: 0.3...0.9, using: &rng)
            for m in minute..<(minute + length) {
                for _ in 0..<Int.random(in: 0...8, using: &rng) {
                    let time = start + .minutes(m) + .seconds(Int64.random(in: 0...59, using: &rng))
                    let decision = Decision(
                        stage: Int.random(in: 0...1, using: &rng), time: time,
                        abandoned: Double.random(in: 0..<1, using: &rng) < rate,
                        persona: personas[Int.random(in: 0..<personas.count, using: &rng)])
                    let late = Int.random(in: 0..<20, using: &rng) == 0 ? Int64.random(in: 1...120, using: &rng) : 0
                    out.append((m + late, decision))
                }
            }
            minute += length
        }
        return out.sorted { $0.0 < $1.0 }
    }

    struct Outcome: Equatable {
        var transitions: [AlertTransition] = []
        var changed: [DropOffAlert] = []
        var sums: [String] = []
        var evaluatedThrough: [Int64?] = []
    }

    static func run(
        _ decisions: [(arrival: Int64, Decision)], settings: AlertSettings, everyBoundary: Bool, steps: [Int64],
        restartAt: Int64?
    ) -> Outcome {
        var detector = DropOffDetector(catalog: catalog, settings: settings)
        detector.visitsEveryBoundary = everyBoundary
        var outcome = Outcome()
        var stored: [StageDecisionKey: DecisionCounts] = [:]
        var firing: [DropOffAlert.Episode: DropOffAlert] = [:]
        var next = 0
        var watermark: Int64 = 0
        var step = 0
        let last = (decisions.last?.arrival ?? 0) + 300
        while watermark < last {
            let previous = watermark
            watermark += steps[step % steps.count]
            step += 1
            while next < decisions.count, decisions[next].arrival < watermark {
                let d = decisions[next].1
                detector.record(journey: 0, stage: d.stage, at: d.time, abandoned: d.abandoned, persona: d.persona)
                let counts = d.abandoned ? DecisionCounts(abandoned: 1) : DecisionCounts(advanced: 1)
                for persona in [PersonaSettings.all, d.persona] {
                    let key = StageDecisionKey(
                        journey: 0, stageIndex: d.stage, minute: d.time.minuteIndex, persona: persona)
                    stored[key] = (stored[key] ?? DecisionCounts()) + counts
                }
                next += 1
            }
            detector.evaluate(through: start + .minutes(watermark))
            outcome.transitions += detector.takeTransitions()
            for alert in detector.takeChangedAlerts() {
                outcome.changed.append(alert)
                firing[alert.episode] = alert.isFiring ? alert : nil
            }
            outcome.evaluatedThrough.append(detector.evaluatedThrough)
            for stage in 0...1 {
                if let counts = detector.currentCounts(journey: 0, stage: stage) {
                    outcome.sums.append("\(stage): \(counts.window) \(counts.baseline)")
                }
            }
            if let restartAt, watermark >= restartAt, previous < restartAt {
                var snapshot = DropOffDetector.Snapshot()
                snapshot.evaluatedThrough = detector.evaluatedThrough.map { EventTime(minuteIndex: $0) }
                let oldest = DropOffDetector.oldestMinuteNeeded(
                    evaluatedThrough: snapshot.evaluatedThrough ?? start, settings: settings, catalog: catalog)
                // In a fixed order: a restored detector makes persona series in the order it
                // reads them, and transitions at one boundary come in series order.
                snapshot.decisions = stored.filter { $0.key.minute >= oldest }.map { ($0.key, $0.value) }.sorted {
                    ($0.0.minute, $0.0.stageIndex, $0.0.persona) < ($1.0.minute, $1.0.stageIndex, $1.0.persona)
                }
                snapshot.firing = firing.values.sorted { ($0.stageIndex, $0.persona) < ($1.stageIndex, $1.persona) }
                snapshot.historyStart = stored.keys.map(\.minute).min().map { EventTime(minuteIndex: $0) }
                detector = DropOffDetector(catalog: catalog, settings: settings, restoring: snapshot)
                detector.visitsEveryBoundary = everyBoundary
            }
        }
        return outcome
    }

    @Test(arguments: 0..<30) func skippedBoundariesChangeNothing(seed: UInt64) {
        var rng = SeededGenerator(seed: seed &+ 7_000)
        var settings = AlertSettings()
        settings.window = .minutes(Int64.random(in: 5...20, using: &rng))
        settings.baseline = Self.baselines[Int(seed) % Self.baselines.count]
        settings.minDecided = Int.random(in: 1...10, using: &rng)
        settings.minDelta = 0.05
        settings.z = 0.5
        settings.byPersona = seed % 2 == 0
        let decisions = Self.decisions(seasonal: settings.baseline.seasonMinutes != nil, using: &rng)
        let steps = (0..<5).map { _ in Int64.random(in: 1...90, using: &rng) }
        let restartAt = seed % 3 == 0 ? nil : Int64.random(in: 0...(decisions.last?.arrival ?? 1), using: &rng)
        let everyMinute = Self.run(
            decisions, settings: settings, everyBoundary: true, steps: steps, restartAt: restartAt)
        let skipping = Self.run(
            decisions, settings: settings, everyBoundary: false, steps: steps, restartAt: restartAt)
        #expect(everyMinute.transitions.count > 0, "seed \(seed): the bursts should fire something")
        #expect(skipping.transitions == everyMinute.transitions, "seed \(seed)")
        #expect(skipping.changed == everyMinute.changed, "seed \(seed)")
        #expect(skipping.sums == everyMinute.sums, "seed \(seed)")
        #expect(skipping.evaluatedThrough == everyMinute.evaluatedThrough, "seed \(seed)")
    }
}
