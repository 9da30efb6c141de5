import JourneyCore

extension ConfigReader {
    /// Longest event pattern: event names are at most 128 bytes (docs/events.md).
    static let maximumPatternBytes = 128
    /// Longest touchpoint: touchpoints are at most 128 bytes (docs/events.md).
    static let maximumTouchpointBytes = 128
    /// How long an instance may progress when `conversion_window` is left out.
    static let defaultConversionWindow = TimeSpan.days(30)

    func readJourneys(_ field: Field?, in top: MappingView) -> [JourneyDefinition] {
        let advice = "define at least one journey with a name and two or more stages (config/cjmd.yaml has an example)"
        guard let field else {
            reportMissing("journeys", in: top, advice: advice)
            return []
        }
        if field.isNull {
            report("has no value; \(advice)", at: field)
            return []
        }
        guard let items = list(field, of: "journeys", shape: "one \"- name: ...\" item per journey") else { return [] }
        if items.isEmpty {
            report("is empty; \(advice)", at: field)
        }
        var journeys: [JourneyDefinition] = []
        var firstLineByName: [String: Int] = [:]
        for item in items {
            guard let (journey, nameField) = readJourney(item) else { continue }
            if let firstLine = firstLineByName[journey.name] {
                report(
                    "the journey name \(Self.quoted(journey.name)) is already used at line \(firstLine); "
                        + "give each journey its own name", at: nameField)
                continue
            }
            firstLineByName[journey.name] = nameField.node.mark?.line ?? 1
            journeys.append(journey)
        }
        return journeys
    }

    /// One journey and the field of its name; nil when its name is missing or invalid.
    private func readJourney(_ item: Field) -> (JourneyDefinition, Field)? {
        guard
            let journey = mapping(
                item,
                expecting: "a journey as key: value lines (name, conversion_window, repeat_window, stages, critical)",
                knownKeys: ["name", "conversion_window", "repeat_window", "stages", "critical"]
            )
        else { return nil }
        let name = text(journey["name"], expecting: "a journey name such as purchase")
        if case .absent = name {
            reportMissing(
                "name", in: journey, advice: "write name: followed by the journey's name, e.g. name: purchase")
        }
        let conversionWindow = duration(journey["conversion_window"], positive: true)
            .or(Self.defaultConversionWindow)
        let repeatWindow = duration(journey["repeat_window"], positive: true).value
        let stages = readStages(journey["stages"], in: journey)
        let critical = readCritical(journey["critical"])
        guard let nameText = name.value, let nameField = journey["name"] else { return nil }
        return (
            JourneyDefinition(
                name: nameText, conversionWindow: conversionWindow, stages: stages,
                critical: critical, repeatWindow: repeatWindow), nameField
        )
    }

    private func readStages(_ field: Field?, in journey: MappingView) -> [StageDefinition] {
        let advice = "list at least two stages, e.g. an entry stage and a goal stage, each with a name and events"
        guard let field else {
            reportMissing("stages", in: journey, advice: advice)
            return []
        }
        if field.isNull {
            report("has no value; \(advice)", at: field)
            return []
        }
        guard let items = list(field, of: "stages", shape: "one \"- name: ...\" item per stage") else { return [] }
        if items.count < 2 {
            report(
                "a journey needs at least two stages (where it starts and where it converts), got "
                    + "\(items.count); add the missing stages", at: field)
        }
        var stages: [StageDefinition] = []
        var firstLineByName: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let isLast = index == items.count - 1
            guard let (stage, nameField) = readStage(item, isLast: isLast) else { continue }
            if let firstLine = firstLineByName[stage.name] {
                report(
                    "the stage name \(Self.quoted(stage.name)) is already used at line \(firstLine) in this "
                        + "journey; give each stage its own name", at: nameField)
                continue
            }
            firstLineByName[stage.name] = nameField.node.mark?.line ?? 1
            stages.append(stage)
        }
        return stages
    }

    private func readStage(_ item: Field, isLast: Bool) -> (StageDefinition, Field)? {
        guard
            let stage = mapping(
                item, expecting: "a stage as key: value lines (name, events, touchpoints, abandon_after, target)",
                knownKeys: ["name", "events", "touchpoints", "abandon_after", "target"]
            )
        else { return nil }
        let name = text(stage["name"], expecting: "a stage name such as awareness")
        if case .absent = name {
            reportMissing("name", in: stage, advice: "write name: followed by the stage's name, e.g. name: awareness")
        }
        var events: [EventPattern] = []
        if let eventsField = stage["events"] {
            events = readPatterns(eventsField, allowEmpty: false)
        } else {
            reportMissing(
                "events", in: stage,
                advice: "list the event names that reach this stage, e.g. events: [product_view, \"landing_*\"]")
        }
        var touchpoints: [String]?
        if let touchpointsField = stage["touchpoints"], !touchpointsField.isNull {
            touchpoints = readTouchpoints(touchpointsField)
        }
        let abandonAfter = duration(stage["abandon_after"], positive: true, nullMeansAbsent: true)
        if isLast, abandonAfter.value != nil, let field = stage["abandon_after"] {
            report(
                "the last stage converts the instance, so it is never abandoned there; "
                    + "remove abandon_after from this stage", at: field)
        }
        let target = readTarget(stage["target"], isLast: isLast)
        guard let nameText = name.value, let nameField = stage["name"] else { return nil }
        return (
            StageDefinition(
                name: nameText, events: events, touchpoints: touchpoints,
                abandonAfter: abandonAfter.value, target: target), nameField
        )
    }

    /// A stage's `target:` (the to-be map): `step_conversion` (0 to 1) and
    /// `median_time_to_next` (a duration), at least one of them; not on the last stage.
    private func readTarget(_ field: Field?, isLast: Bool) -> StageTarget? {
        guard let field, !field.isNull else { return nil }
        guard
            let section = section(
                field, named: "target", knownKeys: ["step_conversion", "median_time_to_next"])
        else { return nil }
        if isLast {
            report(
                "the last stage has no next stage to convert to, so it takes no target; "
                    + "set targets on the stages before it", at: field)
            return nil
        }
        var target = StageTarget()
        if let conversionField = section["step_conversion"], !conversionField.isNull {
            let value = decimal(
                conversionField, example: "0.45", isAcceptable: { (0...1).contains($0) },
                rangeAdvice: "step_conversion is a share of the stage's instances, from 0 to 1, e.g. 0.45")
            if value.value != nil, case .scalar(let scalar) = conversionField.node {
                target.stepConversion = scalar.string.filter { $0 != "_" }
            }
        }
        target.medianTimeToNext = duration(section["median_time_to_next"], positive: true, nullMeansAbsent: true).value
        if case .mapping(let pairs) = field.node, pairs.count == 0 {
            report(
                "a target needs step_conversion (0 to 1), median_time_to_next (a duration such as 2d) or both, "
                    + "e.g. target: { step_conversion: 0.45, median_time_to_next: 2d }", at: field)
        }
        return target.stepConversion == nil && target.medianTimeToNext == nil ? nil : target
    }

    private func readCritical(_ field: Field?) -> CriticalRules {
        var rules = CriticalRules()
        guard let section = section(field, named: "critical", knownKeys: ["events", "sentiment_below"]) else {
            return rules
        }
        if let eventsField = section["events"], !eventsField.isNull {
            rules.events = readPatterns(eventsField, allowEmpty: true)
        }
        rules.sentimentBelow =
            decimal(
                section["sentiment_below"], example: "-0.5", isAcceptable: { (-1...1).contains($0) },
                rangeAdvice: "sentiment is from -1 to 1, so sentiment_below must be in that range, e.g. -0.5",
                nullMeansAbsent: true
            ).value
        return rules
    }

    /// A list of event-name patterns (`*` matches any run of characters).
    private func readPatterns(_ field: Field, allowEmpty: Bool) -> [EventPattern] {
        let example = "[payment_done, \"landing_*\"]"
        if field.isNull, !allowEmpty {
            report("has no value; list the event names that reach this stage, e.g. events: \(example)", at: field)
            return []
        }
        guard let items = list(field, of: "event names", shape: "such as \(example)") else { return [] }
        if items.isEmpty, !allowEmpty {
            report(
                "a stage with no events can never be reached; list its event names, e.g. events: \(example)",
                at: field)
            return []
        }
        return items.compactMap { item in
            guard
                let pattern = text(item, expecting: "an event name or pattern such as payment_done or \"landing_*\"")
                    .value
            else { return nil }
            guard pattern.utf8.count <= Self.maximumPatternBytes else {
                report(
                    "an event pattern can be at most \(Self.maximumPatternBytes) bytes (the longest event name), "
                        + "this one has \(pattern.utf8.count); shorten it or use * for the varying part", at: item)
                return nil
            }
            return EventPattern(pattern)
        }
    }

    private func readTouchpoints(_ field: Field) -> [String] {
        guard let items = list(field, of: "touchpoints", shape: "such as [web, mobile, store]") else { return [] }
        if items.isEmpty {
            report(
                "an empty list would let no event match this stage; list touchpoints such as [web, mobile], "
                    + "or remove the key to accept every touchpoint", at: field)
            return []
        }
        return items.compactMap { item in
            guard let touchpoint = text(item, expecting: "a touchpoint such as web").value else { return nil }
            guard touchpoint.utf8.count <= Self.maximumTouchpointBytes else {
                report(
                    "a touchpoint can be at most \(Self.maximumTouchpointBytes) bytes, this one has "
                        + "\(touchpoint.utf8.count); events with a longer touchpoint are rejected, so it would never match",
                    at: item)
                return nil
            }
            return touchpoint
        }
    }
}
