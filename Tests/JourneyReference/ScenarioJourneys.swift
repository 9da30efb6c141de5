import JourneyCore

/// Random journey definitions with overlapping patterns, touchpoint filters and a mix of stages
/// with and without `abandon_after`.
enum ScenarioJourneys {
    static let windows: [TimeSpan] = [.minutes(15), .minutes(45), .hours(2), .hours(8), .days(1), .days(3), .days(7)]

    static func make(using random: inout SplitMix64) -> [JourneyDefinition] {
        let names = random.sample(ScenarioVocabulary.journeyNames, count: random.int(in: 1...3))
        return names.map { makeJourney(named: $0, using: &random) }
    }

    private static func makeJourney(named name: String, using random: inout SplitMix64) -> JourneyDefinition {
        let stageCount = random.int(in: 2...6)
        let window = random.element(of: windows)
        var stages: [StageDefinition] = []
        var usedStageNames: [String: Int] = [:]
        for index in 0..<stageCount {
            let phase = index * ScenarioVocabulary.phases.count / stageCount
            var patterns = random.sample(ScenarioVocabulary.phases[phase], count: random.int(in: 1...3))
                .map { globified($0, using: &random) }
            if index > 0, random.chance(0.3) {
                // A pattern an earlier stage already has: those events always map to the earlier stage.
                let earlier = stages[random.int(in: 0...(index - 1))].events
                patterns.append(random.element(of: earlier).text)
            }
            if phase > 0, random.chance(0.2) {
                patterns.append(
                    random.element(of: ["*_view", "checkout_*", "*_done", "landing_*", "*_paid", "*ment*"]))
            }
            var touchpoints: [String]?
            if random.chance(0.2) {
                touchpoints = random.sample(ScenarioVocabulary.touchpoints, count: random.int(in: 2...3))
                if index > 0, random.chance(0.15) { patterns.append("*") }
            }
            var abandonAfter: TimeSpan?
            if random.chance(0.65) {
                // 1.0 makes abandonment and expiry of a silent new instance fall on the same instant.
                let fraction = random.element(of: [0.05, 0.1, 0.2, 0.35, 0.5, 1.0])
                let seconds = max(1, Int64(Double(window.microseconds / 1_000_000) * fraction))
                abandonAfter = .seconds(seconds)
            }
            let phaseName = ScenarioVocabulary.phaseStageNames[phase]
            usedStageNames[phaseName, default: 0] += 1
            let uses = usedStageNames[phaseName] ?? 1
            stages.append(
                StageDefinition(
                    name: uses == 1 ? phaseName : "\(phaseName)_\(uses)",
                    events: unique(patterns).map(EventPattern.init),
                    touchpoints: touchpoints, abandonAfter: abandonAfter
                ))
        }
        var criticalPatterns = random.sample(ScenarioVocabulary.critical, count: random.int(in: 1...3))
        if random.chance(0.3) { criticalPatterns.append(random.element(of: ["*_error", "payment_*", "*_crash"])) }
        let sentimentBelow: Double? = random.chance(0.7) ? random.element(of: [-0.6, -0.5, -0.3, 0.0]) : nil
        return JourneyDefinition(
            name: name, conversionWindow: window, stages: stages,
            critical: CriticalRules(
                events: unique(criticalPatterns).map(EventPattern.init), sentimentBelow: sentimentBelow)
        )
    }

    /// Sometimes turns a name into a glob that still matches it: `landing_*`, `*_view`, `*ing*`.
    private static func globified(_ name: String, using random: inout SplitMix64) -> String {
        let parts = name.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count > 1 else { return name }
        let roll = random.unit()
        if roll < 0.2 { return "\(parts[0])_*" }
        if roll < 0.35 { return "*_\(parts[parts.count - 1])" }
        if roll < 0.4 {
            let middle = Array(name.utf8).dropFirst(2).prefix(3)
            return "*\(String(decoding: middle, as: UTF8.self))*"
        }
        return name
    }

    private static func unique(_ texts: [String]) -> [String] {
        var seen = Set<String>()
        return texts.filter { seen.insert($0).inserted }
    }
}
