import EventDecoding
import JourneyCore
import Testing

/// Random valid events, written as JSON by a writer that knows nothing of the decoder, must
/// decode back to exactly the fields they were made from.
@Suite("Round trip: random valid events (seeded)")
struct RoundTripPropertyTests {
    struct Sample {
        var customerID: String
        var name: String
        var time: EventTime
        var eventID: String?
        var touchpoint: String?
        var journey: String?
        var sentiment: Double?
        var revenue: DecimalText?
        var propertiesJSON: String?
    }

    /// Characters that exercise escapes and multi-byte UTF-8.
    static let alphabet: [Character] = Array("abcXYZ019_-. \"\\/\n\t\u{1}\u{1F}é€中😀🎉\u{7F}\u{FFFF}")

    static func randomText(maxBytes: Int, using rng: inout SeededGenerator) -> String {
        let target = Int.random(in: 1...maxBytes, using: &rng)
        var text = ""
        while true {
            let next = alphabet.randomElement(using: &rng) ?? "a"
            if text.utf8.count + String(next).utf8.count > target { break }
            text.append(next)
        }
        return text.isEmpty ? "a" : text
    }

    static func randomJSONValue(depth: Int, using rng: inout SeededGenerator) -> String {
        switch Int.random(in: 0..<(depth > 3 ? 4 : 6), using: &rng) {
        case 0: return jsonString(randomText(maxBytes: 12, using: &rng), escapeNonASCII: Bool.random(using: &rng))
        case 1: return String(Int.random(in: -1_000_000...1_000_000, using: &rng))
        case 2: return ["true", "false", "null", "1.5e-3", "-0"].randomElement(using: &rng) ?? "null"
        case 3: return "\(Double.random(in: -1e6...1e6, using: &rng))"
        case 4:
            let items = (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                randomJSONValue(depth: depth + 1, using: &rng)
            }
            return "[" + items.joined(separator: Bool.random(using: &rng) ? "," : " , ") + "]"
        default:
            let members = (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                jsonString(randomText(maxBytes: 8, using: &rng)) + ":" + randomJSONValue(depth: depth + 1, using: &rng)
            }
            return "{" + members.joined(separator: ",") + "}"
        }
    }

    static func randomSample(using rng: inout SeededGenerator) -> Sample {
        let earliest = EventTime.earliestAccepted.microseconds
        func maybe<T>(_ make: (inout SeededGenerator) -> T) -> T? {
            Bool.random(using: &rng) ? make(&rng) : nil
        }
        var properties: String? = nil
        if Bool.random(using: &rng) {
            let members = (0..<Int.random(in: 0...4, using: &rng)).map { i in
                "\"p\(i)\":" + randomJSONValue(depth: 1, using: &rng)
            }
            properties = "{" + members.joined(separator: ",") + "}"
        }
        return Sample(
            customerID: randomText(maxBytes: 256, using: &rng),
            name: randomText(maxBytes: 128, using: &rng),
            time: EventTime(microseconds: Int64.random(in: earliest...testNow.microseconds, using: &rng)),
            eventID: maybe { randomText(maxBytes: 128, using: &$0) },
            touchpoint: maybe { randomText(maxBytes: 128, using: &$0) },
            journey: maybe { randomText(maxBytes: 128, using: &$0) },
            sentiment: maybe { Double.random(in: -1...1, using: &$0) },
            revenue: maybe {
                DecimalText(
                    micros: Int64.random(in: -9_000_000_000_000_000_000...9_000_000_000_000_000_000, using: &$0))
            },
            propertiesJSON: properties
        )
    }

    /// Writes `time` as RFC 3339 with a random offset and as many fraction digits as needed,
    /// or as epoch milliseconds when it is a whole millisecond and the coin says so.
    static func writeTime(_ time: EventTime, using rng: inout SeededGenerator) -> String {
        if time.microseconds % 1000 == 0 && Bool.random(using: &rng) { return String(time.microseconds / 1000) }
        let offsetMinutes = Int64.random(in: -14 * 60...14 * 60, using: &rng)
        let local = time.microseconds + offsetMinutes * 60_000_000
        var days = local / 86_400_000_000
        var rest = local % 86_400_000_000
        if rest < 0 {
            rest += 86_400_000_000
            days -= 1
        }
        // Civil date from days since 1970 by counting, independent of the decoder's calendar.
        var year: Int64 = 1970
        func isLeap(_ y: Int64) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }
        while days >= (isLeap(year) ? 366 : 365) {
            days -= isLeap(year) ? 366 : 365
            year += 1
        }
        let monthDays: [Int64] = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        var month = 0
        while days >= monthDays[month] {
            days -= monthDays[month]
            month += 1
        }
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let micros = rest % 1_000_000
        var fraction = micros == 0 && Bool.random(using: &rng) ? "" : "." + pad(micros, 6)
        while fraction.count > 2 && fraction.hasSuffix("0") && Bool.random(using: &rng) { fraction.removeLast() }
        let sign = offsetMinutes < 0 ? "-" : "+"
        let offset =
            offsetMinutes == 0 && Bool.random(using: &rng)
            ? "Z" : "\(sign)\(pad(abs(offsetMinutes) / 60, 2)):\(pad(abs(offsetMinutes) % 60, 2))"
        let clock = "\(pad(rest / 3_600_000_000, 2)):\(pad(rest / 60_000_000 % 60, 2)):\(pad(rest / 1_000_000 % 60, 2))"
        return "\"\(pad(year, 4))-\(pad(Int64(month + 1), 2))-\(pad(days + 1, 2))T\(clock)\(fraction)\(offset)\""
    }

    /// The line, and the `properties` text it carries (sentiment and revenue may have been
    /// moved into properties under their nested aliases).
    static func write(_ sample: Sample, using rng: inout SeededGenerator) -> (line: String, properties: String?) {
        func text(_ value: String) -> String { jsonString(value, escapeNonASCII: Bool.random(using: &rng)) }
        func pick(_ names: [String]) -> String { names.randomElement(using: &rng) ?? names[0] }
        var members: [String] = []
        var nested: [String] = []  // properties members that carry sentiment or revenue
        members.append(
            "\"\(pick(["customer_id", "user_id", "userId", "anonymous_id", "anonymousId"]))\":\(text(sample.customerID))"
        )
        members.append("\"event\":\(text(sample.name))")
        members.append("\"\(pick(["ts", "timestamp"]))\":\(writeTime(sample.time, using: &rng))")
        if let id = sample.eventID {
            members.append("\"\(pick(["event_id", "messageId", "message_id"]))\":\(text(id))")
        }
        if let touchpoint = sample.touchpoint {
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: members.append("\"touchpoint\":\(text(touchpoint))")
            case 1: members.append("\"channel\":\(text(touchpoint))")
            default: members.append("\"context\":{\"library\":\"x\",\"channel\":\(text(touchpoint))}")
            }
        }
        if let journey = sample.journey { members.append("\"journey\":\(text(journey))") }
        if let sentiment = sample.sentiment {
            if Bool.random(using: &rng) {
                members.append("\"sentiment\":\(sentiment)")
            } else {
                nested.append("\"sentiment\":\(sentiment)")
            }
        }
        if let revenue = sample.revenue {
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: members.append("\"revenue\":\(revenue)")
            case 1: nested.append("\"revenue\":\(revenue)")
            default: nested.append("\"amount\":\(revenue)")
            }
        }
        var properties = sample.propertiesJSON
        if !nested.isEmpty {
            let body = properties.map { String($0.dropFirst().dropLast()) } ?? ""
            properties = "{" + ([body].filter { !$0.isEmpty } + nested).joined(separator: ",") + "}"
        }
        if let properties { members.append("\"properties\":\(properties)") }
        members.append("\"type\":\"track\"")
        members.shuffle(using: &rng)
        let separator = [",", " , ", ",\t", ",\r"].randomElement(using: &rng) ?? ","
        return ((Bool.random(using: &rng) ? " " : "") + "{" + members.joined(separator: separator) + "}", properties)
    }

    @Test("500 random events decode back to their fields")
    func roundTrip() throws {
        var rng = SeededGenerator(seed: 20_260_501)
        for round in 0..<500 {
            let sample = Self.randomSample(using: &rng)
            let (line, properties) = Self.write(sample, using: &rng)
            let event = try #require(decode(line).event, "round \(round): \(line) → \(decode(line))")
            #expect(event.customerID == sample.customerID, "round \(round)")
            #expect(event.name == sample.name, "round \(round)")
            #expect(event.time == sample.time, "round \(round): \(line)")
            #expect(event.touchpoint == (sample.touchpoint ?? "unknown"), "round \(round)")
            #expect(event.journey == sample.journey, "round \(round)")
            #expect(event.sentiment == sample.sentiment, "round \(round)")
            #expect(event.revenue == sample.revenue, "round \(round): \(line)")
            #expect(event.propertiesJSON == properties, "round \(round)")
            if let id = sample.eventID {
                #expect(event.eventID == id, "round \(round)")
            } else {
                #expect(
                    event.eventID
                        == DerivedEventID.make(
                            customerID: sample.customerID, event: sample.name, time: sample.time,
                            touchpoint: sample.touchpoint ?? "unknown"))
            }
        }
    }
}
