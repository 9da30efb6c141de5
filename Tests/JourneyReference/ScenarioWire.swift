import JourneyCore

/// How one event is spelled on the wire (docs/events.md): canonical field names, Segment-style aliases,
/// or a mix. The spelling is a pure function of the scenario seed and the event id, so the same
/// event (and every exact re-send of it) is always written the same way, whatever the arrival order.
struct WireStyle {
    enum TouchpointField { case touchpoint, channel, contextChannel }

    var customerKey: String
    var timeKey: String
    var idKey: String
    var touchpointField: TouchpointField
    /// Revenue and sentiment inside `properties` instead of at the top level.
    var usesPropertyAliases: Bool
    /// `revenue` or `amount` inside `properties`.
    var propertyRevenueKey: String
    /// Epoch milliseconds instead of RFC 3339, when the time is a whole millisecond.
    var prefersEpochMillis: Bool
    /// Non-ASCII characters (and `/`) written as `\u` escapes.
    var escapesNonASCII: Bool
    /// Revenue with a trailing zero (`12.50`) where that is possible.
    var padsRevenue: Bool
    var fieldRotation: Int

    init(seed: UInt64, eventID: String) {
        var random = SplitMix64(seed: seed ^ Self.fnv1a(eventID))
        let family = random.unit()
        if family < 0.3 {
            customerKey = random.element(of: ["userId", "anonymousId"])
            timeKey = "timestamp"
            idKey = "messageId"
            touchpointField = .contextChannel
            usesPropertyAliases = true
        } else if family < 0.5 {
            customerKey = random.element(of: ["customer_id", "user_id", "userId", "anonymous_id", "anonymousId"])
            timeKey = random.element(of: ["ts", "timestamp"])
            idKey = random.element(of: ["event_id", "messageId", "message_id"])
            touchpointField = random.element(of: [.touchpoint, .channel, .contextChannel])
            usesPropertyAliases = random.chance(0.5)
        } else {
            customerKey = "customer_id"
            timeKey = "ts"
            idKey = "event_id"
            touchpointField = .touchpoint
            usesPropertyAliases = false
        }
        propertyRevenueKey = random.chance(0.3) ? "amount" : "revenue"
        prefersEpochMillis = random.chance(0.4)
        escapesNonASCII = random.chance(0.3)
        padsRevenue = random.chance(0.3)
        fieldRotation = random.int(in: 0...7)
    }

    /// 64-bit FNV-1a: a stable hash (Swift's `Hasher` is seeded per process).
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// The `properties` object that carries revenue and sentiment for this style, or nil when the
    /// style keeps them at the top level or the event has neither.
    func aliasProperties(for event: TouchpointEvent) -> String? {
        guard usesPropertyAliases, event.revenue != nil || event.sentiment != nil else { return nil }
        var members: [String] = []
        if let revenue = event.revenue { members.append("\"\(propertyRevenueKey)\":\(revenueText(revenue))") }
        if let sentiment = event.sentiment { members.append("\"sentiment\":\(sentimentText(sentiment))") }
        members.append("\"library\":\"analytics.js\"")
        return "{" + members.joined(separator: ",") + "}"
    }

    func revenueText(_ revenue: DecimalText) -> String {
        let text = revenue.description
        guard padsRevenue, revenue.micros % 10_000 == 0 else { return text }
        if revenue.micros % 1_000_000 == 0 { return text + ".00" }
        if revenue.micros % 100_000 == 0 { return text + "0" }
        return text
    }

    func sentimentText(_ sentiment: Double) -> String { "\(sentiment)" }
}

extension Scenario {
    /// The events as NDJSON lines (each ending in `\n`) in the wire format of docs/events.md, with the
    /// spelling of each event fixed by the scenario seed and its id. Events whose id was derived
    /// from content carry no id field; an event with `touchpoint` `unknown` carries none either.
    public func ndjsonLines(for events: [TouchpointEvent]) -> [String] {
        events.map { ndjsonLine(for: $0) }
    }

    /// One event as one NDJSON line.
    public func ndjsonLine(for event: TouchpointEvent) -> String {
        let style = WireStyle(seed: seed, eventID: event.eventID)
        func string(_ text: String) -> String { JSONText.string(text, escapingNonASCII: style.escapesNonASCII) }
        var fields: [(String, String)] = []
        fields.append((style.customerKey, string(event.customerID)))
        fields.append(("event", string(event.name)))
        if style.prefersEpochMillis, event.time.microseconds % 1000 == 0 {
            fields.append((style.timeKey, String(event.time.microseconds / 1000)))
        } else {
            fields.append((style.timeKey, string(WireTime.rfc3339(event.time))))
        }
        if Scenario.hasWireID(event) { fields.append((style.idKey, string(event.eventID))) }
        if event.touchpoint != "unknown" {
            switch style.touchpointField {
            case .touchpoint: fields.append(("touchpoint", string(event.touchpoint)))
            case .channel: fields.append(("channel", string(event.touchpoint)))
            case .contextChannel: fields.append(("context", "{\"channel\":\(string(event.touchpoint))}"))
            }
        }
        if let journey = event.journey { fields.append(("journey", string(journey))) }
        let propertiesCarryNumbers =
            event.propertiesJSON != nil && event.propertiesJSON == style.aliasProperties(for: event)
        if !propertiesCarryNumbers {
            if let sentiment = event.sentiment { fields.append(("sentiment", style.sentimentText(sentiment))) }
            if let revenue = event.revenue { fields.append(("revenue", style.revenueText(revenue))) }
        }
        if let properties = event.propertiesJSON { fields.append(("properties", properties)) }
        if let traits = event.traitsJSON { fields.append(("traits", traits)) }
        let rotation = style.fieldRotation % fields.count
        let ordered = fields[rotation...] + fields[..<rotation]
        return "{" + ordered.map { "\(string($0.0)):\($0.1)" }.joined(separator: ",") + "}\n"
    }
}

/// JSON string literals, written by hand so the decoder is tested against an independent encoder.
public enum JSONText {
    /// `text` as a JSON string literal: quotes, backslashes and control characters escaped; with
    /// `escapingNonASCII`, also `/` and every non-ASCII scalar (as UTF-16 `\u` escapes).
    public static func string(_ text: String, escapingNonASCII: Bool = false) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "/" where escapingNonASCII: out += "\\/"
            default:
                if scalar.value < 0x20 || (escapingNonASCII && scalar.value > 0x7E) {
                    for unit in String(scalar).utf16 { out += "\\u" + hex4(unit) }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func hex4(_ value: UInt16) -> String {
        let digits = String(value, radix: 16, uppercase: value % 2 == 0)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }
}

/// RFC 3339 formatting in UTC with microseconds, written independently of JourneyCore's.
public enum WireTime {
    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    public static func rfc3339(_ time: EventTime) -> String {
        let perDay: Int64 = 86_400_000_000
        let micros = time.microseconds
        let days = micros >= 0 ? micros / perDay : (micros - perDay + 1) / perDay
        let ofDay = micros - days * perDay
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        let seconds = ofDay / 1_000_000
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2))"
            + ":\(pad(seconds % 60, 2)).\(pad(ofDay % 1_000_000, 6))Z"
    }

    /// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
    static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
