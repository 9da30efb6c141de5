import JourneyCore

/// A seeded, deterministic generator of realistic customer journeys for a configuration:
/// customers arrive over time, enter a journey, progress stage by stage with declining
/// probability and realistic delays, meet touchpoints, feel things, pay, stall, come back.
///
/// Output is streamed in arrival order with memory bounded by the customers in flight, so
/// it scales to tens of millions of events.
public struct JourneySimulator {
    private let journeys: [JourneyDefinition]
    private let options: SimulationOptions
    private var rng: SplitMix64
    /// Draws the UUID event ids (``SimulationOptions/uuidEventIDs``).
    private var idGenerator: SplitMix64
    /// Lines waiting for their arrival time, earliest first.
    private var inFlight = MinHeap<QueuedLine> { ($0.arrival, $0.sequence) < ($1.arrival, $1.sequence) }
    private var emittedEvents = 0
    private var sequence: UInt64 = 0
    /// Draws each customer's persona, apart from `rng` so that the rest of the lines do not
    /// depend on whether personas are on.
    private var personaGenerator: SplitMix64

    /// Touchpoints used when a stage does not restrict them.
    static let defaultTouchpoints = ["web", "mobile", "email", "ads", "store", "support"]
    /// Event names that match no stage in the shipped configuration (activity only).
    static let noiseEvents = ["page_scroll", "app_open", "newsletter_click", "search"]

    public init(journeys: [JourneyDefinition], options: SimulationOptions) {
        self.journeys = journeys
        self.options = options
        self.rng = SplitMix64(seed: options.seed)
        self.idGenerator = SplitMix64(seed: options.seed ^ 0x6576_656E_745F_6964)  // "event_id"
        self.personaGenerator = SplitMix64(seed: options.seed ^ 0x7065_7273_6F6E_6173)  // "personas"
    }

    /// Generates every line, calling `emit` with each one (ending in `\n`) in arrival order.
    /// - Returns: the number of event lines written (malformed and duplicate lines included).
    @discardableResult
    public mutating func run(_ emit: ([UInt8]) throws -> Void) rethrows -> Int {
        try runWithArrivalTimes { line, _ in try emit(line) }
    }

    /// Generates every line in arrival order, calling `emit` with each line (ending in `\n`)
    /// and the time it arrives, for a sender that paces lines in real time.
    /// - Returns: the number of event lines written (malformed and duplicate lines included).
    @discardableResult
    public mutating func runWithArrivalTimes(_ emit: (_ line: [UInt8], _ arrival: EventTime) throws -> Void) rethrows
        -> Int
    {
        guard !journeys.isEmpty, options.customers > 0 else { return 0 }
        let meanGap = Double(options.duration.microseconds) / Double(options.customers)
        var arrival = Double(options.start.microseconds)
        var lines = 0
        for customer in 0..<options.customers {
            arrival += rng.exponential(mean: meanGap)
            let start = EventTime(microseconds: Int64(arrival))
            while let next = inFlight.first, next.arrival < start {
                inFlight.pop()
                try emit(next.line, next.arrival)
                lines += 1
            }
            for event in simulateCustomer(customer, start: start) {
                enqueue(event)
            }
        }
        while let next = inFlight.pop() {
            try emit(next.line, next.arrival)
            lines += 1
        }
        return lines
    }

    // MARK: One customer

    private mutating func simulateCustomer(_ number: Int, start: EventTime) -> [SimulatedEvent] {
        let customerID = "c\(options.seed % 1000)-\(number)"
        let journeyIndex = number % journeys.count
        let journey = journeys[journeyIndex]
        var events: [SimulatedEvent] = []
        var time = start
        var entries = 0
        var persona = drawPersona()
        var comesBack = 0.25
        var returning = false
        repeat {
            entries += 1
            let first = events.count
            let converted = simulateInstance(
                of: journey, customerID: customerID, persona: persona, from: &time, into: &events)
            if let persona, first < events.count {
                events[first].persona = persona.name
                // Most customers who come back after buying answer a win-back e-mail: the
                // repeat loop's triggers (cjm.repeat_triggers) then show one that stands out.
                if returning, journey.stages[0].touchpoints?.contains("email") ?? true,
                    let literal = journey.stages[0].events.first(where: { $0.isLiteral && $0.text.contains("email") })
                        ?? journey.stages[0].events.first(where: \.isLiteral), rng.chance(0.6)
                {
                    events[first].name = literal.text
                    events[first].touchpoint = "email"
                }
            }
            returning = converted
            if converted, let profile = persona {
                // With personas, who comes back after buying, and how soon, depends on who
                // they were when they bought (without, the lines stay as they always were).
                comesBack = profile.returnsAfterConverting
                if let next = profile.becomesAfterConverting {
                    persona = options.personas.first { $0.name == next } ?? persona
                }
            }
            guard converted || rng.chance(0.3) else { break }
            let gapWindow = converted && persona != nil ? journey.repeatWindow : journey.conversionWindow
            time = time + TimeSpan(microseconds: Int64(rng.exponential(mean: Double(gapWindow.microseconds) / 3)))
        } while entries < 3 && rng.chance(comesBack)
        return events
    }

    /// One of the configured personas by share; nil when there are none.
    private mutating func drawPersona() -> SimulationOptions.PersonaProfile? {
        guard !options.personas.isEmpty else { return nil }
        let total = options.personas.reduce(0) { $0 + max(0, $1.share) }
        var draw = personaGenerator.unit() * total
        for persona in options.personas {
            draw -= max(0, persona.share)
            if draw < 0 { return persona }
        }
        return options.personas.last
    }

    /// Simulates one pass through `journey`; returns whether it converted.
    private mutating func simulateInstance(
        of journey: JourneyDefinition, customerID: String, persona: SimulationOptions.PersonaProfile?,
        from time: inout EventTime, into events: inout [SimulatedEvent]
    ) -> Bool {
        let stageCount = journey.stages.count
        let meanDelay = meanStageDelay(journey)
        var stage = 0
        let unhappy = rng.chance(persona?.unhappyRate ?? 0.3)
        while true {
            let definition = journey.stages[stage]
            events.append(
                makeEvent(
                    customerID, name: concreteName(definition.events), stage: definition,
                    stageIndex: stage, journey: journey, unhappy: unhappy, time: time))
            let extra = Int(rng.exponential(mean: options.extraActivity).rounded(.down))
            for _ in 0..<min(extra, 6) {
                time = time + jitter(meanDelay / 6)
                let name = rng.chance(0.5) ? concreteName(definition.events) : rng.pick(Self.noiseEvents)
                events.append(
                    makeEvent(
                        customerID, name: name, stage: definition, stageIndex: stage,
                        journey: journey, unhappy: unhappy, time: time))
            }
            if !journey.critical.events.isEmpty, rng.chance(unhappy ? 0.25 : 0.03) {
                time = time + jitter(meanDelay / 8)
                events.append(
                    makeEvent(
                        customerID, name: concreteName(journey.critical.events), stage: definition,
                        stageIndex: stage, journey: journey, unhappy: true, time: time))
            }
            if stage == stageCount - 1 { return true }
            let factor = persona?.progressionFactor ?? 1
            guard rng.chance(min(0.95, progression(journey, stage: stage, at: time) * (unhappy ? 0.6 : 1) * factor))
            else {
                // Stalls: some come back once after a while (recovering a flagged instance).
                if rng.chance(0.25) {
                    time = time + jitter(meanDelay * 4)
                    events.append(
                        makeEvent(
                            customerID, name: rng.pick(Self.noiseEvents), stage: definition,
                            stageIndex: stage, journey: journey, unhappy: unhappy, time: time))
                }
                return false
            }
            time = time + jitter(meanDelay)
            stage += 1
        }
    }

    private func meanStageDelay(_ journey: JourneyDefinition) -> TimeSpan {
        var mean = journey.conversionWindow.microseconds / Int64(journey.stages.count * 3)
        for stage in journey.stages {
            if let a = stage.abandonAfter { mean = min(mean, a.microseconds / 3) }
        }
        return TimeSpan(microseconds: max(mean, 1_000_000))
    }

    private mutating func progression(_ journey: JourneyDefinition, stage: Int, at time: EventTime) -> Double {
        if let spike = options.spike, spike.journey == journey.name,
            journey.stages[stage].name == spike.stage, time >= spike.start, time < spike.start + spike.duration
        {
            return spike.progression
        }
        if let list = options.progression, !list.isEmpty { return list[min(stage, list.count - 1)] }
        return max(0.25, 0.65 - 0.12 * Double(stage))
    }

    private mutating func jitter(_ mean: TimeSpan) -> TimeSpan {
        TimeSpan(microseconds: 1 + Int64(rng.exponential(mean: Double(mean.microseconds))))
    }

    /// A name matching one of the patterns: a literal as is, a glob with its stars filled in.
    private mutating func concreteName(_ patterns: [EventPattern]) -> String {
        let pattern = rng.pick(patterns).text
        guard pattern.contains("*") else { return pattern }
        return pattern.split(separator: "*", omittingEmptySubsequences: false)
            .joined(separator: rng.pick(["spring", "home", "promo", "x"]))
    }

    private mutating func makeEvent(
        _ customerID: String, name: String, stage: StageDefinition, stageIndex: Int, journey: JourneyDefinition,
        unhappy: Bool, time: EventTime
    ) -> SimulatedEvent {
        let touchpoint = stage.touchpoints.map { rng.pick($0) } ?? rng.pick(Self.defaultTouchpoints)
        var sentiment: Double? = nil
        if rng.chance(0.4) {
            let base = unhappy ? -0.45 : 0.35
            let value = base + (rng.unit() - 0.5) * 0.9
            sentiment = (min(1, max(-1, value)) * 100).rounded() / 100
        }
        var revenue: Int64? = nil
        let paying =
            stage.name.contains("purchase")
            || (stageIndex == journey.stages.count - 1 && !journey.stages.contains { $0.name.contains("purchase") })
        if paying, stage.events.contains(where: { $0.text == name || (!$0.isLiteral && $0.matches(name)) }) {
            revenue = Int64(rng.int(in: 1000...30000))  // cents
        }
        return SimulatedEvent(
            customerID: customerID, name: name, time: time, touchpoint: touchpoint,
            sentiment: sentiment, revenueCents: revenue)
    }

    // MARK: Output

    /// The id of the event emitted last: `e<seed>-<n>`, or a UUID drawn from a generator of
    /// its own (so that the events are the same either way).
    private mutating func nextEventID() -> String {
        guard options.uuidEventIDs else { return "e\(options.seed)-\(emittedEvents)" }
        let high = (idGenerator.next() & ~0xF000) | 0x4000  // version 4
        let low = (idGenerator.next() & ~(0b11 << 62)) | (0b10 << 62)  // RFC 4122 variant
        func hex(_ value: UInt64, _ digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: digits - text.count) + text
        }
        return hex(high >> 32, 8) + "-" + hex((high >> 16) & 0xFFFF, 4) + "-" + hex(high & 0xFFFF, 4) + "-"
            + hex(low >> 48, 4) + "-" + hex(low & 0xFFFF_FFFF_FFFF, 12)
    }

    private mutating func enqueue(_ event: SimulatedEvent) {
        emittedEvents += 1
        let delay =
            options.disorder.microseconds > 0 ? Int64(rng.unit() * 0.9 * Double(options.disorder.microseconds)) : 0
        let arrival = event.time + TimeSpan(microseconds: delay)
        if options.malformed > 0, rng.chance(options.malformed) {
            push(MalformedLines.line(number: emittedEvents, event: event), at: arrival)
            return
        }
        let withID = !rng.chance(options.withoutEventID)
        let line = EventLineWriter.line(for: event, eventID: withID ? nextEventID() : nil)
        push(line, at: arrival)
        if options.duplicates > 0, rng.chance(options.duplicates) {
            let resend =
                options.disorder.microseconds > 0
                ? Int64(rng.unit() * 0.9 * Double(options.disorder.microseconds)) : Int64(rng.int(in: 0...1000))
            push(line, at: arrival + TimeSpan(microseconds: resend))
        }
    }

    private mutating func push(_ line: [UInt8], at arrival: EventTime) {
        sequence += 1
        inFlight.push(QueuedLine(arrival: arrival, sequence: sequence, line: line))
    }
}

/// One simulated event before it is written as a line.
struct SimulatedEvent {
    var customerID: String
    var name: String
    var time: EventTime
    var touchpoint: String
    var sentiment: Double?
    var revenueCents: Int64?
    /// Named in `traits.persona` when set.
    var persona: String? = nil
}

struct QueuedLine {
    var arrival: EventTime
    var sequence: UInt64
    var line: [UInt8]
}
