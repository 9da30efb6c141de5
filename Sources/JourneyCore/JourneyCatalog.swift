/// The journeys of a configuration compiled for matching: which stage of each journey an
/// event maps to (first matching stage in file order wins) and which events are critical.
///
/// Literal patterns are looked up in a dictionary; only glob patterns are scanned, so the
/// common configuration (mostly literal names) costs one hash lookup per journey and event.
public struct JourneyCatalog: Sendable {
    /// The journeys, in configuration order; their index is used throughout the engine.
    public let journeys: [JourneyDefinition]
    private let compiled: [CompiledJourney]
    private let indexByName: [String: Int]

    private struct CompiledJourney: Sendable {
        /// Literal event name → stages listing it, ascending.
        var literalStages: [String: [Int]]
        /// (stage, pattern) for every glob, in stage order.
        var globStages: [(stage: Int, pattern: EventPattern)]
        var touchpointFilters: [Set<String>?]
        var criticalLiterals: Set<String>
        var criticalGlobs: [EventPattern]
        var sentimentBelow: Double?
    }

    public init(journeys: [JourneyDefinition]) {
        self.journeys = journeys
        var byName: [String: Int] = [:]
        for (index, journey) in journeys.enumerated() where byName[journey.name] == nil {
            byName[journey.name] = index
        }
        self.indexByName = byName
        self.compiled = journeys.map { journey in
            var literals: [String: [Int]] = [:]
            var globs: [(Int, EventPattern)] = []
            for (stageIndex, stage) in journey.stages.enumerated() {
                for pattern in stage.events {
                    if pattern.isLiteral {
                        if literals[pattern.text]?.last != stageIndex {
                            literals[pattern.text, default: []].append(stageIndex)
                        }
                    } else {
                        globs.append((stageIndex, pattern))
                    }
                }
            }
            return CompiledJourney(
                literalStages: literals,
                globStages: globs,
                touchpointFilters: journey.stages.map { $0.touchpoints.map(Set.init) },
                criticalLiterals: Set(journey.critical.events.filter(\.isLiteral).map(\.text)),
                criticalGlobs: journey.critical.events.filter { !$0.isLiteral },
                sentimentBelow: journey.critical.sentimentBelow
            )
        }
    }

    /// The index of the journey with this name.
    public func journeyIndex(named name: String) -> Int? { indexByName[name] }

    /// The first stage of journey `journey` that the event matches, or nil (activity only).
    public func stage(inJourney journey: Int, event name: String, touchpoint: String) -> Int? {
        let c = compiled[journey]
        var best = Int.max
        if let stages = c.literalStages[name] {
            for s in stages where c.touchpointFilters[s]?.contains(touchpoint) ?? true {
                best = s
                break
            }
        }
        for (s, pattern) in c.globStages where s < best {
            if (c.touchpointFilters[s]?.contains(touchpoint) ?? true) && pattern.matches(name) {
                best = s
                break
            }
        }
        return best == Int.max ? nil : best
    }

    /// Whether the event is a pain point of journey `journey` (`critical` in docs/configuration.md).
    public func isPainPoint(inJourney journey: Int, event name: String, sentiment: Double?) -> Bool {
        let c = compiled[journey]
        if let threshold = c.sentimentBelow, let sentiment, sentiment < threshold { return true }
        if c.criticalLiterals.contains(name) { return true }
        return c.criticalGlobs.contains { $0.matches(name) }
    }

    /// The stage each journey maps the event to, honouring the event's `journey`
    /// restriction: the one matching of an event, which the store and the engine share.
    public func stageMap(for event: TouchpointEvent) -> StageMap {
        let restriction = event.journey.map { journeyIndex(named: $0) ?? -1 }
        return StageMap(journeys: journeys.count) { j in
            if let restriction, restriction != j { return nil }
            return stage(inJourney: j, event: event.name, touchpoint: event.touchpoint)
        }
    }

    /// The stage each journey maps the event to (nil entries: no stage), honouring the
    /// event's `journey` restriction.
    public func mappedStages(for event: TouchpointEvent) -> [Int?] {
        let restriction = event.journey.map { journeyIndex(named: $0) ?? -1 }
        return journeys.indices.map { j in
            if let restriction, restriction != j { return nil }
            return stage(inJourney: j, event: event.name, touchpoint: event.touchpoint)
        }
    }
}
