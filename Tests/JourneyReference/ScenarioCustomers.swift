import JourneyCore

/// Generates the events of customers who move through the journeys in realistic ways: steady
/// progress, stalls long enough to be flagged abandoned and then recover, windows that run out,
/// re-entries after an exit, skipped stages, noise, restricted events and pain points.
///
/// The generator keeps only a rough model of where each customer stands (it never consults the
/// reference); the reference decides what the events mean.
struct ScenarioCustomers {
    let journeys: [JourneyDefinition]
    /// For journey j and stage s, the (name, touchpoint) pairs whose first matching stage is s.
    private let stageCandidates: [[[(name: String, touchpoint: String)]]]
    /// Pairs that match no stage of any journey.
    private let noiseCandidates: [(name: String, touchpoint: String)]
    /// Per journey, names matching a critical pattern.
    private let criticalNames: [[String]]

    init(journeys: [JourneyDefinition]) {
        self.journeys = journeys
        let touchpoints = ScenarioVocabulary.touchpoints + ["unknown"]
        let pairs = ScenarioVocabulary.allNames.flatMap { name in touchpoints.map { (name: name, touchpoint: $0) } }
        stageCandidates = journeys.map { journey in
            journey.stages.indices.map { stage in
                pairs.filter {
                    ReferenceMatching.firstMatchingStage(name: $0.name, touchpoint: $0.touchpoint, in: journey) == stage
                }
            }
        }
        noiseCandidates = pairs.filter { pair in
            journeys.allSatisfy {
                ReferenceMatching.firstMatchingStage(name: pair.name, touchpoint: pair.touchpoint, in: $0) == nil
            }
        }
        criticalNames = journeys.map { journey in
            ScenarioVocabulary.allNames.filter { name in
                journey.critical.events.contains { ReferenceMatching.glob($0.text, matches: name) }
            }
        }
    }

    /// Where the generator believes a customer stands in one journey.
    private struct Plan {
        /// The stage the next progress event targets; 0 means "enter".
        var nextStage = 0
        var enteredAt: EventTime?
    }

    private struct Draft {
        var name: String
        var touchpoint: String
        var journey: String?
        var advances: Bool
    }

    /// The events of one customer in time order (strictly increasing timestamps).
    /// Every event gets a content-derived id; the caller replaces most with explicit ones.
    func events(customerID: String, start: EventTime, using random: inout SplitMix64) -> [TouchpointEvent] {
        var plans = Array(repeating: Plan(), count: journeys.count)
        let primary = random.int(in: 0...(journeys.count - 1))
        var time = start
        var result: [TouchpointEvent] = []
        for step in 0..<random.int(in: 3...40) {
            let j = random.chance(0.7) ? primary : random.int(in: 0...(journeys.count - 1))
            if step > 0 { time = nextTime(after: time, journey: j, plan: plans[j], using: &random) }
            if let entered = plans[j].enteredAt, time > entered + journeys[j].conversionWindow {
                plans[j] = Plan()  // the model's instance has expired
            }
            let draft = chooseEvent(journey: j, plan: plans[j], using: &random)
            if draft.advances {
                if plans[j].nextStage == 0 { plans[j].enteredAt = time }
                plans[j].nextStage += 1
                if plans[j].nextStage == journeys[j].stages.count { plans[j] = Plan() }
            }
            result.append(makeEvent(draft, customerID: customerID, time: time, journey: j, using: &random))
        }
        return result
    }

    private func nextTime(after time: EventTime, journey j: Int, plan: Plan, using random: inout SplitMix64)
        -> EventTime
    {
        let journey = journeys[j]
        let window = journey.conversionWindow.microseconds
        let currentStage = max(0, plan.nextStage - 1)
        let silence = (journey.stages[currentStage].abandonAfter ?? TimeSpan(microseconds: window / 4)).microseconds
        let roll = random.unit()
        var gap: Int64
        var exact = false
        if roll < 0.33 {
            gap = random.int64(in: 1...3_000_000)  // within seconds: reordered by lateness
        } else if roll < 0.60 {
            gap = random.int64(in: 1_000_000...max(2_000_000, silence / 3))
        } else if roll < 0.72 {
            gap = silence + random.int64(in: 1...(2 * silence))  // a stall: abandonment, then recovery
        } else if roll < 0.77 {
            gap = silence  // exactly at the abandonment deadline: the event comes first, no flag
            exact = true
        } else if roll < 0.81, let entered = plan.enteredAt, entered + journey.conversionWindow > time {
            // Exactly at the inclusive window boundary.
            gap = ((entered + journey.conversionWindow) - time).microseconds
            exact = true
        } else if roll < 0.89 {
            gap = window + random.int64(in: 0...(window * 3 / 2))  // the window runs out
        } else {
            gap = random.int64(in: (window / 10)...(window * 6 / 10))
        }
        gap = max(1, gap)
        var next = time + TimeSpan(microseconds: gap)
        if !exact, random.chance(0.35) {
            // A whole millisecond, so that the wire may carry it as epoch milliseconds.
            let remainder = next.microseconds % 1000
            if remainder != 0 { next = EventTime(microseconds: next.microseconds + 1000 - remainder) }
        }
        return next
    }

    private func candidate(journey j: Int, stage: Int, using random: inout SplitMix64) -> (
        name: String, touchpoint: String
    )? {
        guard stage >= 0, stage < journeys[j].stages.count, !stageCandidates[j][stage].isEmpty else { return nil }
        return random.element(of: stageCandidates[j][stage])
    }

    /// An event (name, touchpoint) whose first matching stage of journey `j` is its first
    /// stage: one that opens an instance.
    func entryEvent(journey j: Int, using random: inout SplitMix64) -> (name: String, touchpoint: String)? {
        candidate(journey: j, stage: 0, using: &random)
    }

    private func noise(using random: inout SplitMix64) -> Draft {
        if let pair = noiseCandidates.isEmpty ? nil : random.element(of: noiseCandidates) {
            return Draft(name: pair.name, touchpoint: pair.touchpoint, journey: nil, advances: false)
        }
        return Draft(name: "unlisted_event", touchpoint: "unknown", journey: nil, advances: false)
    }

    private func chooseEvent(journey j: Int, plan: Plan, using random: inout SplitMix64) -> Draft {
        let roll = random.unit()
        let progress = candidate(journey: j, stage: plan.nextStage, using: &random)
        if roll < 0.48 {
            guard let progress else { return noise(using: &random) }
            return Draft(name: progress.name, touchpoint: progress.touchpoint, journey: nil, advances: true)
        }
        if roll < 0.58 {
            guard let progress else { return noise(using: &random) }
            let journeyName = journeys[j].name
            let pick = random.unit()
            if pick < 0.6 {
                return Draft(name: progress.name, touchpoint: progress.touchpoint, journey: journeyName, advances: true)
            }
            let others = journeys.map(\.name).filter { $0 != journeyName }
            let restriction =
                pick < 0.8 && !others.isEmpty
                ? random.element(of: others) : random.element(of: ScenarioVocabulary.unknownJourneyNames)
            return Draft(name: progress.name, touchpoint: progress.touchpoint, journey: restriction, advances: false)
        }
        if roll < 0.68 { return noise(using: &random) }
        if roll < 0.73, let skip = candidate(journey: j, stage: plan.nextStage + 1, using: &random) {
            return Draft(name: skip.name, touchpoint: skip.touchpoint, journey: nil, advances: false)
        }
        if roll < 0.78, plan.nextStage > 0, let again = candidate(journey: j, stage: 0, using: &random) {
            return Draft(name: again.name, touchpoint: again.touchpoint, journey: nil, advances: false)
        }
        if roll < 0.86, !criticalNames[j].isEmpty {
            return Draft(
                name: random.element(of: criticalNames[j]),
                touchpoint: random.element(of: ScenarioVocabulary.touchpoints),
                journey: nil, advances: false
            )
        }
        if roll < 0.92 {
            let other = random.int(in: 0...(journeys.count - 1))
            let stage = random.int(in: 0...(journeys[other].stages.count - 1))
            if let pair = candidate(journey: other, stage: stage, using: &random) {
                return Draft(name: pair.name, touchpoint: pair.touchpoint, journey: nil, advances: false)
            }
        }
        if let repeatStage = candidate(journey: j, stage: plan.nextStage - 1, using: &random) {
            return Draft(name: repeatStage.name, touchpoint: repeatStage.touchpoint, journey: nil, advances: false)
        }
        return noise(using: &random)
    }

    private func makeEvent(
        _ draft: Draft, customerID: String, time: EventTime, journey j: Int, using random: inout SplitMix64
    ) -> TouchpointEvent {
        let isCritical = ScenarioVocabulary.critical.contains(draft.name)
        var sentiment: Double?
        if let threshold = journeys[j].critical.sentimentBelow, random.chance(0.05) {
            sentiment = threshold  // exactly at the threshold: not a pain point ("strictly below")
        } else if random.chance(isCritical ? 0.7 : 0.35) {
            let cents = isCritical ? random.int(in: -100...(-20)) : random.int(in: -100...100)
            sentiment = Double(cents) / 100
        }
        var revenue: DecimalText?
        let isPurchase = ScenarioVocabulary.phases[3].contains(draft.name) || draft.name == "repeat_purchase"
        if random.chance(isPurchase ? 0.7 : 0.05) || draft.name == "refund_requested" {
            var cents = Int64(random.int(in: 1...99_999))
            if random.chance(0.3) { cents = cents / 100 * 100 }
            if draft.name == "refund_requested" { cents = -cents }
            revenue = DecimalText(micros: cents * 10_000)
        }
        let id = Scenario.derivedEventID(
            customerID: customerID, name: draft.name, time: time, touchpoint: draft.touchpoint
        )
        return TouchpointEvent(
            eventID: id, customerID: customerID, name: draft.name, time: time, touchpoint: draft.touchpoint,
            journey: draft.journey, sentiment: sentiment, revenue: revenue
        )
    }
}
