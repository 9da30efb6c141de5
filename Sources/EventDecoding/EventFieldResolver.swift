import JourneyCore

/// Turns the located fields of a syntactically valid object into a ``TouchpointEvent``,
/// enforcing the types and sizes of docs/events.md. Each failure names the key as it was written.
struct EventFieldResolver {
    let scanner: JSONScanner
    let slots: FieldSlots
    let settings: IngestSettings

    static let maxCustomerIDBytes = 256
    static let maxNameBytes = 128

    func event(now: EventTime) throws(Rejection) -> TouchpointEvent {
        let customerID = try requiredString(.customerID, maxBytes: Self.maxCustomerIDBytes)
        let name = try requiredString(.event, maxBytes: Self.maxNameBytes)
        let time = try timestamp()
        let clientID = try optionalString(.eventID, maxBytes: Self.maxNameBytes)
        let touchpoint = try optionalString(.touchpoint, maxBytes: Self.maxNameBytes) ?? "unknown"
        let journey = try optionalString(.journey, maxBytes: Self.maxNameBytes)
        let sentiment = try sentiment()
        let revenue = try revenue()
        let properties = try properties()
        try checkRange(time, now: now)
        let context = storableObject(.context)
        let traits = storableObject(.traits)
        return TouchpointEvent(
            eventID: clientID
                ?? DerivedEventID.make(customerID: customerID, event: name, time: time.value, touchpoint: touchpoint),
            customerID: customerID, name: name, time: time.value, touchpoint: touchpoint, journey: journey,
            sentiment: sentiment, revenue: revenue, propertiesJSON: properties, contextJSON: context, traitsJSON: traits
        )
    }

    // MARK: Strings

    private func requiredString(_ field: EventField, maxBytes: Int) throws(Rejection) -> String {
        guard let (wire, token) = slots.firstPresent(field) else { throw Self.missing(field) }
        return try string(wire, token, maxBytes: maxBytes)
    }

    private func optionalString(_ field: EventField, maxBytes: Int) throws(Rejection) -> String? {
        guard let (wire, token) = slots.firstPresent(field) else { return nil }
        return try string(wire, token, maxBytes: maxBytes)
    }

    /// A string field of 1...maxBytes UTF-8 bytes (after escapes are resolved), without NUL.
    private func string(_ field: WireField, _ token: JSONToken, maxBytes: Int) throws(Rejection) -> String {
        func invalid(_ got: String) -> Rejection {
            Rejection(
                reason: .invalidField, detail: "\(field.wireName): expected a string of 1–\(maxBytes) bytes, got \(got)"
            )
        }
        guard token.kind == .string else { throw invalid(token.kind.phrase) }
        if !token.hasEscapes {
            guard token.count >= 1 else { throw invalid("an empty string") }
            guard token.count <= maxBytes else { throw invalid("\(token.count) bytes") }
            return String(decoding: scanner.rawBytes(token), as: UTF8.self)
        }
        let bytes = scanner.unescapedBytes(token)
        guard !bytes.contains(0) else { throw Self.containsNUL(field) }
        guard bytes.count >= 1 else { throw invalid("an empty string") }
        guard bytes.count <= maxBytes else { throw invalid("\(bytes.count) bytes") }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func missing(_ field: EventField) -> Rejection {
        let aliases = field.aliases
        let name = aliases[0].wireName
        let looked = aliases.count > 1 ? " (looked for \(aliases.map(\.wireName).joined(separator: ", ")))" : ""
        return Rejection(reason: .missingField, detail: "\(name): required but missing or null\(looked)")
    }

    static func containsNUL(_ field: WireField) -> Rejection {
        Rejection(
            reason: .invalidField, detail: "\(field.wireName): contains \\u0000, which PostgreSQL cannot store in text")
    }

    // MARK: Time

    /// A parsed `ts` and where it came from, kept for the range check's detail.
    struct Timestamp {
        var value: EventTime
        var field: WireField
        var token: JSONToken
    }

    private func timestamp() throws(Rejection) -> Timestamp {
        guard let (field, token) = slots.firstPresent(.ts) else { throw Self.missing(.ts) }
        func invalid(_ got: String) -> Rejection {
            Rejection(
                reason: .invalidField,
                detail: "\(field.wireName): expected an RFC 3339 time with a UTC offset (e.g. 2026-05-01T10:00:00Z) "
                    + "or integer epoch milliseconds, got \(got)")
        }
        switch token.kind {
        case .string:
            if token.hasEscapes {
                let bytes = scanner.unescapedBytes(token)
                guard !bytes.contains(0) else { throw Self.containsNUL(field) }
                guard let time = RFC3339.parse(bytes) else { throw invalid(RejectionText.quoted(bytes)) }
                return Timestamp(value: time, field: field, token: token)
            }
            let raw = scanner.rawBytes(token)
            // Through a String on purpose: the generic `parse(_: some Collection<UInt8>)` is not
            // specialized across modules and costs more than making the String (measured).
            guard let time = RFC3339.parse(String(decoding: raw, as: UTF8.self)) else {
                throw invalid(RejectionText.quoted(raw))
            }
            return Timestamp(value: time, field: field, token: token)
        case .number:
            guard token.isInteger else {
                throw invalid("\(RejectionText.number(scanner.rawBytes(token))), which is not an integer")
            }
            return Timestamp(value: epochMilliseconds(token), field: field, token: token)
        default:
            throw invalid(token.kind.phrase)
        }
    }

    /// An integer token as a time; integers beyond what EventTime holds saturate, so that the
    /// range check rejects them rather than wrapping around into range.
    private func epochMilliseconds(_ token: JSONToken) -> EventTime {
        var index = token.start
        let negative = scanner.byte(at: index) == UInt8(ascii: "-")
        if negative { index += 1 }
        var millis: Int64 = 0
        var overflow = false
        while index < token.end, !overflow {
            let digit = Int64(scanner.byte(at: index) - UInt8(ascii: "0"))
            let (times10, o1) = millis.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(digit)
            overflow = o1 || o2
            millis = sum
            index += 1
        }
        let (micros, o3) = millis.multipliedReportingOverflow(by: 1000)
        if overflow || o3 { return negative ? .distantPast : .distantFuture }
        return EventTime(microseconds: negative ? -micros : micros)
    }

    private func checkRange(_ time: Timestamp, now: EventTime) throws(Rejection) {
        let latest = now + settings.maxFutureSkew
        if time.value < EventTime.earliestAccepted {
            throw Rejection(reason: .tsOutOfRange, detail: "\(describe(time)) is before 2000-01-01")
        }
        if time.value > latest {
            throw Rejection(
                reason: .tsOutOfRange,
                detail: "\(describe(time)) is more than \(settings.maxFutureSkew) ahead of the clock "
                    + "(now \(RejectionText.time(now)))")
        }
    }

    private func describe(_ time: Timestamp) -> String {
        guard time.token.kind == .number else { return "\(time.field.wireName): \(RejectionText.time(time.value))" }
        let text = RejectionText.number(scanner.rawBytes(time.token))
        if time.value == .distantPast || time.value == .distantFuture {
            return "\(time.field.wireName): \(text) epoch milliseconds"
        }
        return "\(time.field.wireName): \(text) epoch milliseconds (\(RejectionText.time(time.value)))"
    }

    // MARK: Numbers

    private func sentiment() throws(Rejection) -> Double? {
        guard let (field, token) = slots.firstPresent(.sentiment) else { return nil }
        func invalid(_ got: String) -> Rejection {
            Rejection(reason: .invalidField, detail: "\(field.wireName): expected a number in [-1, 1], got \(got)")
        }
        guard token.kind == .number else { throw invalid(token.kind.phrase) }
        guard let value = scanner.doubleValue(token), value >= -1, value <= 1 else {
            throw invalid(RejectionText.number(scanner.rawBytes(token)))
        }
        return value
    }

    private func revenue() throws(Rejection) -> DecimalText? {
        guard let (field, token) = slots.firstPresent(.revenue) else { return nil }
        func invalid(_ got: String) -> Rejection {
            Rejection(
                reason: .invalidField,
                detail:
                    "\(field.wireName): expected a number with at most 6 decimal places and at most about ±9.2e12, got \(got)"
            )
        }
        guard token.kind == .number else { throw invalid(token.kind.phrase) }
        let text = String(decoding: scanner.rawBytes(token), as: UTF8.self)
        guard let value = DecimalText(json: text) else { throw invalid(RejectionText.number(scanner.rawBytes(token))) }
        return value
    }

    // MARK: Properties

    private func properties() throws(Rejection) -> String? {
        guard let (field, token) = slots.firstPresent(.properties) else { return nil }
        guard token.kind == .object else {
            throw Rejection(
                reason: .invalidField, detail: "\(field.wireName): expected an object, got \(token.kind.phrase)")
        }
        if token.containsNUL {
            throw Rejection(
                reason: .invalidField,
                detail: "\(field.wireName): contains \\u0000, which PostgreSQL jsonb cannot store")
        }
        if token.containsUnstorableNumber {
            throw Rejection(
                reason: .invalidField,
                detail: "\(field.wireName): contains a number PostgreSQL numeric cannot store (more than "
                    + "\(PostgresNumericLimits.maxDigitsBeforePoint) digits before the decimal point or more than "
                    + "\(PostgresNumericLimits.maxDigitsAfterPoint) after it)")
        }
        return String(decoding: scanner.rawBytes(token), as: UTF8.self)
    }

    /// `context` or `traits` as sent, when it is an object that jsonb can hold; else nil.
    /// Never a reason to refuse the event: cjmd reads nothing from them but the channel,
    /// so one it cannot store is left out rather than losing the event.
    private func storableObject(_ field: EventField) -> String? {
        guard let (_, token) = slots.firstPresent(field), token.kind == .object, !token.containsNUL,
            !token.containsUnstorableNumber
        else { return nil }
        return String(decoding: scanner.rawBytes(token), as: UTF8.self)
    }
}
