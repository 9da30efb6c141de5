import JourneyCore

/// A generated test scenario: journeys, the allowed lateness, and events in arrival order.
///
/// Arrivals never violate the lateness bound (no event arrives after one whose `ts` exceeds its
/// own by more than `allowedLateness`), duplicates are exact re-sends, and every customer's events
/// have distinct timestamps, so any arrival order produced by `permutedArrivals(seed:)` must give
/// the same result.
public struct Scenario: Sendable, Equatable {
    /// The seed the scenario was made from; it also fixes the wire spelling of each event.
    public var seed: UInt64
    /// The journeys, in configuration order.
    public var journeys: [JourneyDefinition]
    /// The reorder tolerance the arrival order was made for.
    public var allowedLateness: TimeSpan
    /// Events in arrival order, duplicates included.
    public var arrivals: [TouchpointEvent]

    /// Creates a scenario from parts (for hand-written scenarios).
    public init(seed: UInt64, journeys: [JourneyDefinition], allowedLateness: TimeSpan, arrivals: [TouchpointEvent]) {
        self.seed = seed
        self.journeys = journeys
        self.allowedLateness = allowedLateness
        self.arrivals = arrivals
    }

    /// The reference result for these arrivals; `asOf` nil means the largest accepted `ts`.
    public func reference(asOf: EventTime? = nil) -> ReferenceResult {
        ReferenceJourneys.compute(
            journeys: journeys, arrivals: arrivals, asOf: asOf, defaultPersona: Self.defaultPersona)
    }

    /// The same scenario with no event carrying a persona (as cjmd before personas stored them).
    public func withoutPersonas() -> Scenario {
        var copy = self
        for index in copy.arrivals.indices {
            copy.arrivals[index].persona = nil
            copy.arrivals[index].traitsJSON = nil
        }
        return copy
    }

    /// The persona of customers before any event carried one, in every scenario.
    public static let defaultPersona = "unknown"

    /// Another arrival order of the same events that still respects the lateness bound.
    ///
    /// Each arrival gets the key `ts + u` with `u` uniform in [0, allowedLateness], and arrivals are
    /// sorted by key: if event a arrives before b then ts(a) + u(a) ≤ ts(b) + u(b), so
    /// ts(a) − ts(b) ≤ allowedLateness. Duplicates are exact copies, so which copy comes first
    /// does not matter.
    public func permutedArrivals(seed: UInt64) -> [TouchpointEvent] {
        var random = SplitMix64(seed: seed ^ 0x5DEE_CE66_D1CE_4E5B)
        let keyed = arrivals.map { event in
            (
                key: event.time.microseconds + random.int64(in: 0...allowedLateness.microseconds),
                tieBreak: random.next(), event: event
            )
        }
        return keyed.sorted { ($0.key, $0.tieBreak) < ($1.key, $1.tieBreak) }.map(\.event)
    }

    /// Whether no event in `arrivals` comes after one whose `ts` exceeds its own by more than
    /// `allowedLateness` (that is, no event would be late for the watermark).
    public func respectsLateness(_ arrivals: [TouchpointEvent]) -> Bool {
        var largest = EventTime.distantPast
        for event in arrivals {
            if largest - event.time > allowedLateness { return false }
            largest = max(largest, event.time)
        }
        return true
    }

    /// The prefix of ids the generator gives events that carry no `event_id` on the wire. The
    /// decoder derives its own id for those; compare such events by content, not by id.
    public static let derivedIDPrefix = "derived:"

    /// The id the scenario uses for an event without a wire id: equal exactly when customer,
    /// name, time and touchpoint are equal, as docs/events.md derives it.
    public static func derivedEventID(customerID: String, name: String, time: EventTime, touchpoint: String) -> String {
        "\(derivedIDPrefix)\(customerID)\u{1F}\(name)\u{1F}\(time.microseconds)\u{1F}\(touchpoint)"
    }

    /// Whether the event's id is sent on the wire (false for ids derived from content).
    public static func hasWireID(_ event: TouchpointEvent) -> Bool {
        !event.eventID.hasPrefix(derivedIDPrefix)
    }
}
