import Foundation
import JourneyCore
import Testing

/// The exact test, the budget's level, dating and seasonal baselines of docs/alerts.md.
@Suite struct AlertBudgetTests {
    /// log(k!) summed term by term: slow, plain and independent of log-gamma.
    static func logFactorial(_ k: Int64) -> Double { k < 2 ? 0 : (2...k).reduce(0.0) { $0 + log(Double($1)) } }

    /// P(X ≥ x) summed over the whole upper support from the hypergeometric probabilities.
    static func bruteForceTail(x: Int64, n: Int64, x0: Int64, n0: Int64) -> Double {
        let population = n + n0
        let gaveUp = x + x0
        func logChoose(_ a: Int64, _ b: Int64) -> Double { logFactorial(a) - logFactorial(b) - logFactorial(a - b) }
        var sum = 0.0
        for k in x...min(n, gaveUp) where n - k <= population - gaveUp {
            sum += exp(logChoose(gaveUp, k) + logChoose(population - gaveUp, n - k) - logChoose(population, n))
        }
        return sum
    }

    @Test(arguments: 0..<30) func theExactTailEqualsABruteForceSum(seed: UInt64) {
        var random = SeededGenerator(seed: seed &+ 77)
        let n = Int64.random(in: 1...300, using: &random)
        let n0 = Int64.random(in: 1...3000, using: &random)
        let x = Int64.random(in: 0...n, using: &random)
        let x0 = Int64.random(in: 0...n0, using: &random)
        let exact = ExactDropOffTest.pValue(abandoned: x, decided: n, baselineAbandoned: x0, baselineDecided: n0)
        let brute = Self.bruteForceTail(x: x, n: n, x0: x0, n0: n0)
        #expect(abs(exact - min(1, brute)) <= 1e-9 * max(brute, 1e-300) + 1e-12, "x \(x) n \(n) x0 \(x0) n0 \(n0)")
    }

    @Test func theExactTailAtLargeCountsIsCloseToTheNormalOne() {
        // 5,000 decided against a 100,000-instance baseline at 20 %: 4 standard errors up.
        let n: Int64 = 5000
        let expected = 0.2 * Double(n)
        let x = Int64((expected + 4 * (Double(n) * 0.2 * 0.8).squareRoot()).rounded(.up))
        let p = ExactDropOffTest.pValue(abandoned: x, decided: n, baselineAbandoned: 20_000, baselineDecided: 100_000)
        let normal = FalseAlarmBudget.normalTail(4)
        // The binomial's right tail is a little heavier than the normal's; the baseline's own
        // noise makes it heavier still. Same order of magnitude, not the same number.
        #expect(p > normal && p < normal * 3, "p \(p) vs normal \(normal)")
        // Nothing rose: nothing to see.
        #expect(
            ExactDropOffTest.pValue(abandoned: 1000, decided: 5000, baselineAbandoned: 20_000, baselineDecided: 100_000)
                > 0.4)
        #expect(ExactDropOffTest.pValue(abandoned: 0, decided: 10, baselineAbandoned: 5, baselineDecided: 50) == 1)
    }

    @Test func theLevelSpendsItsShareOfTheBudgetAndGrowsWithIt() {
        var previous = 0.0
        for budget in [0.05, 0.5, 2, 20] as [Double] {
            let derivation = FalseAlarmBudget(falseAlarmsPerMonth: budget, windowMinutes: 60)
            let level = derivation.level
            #expect(level > previous)
            previous = level
            let spent = derivation.falseAlarmsPerMonth(atLevel: level)
            #expect(abs(spent - budget * FalseAlarmBudget.noiseShare) < 1e-6 * budget, "budget \(budget)")
        }
        // A one-minute window overlaps nothing: every evaluation is its own chance.
        let oneMinute = FalseAlarmBudget(falseAlarmsPerMonth: 1, windowMinutes: 1)
        #expect(abs(oneMinute.level * FalseAlarmBudget.monthMinutes - FalseAlarmBudget.noiseShare) < 1e-6)
        // Longer windows overlap more evaluations: a laxer level for the same budget.
        #expect(
            FalseAlarmBudget(falseAlarmsPerMonth: 0.5, windowMinutes: 240).level
                > FalseAlarmBudget(falseAlarmsPerMonth: 0.5, windowMinutes: 60).level)
        #expect(abs(FalseAlarmBudget.normalEquivalent(ofTail: FalseAlarmBudget.normalTail(3.7)) - 3.7) < 1e-9)
    }

    // MARK: Dating

    static let start = EventTime(seconds: 1_767_225_600)  // 2026-01-01T00:00:00Z
    static let lagged = JourneyCatalog(journeys: [
        JourneyDefinition(
            name: "shop", conversionWindow: .days(30),
            stages: [
                StageDefinition(name: "cart", events: [EventPattern("cart")], abandonAfter: .minutes(30)),
                StageDefinition(name: "paid", events: [EventPattern("paid")]),
            ])
    ])

    /// A give-up is dated when the customer fell silent and known abandon_after later; the
    /// window a stage is judged on ends that long before the evaluation, so it is complete.
    @Test func giveUpsDatedWhenTheCustomerFellSilentAreJudgedAbandonAfterLater() throws {
        var settings = AlertSettings()
        settings.window = .minutes(15)
        settings.baseline = .preceding(.hours(2))
        settings.minDecided = 20
        var detector = DropOffDetector(catalog: Self.lagged, settings: settings)
        var fired: [DropOffAlert] = []
        let spikeFrom: Int64 = 200
        for minute in Int64(0)..<300 {
            // Each minute 20 customers: 2 give up (10 %), 8 of 20 from the spike on.
            let giveUps = minute >= spikeFrom ? 8 : 2
            let time = Self.start + .minutes(minute)
            for i in 0..<(20 - giveUps) {
                detector.record(journey: 0, stage: 0, at: time + .seconds(Int64(i)), abandoned: false)
            }
            // The give-ups of minute − 30 become known now, dated back then.
            if minute >= 30 {
                let silent = Self.start + .minutes(minute - 30)
                let earlier = minute - 30 >= spikeFrom ? 8 : 2
                for i in 0..<earlier {
                    detector.record(journey: 0, stage: 0, at: silent + .seconds(Int64(i)), abandoned: true)
                }
            }
            detector.evaluate(through: time + .minutes(1))
            for case .fired(let alert) in detector.takeTransitions() { fired.append(alert) }
        }
        let alert = try #require(fired.first)
        #expect(fired.count == 1)
        // Judged 30 minutes behind: the window ends half an hour before fired_at.
        #expect(alert.firedAt - alert.windowEnd == .minutes(30))
        #expect(alert.windowEnd - alert.windowStart == .minutes(15))
        // Advances alone drop at once, so the rise shows as soon as the window holds the spike.
        #expect(alert.windowEnd > Self.start + .minutes(spikeFrom))
        #expect(alert.firedAt <= Self.start + .minutes(spikeFrom + 30 + 15))
        // What was judged is what happened: give-ups and advances of the same minutes.
        #expect(alert.rate >= alert.baselineRate + 0.05 && abs(alert.baselineRate - 0.1) < 1e-9)
    }

    // MARK: Seasonal baselines

    /// Every night from 01:00 to 03:00 customers give up more (a different mix of visitors):
    /// against the day before, that is a spike every night; against the same hours of the
    /// days before, it is normal.
    @Test func aNightlyChangeIsAnAlarmAgainstTheDayBeforeAndNormalAgainstTheSameHours() {
        func alarms(_ baseline: AlertBaseline) -> [DropOffAlert] {
            var settings = AlertSettings()
            settings.baseline = baseline
            let catalog = JourneyCatalog(journeys: [
                JourneyDefinition(
                    name: "shop", conversionWindow: .days(30),
                    stages: [
                        StageDefinition(name: "cart", events: [EventPattern("cart")], abandonAfter: .minutes(1)),
                        StageDefinition(name: "paid", events: [EventPattern("paid")]),
                    ])
            ])
            var detector = DropOffDetector(catalog: catalog, settings: settings)
            var random = SeededGenerator(seed: 5)
            var fired: [DropOffAlert] = []
            for minute in Int64(0)..<(6 * 1440) {
                let hour = (minute % 1440) / 60
                let rate = hour >= 1 && hour < 3 ? 0.5 : 0.2
                let time = Self.start + .minutes(minute)
                for i in 0..<20 {
                    detector.record(
                        journey: 0, stage: 0, at: time + .seconds(Int64(i)),
                        abandoned: Double.random(in: 0..<1, using: &random) < rate)
                }
                detector.evaluate(through: time + .minutes(1))
                for case .fired(let alert) in detector.takeTransitions() { fired.append(alert) }
            }
            // Judged from day 4 on for both (the seasonal one needs 3 days of history).
            return fired.filter { $0.firedAt >= Self.start + .days(4) }
        }
        let againstTheDayBefore = alarms(.preceding(.hours(24)))
        let againstTheSameHours = alarms(.sameHourDays(3))
        #expect(againstTheDayBefore.count == 2, "\(againstTheDayBefore.map(\.firedAt))")
        #expect(againstTheSameHours.isEmpty, "\(againstTheSameHours.map(\.firedAt))")
    }

    /// Lagged stages and seasonal baselines restore exactly: a detector rebuilt from a
    /// snapshot at any point continues as the uninterrupted one.
    @Test(arguments: 0..<6) func restartsChangeNothingWithASeasonalBaselineAndALag(seed: UInt64) {
        var random = SeededGenerator(seed: seed &+ 300)
        var settings = AlertSettings()
        settings.window = .minutes(30)
        settings.baseline = seed % 2 == 0 ? .sameHourDays(2) : .preceding(.hours(6))
        settings.minDecided = 20
        // Three days; a give-up is known 30 minutes after it is dated.
        var decisions: [(known: Int64, dated: EventTime, abandoned: Bool)] = []
        let spikes = (0..<3).map { _ in
            let from = Int64.random(in: 2900...4200, using: &random)
            return (
                from..<(from + Int64.random(in: 20...120, using: &random)), Double.random(in: 0.4...0.9, using: &random)
            )
        }
        for minute in Int64(0)..<(3 * 1440) {
            let rate = spikes.first { $0.0.contains(minute) }?.1 ?? 0.15
            for i in 0..<Int.random(in: 5...15, using: &random) {
                let dated = Self.start + .minutes(minute) + .seconds(Int64(i))
                let abandoned = Double.random(in: 0..<1, using: &random) < rate
                decisions.append((abandoned ? minute + 30 : minute, dated, abandoned))
            }
        }
        decisions.sort { $0.known < $1.known }
        func run(restartAt: Int64?) -> [AlertTransition] {
            var detector = DropOffDetector(catalog: Self.lagged, settings: settings)
            var stored: [StageDecisionKey: DecisionCounts] = [:]
            var firing: [DropOffAlert] = []
            var out: [AlertTransition] = []
            var next = 0
            for minute in Int64(0)..<(3 * 1440 + 60) {
                while next < decisions.count, decisions[next].known <= minute {
                    let d = decisions[next]
                    detector.record(journey: 0, stage: 0, at: d.dated, abandoned: d.abandoned)
                    let key = StageDecisionKey(journey: 0, stageIndex: 0, minute: d.dated.minuteIndex)
                    stored[key, default: DecisionCounts()] +=
                        d.abandoned ? DecisionCounts(abandoned: 1) : DecisionCounts(advanced: 1)
                    next += 1
                }
                detector.evaluate(through: Self.start + .minutes(minute + 1))
                out += detector.takeTransitions()
                for alert in detector.takeChangedAlerts() {
                    firing.removeAll { $0.firedAt == alert.firedAt }
                    if alert.isFiring { firing.append(alert) }
                }
                if minute == restartAt {
                    var snapshot = DropOffDetector.Snapshot()
                    snapshot.evaluatedThrough = detector.alertsEvaluatedThrough
                    let oldest = DropOffDetector.oldestMinuteNeeded(
                        evaluatedThrough: detector.alertsEvaluatedThrough ?? Self.start, settings: settings,
                        catalog: Self.lagged)
                    snapshot.decisions = stored.filter { $0.key.minute >= oldest }.map { ($0.key, $0.value) }
                    snapshot.firing = firing
                    snapshot.historyStart = stored.keys.map(\.minute).min().map { EventTime(minuteIndex: $0) }
                    detector = DropOffDetector(catalog: Self.lagged, settings: settings, restoring: snapshot)
                }
            }
            return out
        }
        let reference = run(restartAt: nil)
        #expect(!reference.isEmpty, "seed \(seed): the spikes should fire")
        for _ in 0..<2 {
            let restartAt = Int64.random(in: 2900...4300, using: &random)
            #expect(run(restartAt: restartAt) == reference, "seed \(seed), restart at minute \(restartAt)")
        }
    }
}

extension AlertBudgetTests {
    /// A stage without abandon_after learns of give-ups only when the conversion window ends:
    /// it is not judged, and what is recorded for it changes nothing.
    @Test func stagesWithoutAbandonAfterAreNotWatched() {
        let journey = JourneyDefinition(
            name: "shop", conversionWindow: .days(30),
            stages: [
                StageDefinition(name: "browse", events: [EventPattern("browse")]),
                StageDefinition(name: "cart", events: [EventPattern("cart")], abandonAfter: .hours(1)),
                StageDefinition(name: "paid", events: [EventPattern("paid")]),
            ])
        #expect(!DropOffDetector.isWatched(stage: 0, of: journey))
        #expect(DropOffDetector.isWatched(stage: 1, of: journey))
        #expect(!DropOffDetector.isWatched(stage: 2, of: journey))
        var settings = AlertSettings()
        settings.z = 0.1
        settings.minDecided = 1
        var detector = DropOffDetector(catalog: JourneyCatalog(journeys: [journey]), settings: settings)
        for minute in Int64(0)..<(3 * 1440) {
            let time = Self.start + .minutes(minute)
            detector.record(journey: 0, stage: 0, at: time, abandoned: minute > 2000)
            detector.evaluate(through: time + .minutes(1))
        }
        #expect(detector.takeTransitions().isEmpty)
        #expect(detector.currentCounts(journey: 0, stage: 0) == nil)
    }
}

extension AlertBudgetTests {
    /// History starts at the first decision at any stage, watched or not, which is what a
    /// restart reads back from `cjm.stage_decisions`: warm-up ends at the same minute.
    @Test func warmUpCountsFromTheFirstDecisionAtAnyStage() {
        let journey = JourneyDefinition(
            name: "shop", conversionWindow: .days(30),
            stages: [
                StageDefinition(name: "browse", events: [EventPattern("browse")]),
                StageDefinition(name: "cart", events: [EventPattern("cart")], abandonAfter: .minutes(30)),
                StageDefinition(name: "paid", events: [EventPattern("paid")]),
            ])
        let catalog = JourneyCatalog(journeys: [journey])
        var settings = AlertSettings()
        settings.window = .minutes(30)
        settings.baseline = .preceding(.hours(2))
        settings.minDecided = 10
        var running = DropOffDetector(catalog: catalog, settings: settings)
        for minute in Int64(0)..<60 {
            running.record(journey: 0, stage: 0, at: Self.start + .minutes(minute), abandoned: false)
        }
        running.record(journey: 0, stage: 1, at: Self.start + .minutes(60), abandoned: false)
        running.evaluate(through: Self.start + .minutes(61))
        #expect(running.historyStart == Self.start.minuteIndex)
    }

    @Test func theLevelIsCappedWhereTheBoundStopsGrowing() {
        var previous = 0.0
        for budget in [1.0, 10, 100, 150, 200, 452, 1000] {
            let level = FalseAlarmBudget(falseAlarmsPerMonth: budget, windowMinutes: 60).level
            #expect(level >= previous && level <= FalseAlarmBudget.maximumLevel, "budget \(budget): \(level)")
            previous = level
        }
        #expect(FalseAlarmBudget(falseAlarmsPerMonth: 1000, windowMinutes: 1440).level == FalseAlarmBudget.maximumLevel)
    }

    @Test func aTailFarBelowTheMeanIsOne() {
        let p = ExactDropOffTest.pValue(
            abandoned: 1, decided: 100_000, baselineAbandoned: 50_000, baselineDecided: 100_000)
        #expect(p > 0.999_999 && p <= 1)
    }
}

extension AlertBudgetTests {
    @Test(
        arguments: [
            (0.25, "0.25"), (0.01, "0.01"), (0.00999, "1.0e-02"), (9.4929e-6, "9.5e-06"), (9.96e-6, "1.0e-05"),
            (3.14e-12, "3.1e-12"), (0, "0"),
        ] as [(Double, String)])
    func probabilitiesReadTheSameEverywhere(value: Double, text: String) {
        #expect(ProbabilityText.format(value) == text)
    }
}
