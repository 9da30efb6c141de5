import JourneyCore
import Testing

/// The drop-off spike detector of docs/alerts.md, fed decisions directly with injected event time.
@Suite struct DropOffDetectorTests {
    static let start = EventTime(seconds: 1_767_225_600)  // 2026-01-01T00:00:00Z, a minute boundary

    static let catalog = JourneyCatalog(journeys: [
        JourneyDefinition(
            name: "shop", conversionWindow: .days(30),
            stages: [
                // A one-minute abandon_after: the stages are watched and judged a minute late.
                StageDefinition(name: "visit", events: [EventPattern("visit")], abandonAfter: .minutes(1)),
                StageDefinition(name: "cart", events: [EventPattern("cart")], abandonAfter: .minutes(1)),
                StageDefinition(name: "paid", events: [EventPattern("paid")]),
            ])
    ])

    static func settings(
        minDecided: Int = 20, minDelta: Double = 0.05, z: Double? = 3,
        baseline: TimeSpan = .minutes(120)
    ) -> AlertSettings {
        var s = AlertSettings()
        s.window = .minutes(15)
        s.baseline = .preceding(baseline)
        s.minDecided = minDecided
        s.minDelta = minDelta
        s.z = z
        return s
    }

    /// Drives a detector minute by minute: `plan(minute)` gives (abandoned, advanced) at stage
    /// `cart` during that minute; evaluation follows every minute.
    struct Drive {
        var detector: DropOffDetector
        var fired: [DropOffAlert] = []
        var resolved: [DropOffAlert] = []

        init(settings: AlertSettings) {
            detector = DropOffDetector(catalog: DropOffDetectorTests.catalog, settings: settings)
        }

        mutating func run(minutes: Range<Int64>, stage: Int = 1, _ plan: (Int64) -> (abandoned: Int, advanced: Int)) {
            for m in minutes {
                let (abandoned, advanced) = plan(m)
                let base = DropOffDetectorTests.start + .minutes(m)
                for i in 0..<(abandoned + advanced) {
                    let t = base + TimeSpan(microseconds: Int64(i) * 60_000_000 / Int64(abandoned + advanced))
                    detector.record(journey: 0, stage: stage, at: t, abandoned: i < abandoned)
                }
                detector.evaluate(through: base + .minutes(1))
                for transition in detector.takeTransitions() {
                    switch transition {
                    case .fired(let alert): fired.append(alert)
                    case .resolved(let alert): resolved.append(alert)
                    }
                }
            }
        }
    }

    /// 10 % abandoned: 2 of 20 each minute.
    static func steady(_ m: Int64) -> (Int, Int) { (2, 18) }

    @Test func zeroBaselineRateFiresWithoutAZScore() throws {
        var drive = Drive(settings: Self.settings())
        drive.run(minutes: 0..<180) { m in m < 150 ? (0, 20) : (3, 17) }
        #expect(drive.fired.count == 1)
        let alert = try #require(drive.fired.first)
        #expect(alert.baselineRate == 0)
        #expect(alert.z == nil)
        #expect(alert.rate >= 0.05)
        #expect(alert.stageName == "cart" && alert.stageIndex == 1)
        #expect(alert.firedAt > Self.start + .minutes(150))
    }

    @Test func volumeUnderMinDecidedNeverFires() {
        var drive = Drive(settings: Self.settings(minDecided: 400))
        // 20 decided per minute: a 15-minute window holds 300 < 400, however bad the rate.
        drive.run(minutes: 0..<300) { m in m < 150 ? (2, 18) : (18, 2) }
        #expect(drive.fired.isEmpty)
        // The same traffic with a lower bar does fire: the volume was the only reason.
        var control = Drive(settings: Self.settings(minDecided: 200))
        control.run(minutes: 0..<300) { m in m < 150 ? (2, 18) : (18, 2) }
        #expect(control.fired.count == 1)
    }

    @Test func aSpikeFiresOnceInsideTheSpikeAndResolvesOnceAfterIt() throws {
        var drive = Drive(settings: Self.settings())
        let spike: Range<Int64> = 200..<260
        drive.run(minutes: 0..<400) { m in spike.contains(m) ? (10, 10) : Self.steady(m) }
        #expect(drive.fired.count == 1)
        #expect(drive.resolved.count == 1)
        let fired = try #require(drive.fired.first)
        let resolved = try #require(drive.resolved.first)
        #expect(fired.firedAt > Self.start + .minutes(spike.lowerBound))
        #expect(fired.firedAt < Self.start + .minutes(spike.upperBound))
        #expect(fired.firedAt - fired.windowEnd == .minutes(1) && fired.windowEnd - fired.windowStart == .minutes(15))
        #expect(abs(fired.baselineRate - 0.1) < 1e-9)
        #expect(fired.rate > fired.baselineRate + 0.05)
        #expect((fired.z ?? 0) >= 3)
        #expect(resolved.firedAt == fired.firedAt)
        // Resolution needs a whole window of calm after the spike has left the window.
        #expect(try #require(resolved.resolvedAt) >= Self.start + .minutes(spike.upperBound + 15))
    }

    @Test func aSustainedSpikeIsNotReannounced() throws {
        var drive = Drive(settings: Self.settings())
        drive.run(minutes: 0..<900) { m in m >= 200 ? (10, 10) : Self.steady(m) }
        // As the baseline fills with the spike, p₀ rises towards p; the alert keeps firing
        // until p − p₀ has been calm for a window, and is never fired a second time meanwhile.
        #expect(drive.fired.count == 1)
        #expect(drive.resolved.count <= 1)
        if let resolved = drive.resolved.first {
            // Resolved only once the baseline itself had become the spike's level.
            #expect(try #require(resolved.resolvedAt) > Self.start + .minutes(200 + 120))
        }
    }

    @Test func flappingAroundTheThresholdHoldsTheAlert() {
        // A day of baseline at 10 %, so that two hours of anything barely move p₀.
        var drive = Drive(settings: Self.settings(minDelta: 0.1, baseline: .hours(24)))
        // A spike to 50 % fires; then the rate alternates between 16 % and 20 % each minute
        // (p − p₀ ≈ 0.07: between min_delta/2 and min_delta): no resolution, no second alert.
        drive.run(minutes: 0..<1600) { m in
            switch m {
            case ..<1460: return Self.steady(m)
            case 1460..<1480: return (10, 10)
            default: return m % 2 == 0 ? (4, 21) : (5, 20)
            }
        }
        #expect(drive.fired.count == 1)
        #expect(drive.resolved.isEmpty)
        // Back to the baseline level: it resolves, once.
        drive.run(minutes: 1600..<1660) { m in Self.steady(m) }
        #expect(drive.fired.count == 1)
        #expect(drive.resolved.count == 1)
    }

    @Test func theLastStageAndOtherStagesStayQuiet() {
        var drive = Drive(settings: Self.settings())
        drive.run(minutes: 0..<300, stage: 0) { m in Self.steady(m) }
        #expect(drive.fired.isEmpty)
        // The last stage has nothing to decide: decisions recorded there are ignored.
        drive.detector.record(journey: 0, stage: 2, at: Self.start, abandoned: true)
        #expect(drive.detector.currentCounts(journey: 0, stage: 2) == nil)
    }

    /// Running sums against a recount from every decision, with late decisions for minutes
    /// already evaluated and evaluation at random watermark steps.
    @Test(arguments: 0..<40) func runningSumsEqualARecount(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let settings = Self.settings()
        var detector = DropOffDetector(catalog: Self.catalog, settings: settings)
        var recorded: [(minute: Int64, abandoned: Bool)] = []
        var watermarkMinute: Int64 = 0
        for _ in 0..<400 {
            watermarkMinute += Int64.random(in: 0...6, using: &rng)
            for _ in 0..<Int.random(in: 0...12, using: &rng) {
                // Mostly just before the watermark, sometimes late (up to 3 hours back).
                let back =
                    Int64.random(in: 0...10, using: &rng) == 0
                    ? Int64.random(in: 1...180, using: &rng)
                    : Int64.random(in: 0...2, using: &rng)
                let minute = watermarkMinute - back
                let abandoned = Bool.random(using: &rng)
                let t = Self.start + .minutes(minute) + .seconds(Int64.random(in: 0...59, using: &rng))
                detector.record(journey: 0, stage: 1, at: t, abandoned: abandoned)
                recorded.append((minute, abandoned))
            }
            detector.evaluate(through: Self.start + .minutes(watermarkMinute))
            _ = detector.takeTransitions()
            // The stage's window ends its abandon_after (one minute) before the evaluation.
            guard let end = detector.evaluatedThrough.map({ $0 - Self.start.minuteIndex - 1 }) else { continue }
            let counts = try #require(detector.currentCounts(journey: 0, stage: 1))
            func recount(_ range: Range<Int64>) -> DecisionCounts {
                var c = DecisionCounts()
                for r in recorded where range.contains(r.minute) {
                    if r.abandoned { c.abandoned += 1 } else { c.advanced += 1 }
                }
                return c
            }
            #expect(counts.window == recount((end - 15)..<end), "seed \(seed) at minute \(end)")
            #expect(counts.baseline == recount((end - 135)..<(end - 15)), "seed \(seed) at minute \(end)")
        }
    }

    /// The same decisions give the same alerts whatever the evaluation steps, and a detector
    /// restored from a snapshot mid-way continues exactly as an uninterrupted one.
    @Test(arguments: 0..<20) func batchBoundariesAndRestartsChangeNothing(seed: UInt64) {
        var rng = SeededGenerator(seed: seed &+ 1000)
        let settings = Self.settings()
        // Decisions over 10 hours with two spikes of random size and length.
        var decisions: [(EventTime, Bool)] = []
        let spikes = (0..<2).map { _ in
            let from = Int64.random(in: 150...500, using: &rng)
            return (from..<(from + Int64.random(in: 5...60, using: &rng)), Double.random(in: 0.2...0.9, using: &rng))
        }
        for m in Int64(0)..<600 {
            let p = spikes.first { $0.0.contains(m) }?.1 ?? 0.1
            for i in 0..<Int.random(in: 10...30, using: &rng) {
                decisions.append(
                    (Self.start + .minutes(m) + .seconds(Int64(i)), Double.random(in: 0..<1, using: &rng) < p))
            }
        }
        func run(step: Int64, restartAt: Int64?) -> [AlertTransition] {
            var detector = DropOffDetector(catalog: Self.catalog, settings: settings)
            var out: [AlertTransition] = []
            var stored: [StageDecisionKey: DecisionCounts] = [:]
            var firing: [DropOffAlert] = []
            var next = 0
            var w: Int64 = 0
            while w < 620 {
                w += step
                let watermark = Self.start + .minutes(w)
                while next < decisions.count, decisions[next].0 < watermark {
                    let (t, abandoned) = decisions[next]
                    detector.record(journey: 0, stage: 1, at: t, abandoned: abandoned)
                    let key = StageDecisionKey(journey: 0, stageIndex: 1, minute: t.minuteIndex)
                    stored[key, default: DecisionCounts()] =
                        (stored[key] ?? DecisionCounts())
                        + (abandoned ? DecisionCounts(abandoned: 1) : DecisionCounts(advanced: 1))
                    next += 1
                }
                detector.evaluate(through: watermark)
                out += detector.takeTransitions()
                for alert in detector.takeChangedAlerts() {
                    firing.removeAll { $0.firedAt == alert.firedAt }
                    if alert.isFiring { firing.append(alert) }
                }
                if let restartAt, w >= restartAt, w - step < restartAt {
                    var snapshot = DropOffDetector.Snapshot()
                    snapshot.evaluatedThrough = detector.alertsEvaluatedThrough
                    let oldest = DropOffDetector.oldestMinuteNeeded(
                        evaluatedThrough: detector.alertsEvaluatedThrough ?? watermark, settings: settings,
                        catalog: Self.catalog)
                    snapshot.decisions = stored.filter { $0.key.minute >= oldest }.map { ($0.key, $0.value) }
                    snapshot.firing = firing
                    snapshot.historyStart = stored.keys.map(\.minute).min().map { EventTime(minuteIndex: $0) }
                    detector = DropOffDetector(catalog: Self.catalog, settings: settings, restoring: snapshot)
                }
            }
            return out
        }
        let reference = run(step: 1, restartAt: nil)
        #expect(!reference.isEmpty, "seed \(seed): the spikes should fire something")
        #expect(run(step: 7, restartAt: nil) == reference, "seed \(seed)")
        #expect(run(step: 1, restartAt: Int64.random(in: 100...550, using: &rng)) == reference, "seed \(seed)")
        #expect(run(step: 3, restartAt: Int64.random(in: 100...550, using: &rng)) == reference, "seed \(seed)")
    }
}

extension DropOffDetector {
    var alertsEvaluatedThrough: EventTime? { evaluatedThrough.map { EventTime(minuteIndex: $0) } }
}

/// SplitMix64: a small seeded generator so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
