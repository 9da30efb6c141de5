/// One accepted touchpoint event, decoded and validated (docs/events.md).
///
/// Strings are kept as decoded; `properties` is the original JSON text of the object, which
/// PostgreSQL stores as `jsonb` without re-encoding it.
public struct TouchpointEvent: Sendable, Hashable {
    /// The event id: the client's `event_id`, or one derived from the event's identity.
    public var eventID: String
    /// The customer the event belongs to.
    public var customerID: String
    /// The event name (`event` on the wire), matched against stage patterns.
    public var name: String
    /// Event time.
    public var time: EventTime
    /// The touchpoint (channel); `unknown` when the event did not name one.
    public var touchpoint: String
    /// When set, the event is mapped only within this journey.
    public var journey: String?
    /// Sentiment in [-1, 1], if the event carried one.
    public var sentiment: Double?
    /// Revenue, if the event carried one, as the exact decimal text of the JSON number.
    public var revenue: DecimalText?
    /// The `properties` object as JSON text, if present.
    public var propertiesJSON: String?
    /// The `context` object as sent (SDK messages carry one), when jsonb can hold it.
    public var contextJSON: String?
    /// The top-level `traits` object as sent (Segment's identify calls), when jsonb can hold it.
    public var traitsJSON: String?
    /// The persona the event carried (``PersonaSettings``), already checked.
    public var persona: String?

    public init(
        eventID: String, customerID: String, name: String, time: EventTime, touchpoint: String = "unknown",
        journey: String? = nil, sentiment: Double? = nil, revenue: DecimalText? = nil, propertiesJSON: String? = nil,
        contextJSON: String? = nil, traitsJSON: String? = nil, persona: String? = nil
    ) {
        self.eventID = eventID
        self.customerID = customerID
        self.name = name
        self.time = time
        self.touchpoint = touchpoint
        self.journey = journey
        self.sentiment = sentiment
        self.revenue = revenue
        self.propertiesJSON = propertiesJSON
        self.contextJSON = contextJSON
        self.traitsJSON = traitsJSON
        self.persona = persona
    }
}

/// An exact decimal number, kept as fixed-point units of 10⁻⁶ so that sums are exact and
/// independent of the order of addition (a replay must give the same totals as live ingestion).
public struct DecimalText: Hashable, Sendable, CustomStringConvertible {
    /// The value in millionths.
    public var micros: Int64

    public init(micros: Int64) { self.micros = micros }

    /// Parses a JSON number (`-12`, `3.5`, `1e3`, `2.5E-2`). Returns nil when the value is
    /// outside about ±9.2e12 or has non-zero digits beyond 10⁻⁶.
    public init?(json text: some StringProtocol) {
        let bytes = Array(text.utf8)
        var index = 0
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var mantissa: Int64 = 0
        var fractionDigits = 0
        var sawDigit = false
        var inFraction = false
        var exponent = 0
        while index < bytes.count {
            let b = bytes[index]
            if b >= 0x30 && b <= 0x39 {
                sawDigit = true
                let (m1, o1) = mantissa.multipliedReportingOverflow(by: 10)
                let (m2, o2) = m1.addingReportingOverflow(Int64(b - 0x30))
                if o1 || o2 { return nil }
                mantissa = m2
                if inFraction { fractionDigits += 1 }
            } else if b == UInt8(ascii: "."), !inFraction {
                inFraction = true
            } else if b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                guard let e = Int(String(decoding: bytes[(index + 1)...], as: UTF8.self)), abs(e) < 64 else {
                    return nil
                }
                exponent = e
                break
            } else {
                return nil
            }
            index += 1
        }
        guard sawDigit else { return nil }
        if mantissa == 0 {
            self.micros = 0
            return
        }
        var shift = 6 - fractionDigits + exponent
        var value = mantissa
        while shift > 0 {
            let (v, o) = value.multipliedReportingOverflow(by: 10)
            if o { return nil }
            value = v
            shift -= 1
        }
        while shift < 0 {
            guard value % 10 == 0 else { return nil }
            value /= 10
            shift += 1
        }
        self.micros = negative ? -value : value
    }

    public static func + (lhs: DecimalText, rhs: DecimalText) -> DecimalText {
        DecimalText(micros: lhs.micros &+ rhs.micros)
    }

    /// Plain decimal text, e.g. `12.5`, `-0.000001`, `3`.
    public var description: String {
        let sign = micros < 0 ? "-" : ""
        let magnitude = micros.magnitude
        let whole = magnitude / 1_000_000
        var fraction = magnitude % 1_000_000
        if fraction == 0 { return "\(sign)\(whole)" }
        var digits = 6
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let f = String(fraction)
        return "\(sign)\(whole).\(String(repeating: "0", count: digits - f.count))\(f)"
    }
}
