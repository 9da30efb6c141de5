import JourneyCore

/// Seeded, deterministic scenarios for differential tests.
public enum RandomScenario {
    /// 2025-01-01T00:00:00Z.
    static let firstDay = EventTime(seconds: 1_735_689_600)

    /// A scenario determined entirely by `seed`: 1–3 journeys, 10–60 customers, about 3–40 events
    /// each, with duplicates re-sent within the lateness bound and arrival disorder within it.
    /// Some events carry a persona in a top-level `traits` object (a few an invalid one), so
    /// customers change persona mid-journey. `personaTies`: some customers also get an extra
    /// event at the very time of another of theirs, with another persona, so the arrival order
    /// decides between them (such scenarios have equal times within a customer).
    public static func make(seed: UInt64, personaTies: Bool = false) -> Scenario {
        var random = SplitMix64(seed: seed)
        var journeys = ScenarioJourneys.make(using: &random)
        addRepeatWindows(to: &journeys, seed: seed)
        let lateness = random.element(of: [
            TimeSpan.milliseconds(500), .seconds(2), .seconds(5), .seconds(30), .minutes(2),
        ])
        let customers = ScenarioCustomers(journeys: journeys)
        let base =
            firstDay + .days(Int64(random.int(in: 0...180)))
            + TimeSpan(microseconds: random.int64(in: 0...86_399_999_999))
        let longestWindow = journeys.map(\.conversionWindow.microseconds).max() ?? 0
        let customerCount = random.int(in: 10...60)

        var events: [TouchpointEvent] = []
        for index in 0..<customerCount {
            let customerID =
                random.chance(0.12)
                ? "\(random.element(of: ScenarioVocabulary.unusualCustomerIDs))-\(index)"
                : "cust-\(index)"
            var start = base + TimeSpan(microseconds: random.int64(in: 0...(2 * longestWindow)))
            // Ties across customers.
            if random.chance(0.2) { start = EventTime(seconds: start.microseconds / 1_000_000) }
            events += customers.events(customerID: customerID, start: start, using: &random)
        }

        addPersonas(to: &events, seed: seed, ties: personaTies)
        addRepeatEdges(to: &events, journeys: journeys, customers: customers, seed: seed, ties: personaTies)
        let prefix = String(seed, radix: 16)
        for index in events.indices where random.chance(0.85) {
            events[index].eventID = random.chance(0.7) ? "evt-\(prefix)-\(index)" : uuidLike(using: &random)
        }
        for index in events.indices {
            let style = WireStyle(seed: seed, eventID: events[index].eventID)
            if let carried = style.aliasProperties(for: events[index]) {
                events[index].propertiesJSON = carried
            } else if random.chance(0.15) {
                events[index].propertiesJSON = random.element(of: [
                    "{\"page\":\"/pricing\",\"items\":3}", "{\"tags\":[\"a\",\"b\"],\"nested\":{\"ok\":true}}",
                    "{}", "{\"note\":\"caf\\u00e9 \\\"quoted\\\"\"}",
                ])
            }
        }
        let arrivals = arrivalOrder(of: events, lateness: lateness, using: &random)
        return Scenario(seed: seed, journeys: journeys, allowedLateness: lateness, arrivals: arrivals)
    }

    /// Sorts events by `ts + u` (u uniform in [0, lateness]), which keeps every arrival within the
    /// lateness bound, and re-sends about 6% of them as exact copies arriving later, still within it.
    private static func arrivalOrder(of events: [TouchpointEvent], lateness: TimeSpan, using random: inout SplitMix64)
        -> [TouchpointEvent]
    {
        var keyed: [(key: Int64, order: Int, event: TouchpointEvent)] = []
        for (index, event) in events.enumerated() {
            let latest = event.time.microseconds + lateness.microseconds
            let key = random.int64(in: event.time.microseconds...latest)
            keyed.append((key, 2 * index, event))
            if random.chance(0.06) {
                keyed.append((random.int64(in: key...latest), 2 * index + 1, event))
            }
        }
        return keyed.sorted { ($0.key, $0.order) < ($1.key, $1.order) }.map(\.event)
    }

    /// The personas events carry, and values at the persona's path that are not personas.
    public static let personas = ["buyer", "browser", "pro", "caf\u{E9} \u{2615}", String(repeating: "p", count: 64)]
    static let invalidPersonaJSON = [
        "42", "\"\"", "null", "{\"name\":\"buyer\"}", "\"\(String(repeating: "q", count: 65))\"",
    ]

    private static func addPersonas(to events: inout [TouchpointEvent], seed: UInt64, ties: Bool) {
        var random = SplitMix64(seed: seed ^ 0x9E6C_63D0_676A_9A99)
        var styleOf: [String: (rate: Double, choices: [String])] = [:]
        var tied: [TouchpointEvent] = []
        for index in events.indices {
            let customer = events[index].customerID
            if styleOf[customer] == nil {
                // Some customers never carry one; others one persona, or several in turn.
                let rate = random.element(of: [0.0, 0.0, 0.2, 0.5])
                let choices = (0..<random.int(in: 1...3)).map { _ in random.element(of: personas) }
                styleOf[customer] = (rate, choices)
            }
            let style = styleOf[customer]!
            if random.chance(style.rate) {
                let persona = random.element(of: style.choices)
                events[index].persona = persona
                events[index].traitsJSON = "{\"persona\":\(JSONText.string(persona))}"
            } else if style.rate > 0, random.chance(0.05) {
                events[index].traitsJSON = "{\"persona\":\(random.element(of: invalidPersonaJSON))}"
            }
            if ties, style.rate > 0, random.chance(0.1) {
                var twin = TouchpointEvent(
                    eventID: "tie-\(index)", customerID: customer, name: "identify", time: events[index].time)
                let persona = random.element(of: personas)
                twin.persona = persona
                twin.traitsJSON = "{\"persona\":\(JSONText.string(persona))}"
                tied.append(twin)
            }
        }
        events += tied
    }

    /// Repeat windows other than the default (the conversion window) for some journeys, from
    /// a generator of their own so that the rest of the scenario stays as it was.
    private static func addRepeatWindows(to journeys: inout [JourneyDefinition], seed: UInt64) {
        var random = SplitMix64(seed: seed ^ 0x3C6E_F372_FE94_F82B)
        for index in journeys.indices where random.chance(0.6) {
            let window = journeys[index].conversionWindow
            journeys[index].repeatWindow = random.element(of: [
                TimeSpan(microseconds: window.microseconds / 2), TimeSpan(microseconds: window.microseconds * 2),
                TimeSpan(microseconds: window.microseconds * 5), .minutes(30), .days(1),
            ])
        }
    }

    /// The edges of the repeat loop (docs/semantics.md): some customers enter again exactly as
    /// the repeat window after a conversion ends (a return, by a microsecond), and some
    /// scenarios end exactly when, or a microsecond before, a pending conversion's window
    /// ends (a clock event of a customer of no journey sets the end). With `ties`, some
    /// customers also enter again at the very time they converted (a return after 0 s, or,
    /// arriving first, activity in the instance that then converts).
    private static func addRepeatEdges(
        to events: inout [TouchpointEvent], journeys: [JourneyDefinition], customers: ScenarioCustomers, seed: UInt64,
        ties: Bool
    ) {
        var random = SplitMix64(seed: seed ^ 0x7F4A_7C15_9E37_79B9)
        let names = journeys.map(\.name)
        func conversions(_ events: [TouchpointEvent]) -> [ReferenceInstance] {
            ReferenceJourneys.compute(journeys: journeys, arrivals: events, asOf: nil).instances.filter {
                $0.status == .converted
            }
        }
        func event(customer: String, name: String, touchpoint: String, at time: EventTime) -> TouchpointEvent {
            TouchpointEvent(
                eventID: Scenario.derivedEventID(customerID: customer, name: name, time: time, touchpoint: touchpoint),
                customerID: customer, name: name, time: time, touchpoint: touchpoint)
        }
        let taken = Set(events.map { "\($0.customerID)\u{0}\($0.time.microseconds)" })
        for converted in conversions(events) where random.chance(0.3) {
            guard let j = names.firstIndex(of: converted.journey), let exit = converted.exitedAt,
                let entry = customers.entryEvent(journey: j, using: &random)
            else { continue }
            let atExit = ties && random.chance(0.5)
            let time = atExit ? exit : exit + journeys[j].repeatWindow
            // Every customer's events keep distinct times (but the ties asked for).
            guard atExit || !taken.contains("\(converted.customerID)\u{0}\(time.microseconds)") else { continue }
            events.append(
                event(customer: converted.customerID, name: entry.name, touchpoint: entry.touchpoint, at: time))
        }
        guard random.chance(0.7), let latest = events.map(\.time).max() else { return }
        let all = ReferenceJourneys.compute(journeys: journeys, arrivals: events, asOf: nil).instances
        let keys = Set(all.map { "\($0.journey)\u{0}\($0.customerID)\u{0}\($0.instance)" })
        let waiting = all.compactMap { instance -> EventTime? in
            guard instance.status == .converted,
                !keys.contains("\(instance.journey)\u{0}\(instance.customerID)\u{0}\(instance.instance + 1)"),
                let j = names.firstIndex(of: instance.journey), let exit = instance.exitedAt
            else { return nil }
            let end = exit + journeys[j].repeatWindow
            return end > latest ? end : nil
        }
        guard !waiting.isEmpty else { return }
        let end = random.element(of: waiting) - TimeSpan(microseconds: random.chance(0.5) ? 0 : 1)
        if end > latest {
            events.append(event(customer: "zz-clock", name: "unlisted_event", touchpoint: "web", at: end))
        }
    }

    private static func uuidLike(using random: inout SplitMix64) -> String {
        let high = String(random.next(), radix: 16)
        let low = String(random.next(), radix: 16)
        let hex = Array(
            String(repeating: "0", count: 16 - high.count) + high + String(repeating: "0", count: 16 - low.count) + low)
        return [hex[0..<8], hex[8..<12], hex[12..<16], hex[16..<20], hex[20..<32]].map { String($0) }.joined(
            separator: "-")
    }
}
