import JourneyCore

/// Stage and pain-point matching written from docs/configuration.md alone, independent of `EventPattern.matches`
/// so that a bug there shows up as a difference.
public enum ReferenceMatching {
    /// Whether `name` matches the glob `pattern`, where `*` matches any run of bytes (also none)
    /// and everything else matches itself; byte-wise on UTF-8, case-sensitive.
    public static func glob(_ pattern: String, matches name: String) -> Bool {
        // Without a star the pattern must equal the name byte for byte (String's == would also
        // equate canonically equivalent spellings, which byte-wise matching does not).
        if !pattern.utf8.contains(UInt8(ascii: "*")) { return pattern.utf8.elementsEqual(name.utf8) }
        let p = Array(pattern.utf8)
        let n = Array(name.utf8)
        // matchesFrom(i, j): whether p[i...] matches n[j...]; filled from the ends backwards, in
        // one flat table of (p.count + 1) rows × (n.count + 1) columns.
        let width = n.count + 1
        var table = [Bool](repeating: false, count: (p.count + 1) * width)
        func matchesFrom(_ i: Int, _ j: Int) -> Bool { table[i * width + j] }
        table[p.count * width + n.count] = true
        var i = p.count - 1
        while i >= 0 {
            var j = n.count
            while j >= 0 {
                if p[i] == UInt8(ascii: "*") {
                    // The star matches nothing, or swallows one more byte and stays.
                    table[i * width + j] = matchesFrom(i + 1, j) || (j < n.count && matchesFrom(i, j + 1))
                } else {
                    table[i * width + j] = j < n.count && p[i] == n[j] && matchesFrom(i + 1, j + 1)
                }
                j -= 1
            }
            i -= 1
        }
        return matchesFrom(0, 0)
    }

    /// Whether the event matches the stage: its name matches one of the stage's patterns and,
    /// if the stage lists touchpoints, its touchpoint is among them.
    public static func stage(_ stage: StageDefinition, matches name: String, touchpoint: String) -> Bool {
        if let allowed = stage.touchpoints, !allowed.contains(touchpoint) { return false }
        return stage.events.contains { glob($0.text, matches: name) }
    }

    /// The first stage of the journey, in file order, that the event name and touchpoint match.
    public static func firstMatchingStage(name: String, touchpoint: String, in journey: JourneyDefinition) -> Int? {
        journey.stages.firstIndex { stage($0, matches: name, touchpoint: touchpoint) }
    }

    /// Whether the event may be mapped in the journey: it names no journey, or this one.
    public static func isVisible(_ event: TouchpointEvent, in journey: JourneyDefinition) -> Bool {
        event.journey == nil || event.journey == journey.name
    }

    /// The stage the event maps to in the journey (the `cjm.events` per-journey stage), or nil when
    /// it matches none or is restricted to another journey.
    public static func mappedStage(of event: TouchpointEvent, in journey: JourneyDefinition) -> Int? {
        guard isVisible(event, in: journey) else { return nil }
        return firstMatchingStage(name: event.name, touchpoint: event.touchpoint, in: journey)
    }

    /// Whether the event is a pain point under the journey's critical rules: its name matches a
    /// critical pattern, or its sentiment is strictly below `sentiment_below`.
    public static func isPainPoint(_ event: TouchpointEvent, in journey: JourneyDefinition) -> Bool {
        if journey.critical.events.contains(where: { glob($0.text, matches: event.name) }) { return true }
        if let threshold = journey.critical.sentimentBelow, let sentiment = event.sentiment, sentiment < threshold {
            return true
        }
        return false
    }
}
