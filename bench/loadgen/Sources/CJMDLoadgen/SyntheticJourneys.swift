/// Writes NDJSON lines of synthetic customers moving through one journey, stamped with the
/// wall clock: a pool of customers is served round robin, so each connection interleaves
/// the events of many customers while every customer's own events stay in order on it.
///
/// A customer enters at stage 0, advances to each next stage with probability 0.6, 0.5,
/// 0.5 … (a typical declining funnel), does some activity between stages, sometimes hits a
/// pain point with negative sentiment, and leaves the pool after its last event; a new
/// customer takes its place. With a `population`, customer ids repeat after that many
/// customers (a returning customer enters again), so the set of customers stays bounded.
///
/// Event ids are `PREFIX-eN`, N counting this generator's lines from 0: whoever knows how
/// many lines of a generator were acknowledged knows their ids.
struct SyntheticJourneys {
    private struct Step {
        var event: [UInt8]
        var touchpoint: [UInt8]
        /// Tenths, -10…10; nil: no sentiment.
        var sentimentTenths: Int?
        /// Cents; nil: no revenue.
        var revenueCents: Int?
    }

    private struct Customer {
        var id: [UInt8]
        var steps: [Step]
        var next = 0
    }

    private let vocabulary: JourneyVocabulary
    private let prefix: [UInt8]
    private let population: Int
    private var random: SplitMix64
    private var pool: [Customer] = []
    private var cursor = 0
    private var customersCreated = 0
    private var eventsWritten = 0
    private var clock = WallClockText()

    private static let progression = [0.6, 0.5, 0.5]
    private static let poolSize = 1000

    /// The smallest population that never reuses the id of a customer still walking: one
    /// lives at most one line per round of the pool for each of its steps (an entry, then an
    /// activity and an advance per further stage), and each round creates at most one
    /// customer per slot.
    static func minimumPopulation(stages: Int) -> Int {
        poolSize * (2 * stages - 1) + 1
    }

    /// - Parameters:
    ///   - prefix: makes customer and event ids unique to this run and connection.
    ///   - population: distinct customer ids, reused in turn; 0: never reused. At least
    ///     ``minimumPopulation(stages:)`` when not 0.
    init(vocabulary: JourneyVocabulary, prefix: String, seed: UInt64, population: Int = 0) {
        self.vocabulary = vocabulary
        self.prefix = Array(prefix.utf8)
        self.population = population
        self.random = SplitMix64(seed: seed)
        for _ in 0..<Self.poolSize { pool.append(newCustomer()) }
    }

    /// Appends one line (with its newline).
    mutating func appendLine(to buffer: inout [UInt8]) {
        let step = pool[cursor].steps[pool[cursor].next]
        buffer.appendText(#"{"event_id":""#)
        buffer.append(contentsOf: prefix)
        buffer.appendText("-e")
        buffer.appendDecimal(eventsWritten)
        buffer.appendText(#"","customer_id":""#)
        buffer.append(contentsOf: pool[cursor].id)
        buffer.appendText(#"","event":""#)
        buffer.append(contentsOf: step.event)
        buffer.appendText(#"","ts":""#)
        clock.appendNow(to: &buffer, microsecondDigit: 0)
        buffer.appendText(#"","touchpoint":""#)
        buffer.append(contentsOf: step.touchpoint)
        buffer.append(UInt8(ascii: "\""))
        if let tenths = step.sentimentTenths {
            buffer.appendText(#","sentiment":"#)
            if tenths < 0 { buffer.append(UInt8(ascii: "-")) }
            buffer.appendDecimal(abs(tenths) / 10)
            buffer.append(UInt8(ascii: "."))
            buffer.appendDecimal(abs(tenths) % 10)
        }
        if let cents = step.revenueCents {
            buffer.appendText(#","revenue":"#)
            buffer.appendDecimal(cents / 100)
            buffer.append(UInt8(ascii: "."))
            buffer.appendDecimal(cents % 100, width: 2)
        }
        buffer.appendText(#","properties":{"bench":true}}"#)
        buffer.append(UInt8(ascii: "\n"))
        eventsWritten += 1

        pool[cursor].next += 1
        if pool[cursor].next == pool[cursor].steps.count { pool[cursor] = newCustomer() }
        cursor = (cursor + 1) % pool.count
    }

    private mutating func newCustomer() -> Customer {
        var id = prefix
        id.appendText("-c")
        id.appendDecimal(population > 0 ? customersCreated % population : customersCreated)
        customersCreated += 1

        var steps: [Step] = []
        let entry = vocabulary.stageEvents[0]
        steps.append(Step(event: Array(entry[random.index(entry.count)].utf8),
                          touchpoint: Array((random.unit() < 0.5 ? "ads" : "email").utf8),
                          sentimentTenths: nil, revenueCents: nil))
        for stage in 1..<vocabulary.stageEvents.count {
            if random.unit() < 0.5 { steps.append(activityStep()) }
            let chance = Self.progression[min(stage - 1, Self.progression.count - 1)]
            guard random.unit() < chance else { break }
            let names = vocabulary.stageEvents[stage]
            let isPurchase = stage == 2
            steps.append(Step(event: Array(names[random.index(names.count)].utf8),
                              touchpoint: Array((random.unit() < 0.6 ? "web" : "mobile").utf8),
                              sentimentTenths: random.unit() < 0.3 ? random.index(21) - 10 : nil,
                              revenueCents: isPurchase ? 1000 + random.index(20_000) : nil))
        }
        return Customer(id: id, steps: steps)
    }

    private mutating func activityStep() -> Step {
        if random.unit() < 0.05 {
            return Step(event: Array(vocabulary.painEvent.utf8), touchpoint: Array("support".utf8),
                        sentimentTenths: -7, revenueCents: nil)
        }
        let names = vocabulary.activityEvents
        return Step(event: Array(names[random.index(names.count)].utf8),
                    touchpoint: Array((random.unit() < 0.6 ? "web" : "mobile").utf8),
                    sentimentTenths: nil, revenueCents: nil)
    }
}
