import JourneyCore

/// Turns one NDJSON line into a ``TouchpointEvent`` or a ``Rejection`` (docs/events.md).
///
/// The decoder is a value with no mutable state: share one across threads freely. It never
/// reads a clock; the caller passes `now` (the wall clock for live sources), which only bounds
/// how far in the future `ts` may be.
///
/// Checks run in this order, and the first failure is the reason:
/// 1. the line is longer than `max_line_bytes` → `line_too_long`;
/// 2. the whole line is valid UTF-8 → else `invalid_utf8`;
/// 3. the whole line is one RFC 8259 JSON value (strict grammar, nesting ≤ 64 levels, nothing
///    after it but whitespace) → else `invalid_json`; an empty or whitespace-only line is
///    ``DecodeResult/blank``;
/// 4. that value is an object → else `not_an_object`;
/// 5. fields in the order customer_id, event, ts, event_id, touchpoint, journey, sentiment,
///    revenue, properties → `missing_field` / `invalid_field`;
/// 6. `ts` within [2000-01-01, now + max_future_skew] → else `ts_out_of_range`.
///
/// See the module documentation for aliases, `null`, duplicate keys and what PostgreSQL
/// cannot store.
public struct EventDecoder: Sendable {
    /// The limits in force (`max_line_bytes`, `max_future_skew`).
    public let settings: IngestSettings

    /// Creates a decoder with the given ingest settings.
    public init(settings: IngestSettings = IngestSettings()) {
        self.settings = settings
    }

    /// Decodes one line (without its line ending).
    public func decode(_ line: UnsafeRawBufferPointer, now: EventTime) -> DecodeResult {
        var ignoredPersona = false
        return decode(line, now: now, ignoredPersona: &ignoredPersona)
    }

    /// Decodes one line (without its line ending); sets `ignoredPersona` when a persona path
    /// led to a value that is not a persona (the event is accepted without one).
    public func decode(_ line: UnsafeRawBufferPointer, now: EventTime, ignoredPersona: inout Bool) -> DecodeResult {
        guard let base = line.baseAddress, !line.isEmpty else { return .blank }
        guard line.count <= settings.maxLineBytes else {
            return .rejected(.lineTooLong(length: Int64(line.count), maxLineBytes: settings.maxLineBytes))
        }
        if let offset = UTF8Validation.firstInvalidOffset(base, count: line.count) {
            return .rejected(Rejection(reason: .invalidUTF8, detail: "line: invalid UTF-8 at byte \(offset)"))
        }
        var scanner = JSONScanner(base: base, count: line.count)
        var slots = FieldSlots()
        do {
            switch try scanner.scanEventDocument(into: &slots) {
            case .blank:
                return .blank
            case .notAnObject(let kind):
                return .rejected(
                    Rejection(reason: .notAnObject, detail: "line: expected a JSON object, got \(kind.phrase)"))
            case .object:
                break
            }
        } catch {
            return .rejected(Rejection(reason: .invalidJSON, detail: error.detail))
        }
        do {
            var event = try EventFieldResolver(scanner: scanner, slots: slots, settings: settings).event(now: now)
            if !settings.personaPaths.isEmpty {
                switch scanner.lookUpPersona(paths: settings.personaPaths, slots: slots) {
                case .absent: break
                case .persona(let persona): event.persona = persona
                case .ignored: ignoredPersona = true
                }
            }
            return .event(event)
        } catch {
            return .rejected(error)
        }
    }

    /// Decodes one line given as bytes; see ``decode(_:now:)-(UnsafeRawBufferPointer,_)``.
    public func decode<Bytes: Collection<UInt8>>(_ line: Bytes, now: EventTime) -> DecodeResult {
        if let result = line.withContiguousStorageIfAvailable({ decode(UnsafeRawBufferPointer($0), now: now) }) {
            return result
        }
        return Array(line).withUnsafeBytes { decode($0, now: now) }
    }

    /// Decodes one line given as text; see ``decode(_:now:)-(UnsafeRawBufferPointer,_)``.
    public func decode(_ line: String, now: EventTime) -> DecodeResult {
        var line = line
        return line.withUTF8 { decode(UnsafeRawBufferPointer($0), now: now) }
    }
}

/// What the outermost value of a line turned out to be.
enum DocumentShape {
    case blank
    case object
    case notAnObject(JSONToken.Kind)
}

extension JSONScanner {
    /// Scans a whole line, recording the event's fields in `slots`.
    mutating func scanEventDocument(into slots: inout FieldSlots) throws(JSONSyntaxError) -> DocumentShape {
        skipWhitespace()
        guard let first = current else { return .blank }
        if first == 0xEF, count - position >= 3, byte(at: position + 1) == 0xBB, byte(at: position + 2) == 0xBF {
            throw JSONSyntaxError(
                message: "a UTF-8 byte order mark cannot start a JSON line (send the line without it)", offset: position
            )
        }
        let shape: DocumentShape
        if first == UInt8(ascii: "{") {
            _ = try scanObject(depth: 1, memberValues: .handOver) {
                (scanner: inout JSONScanner, key: JSONToken) throws(JSONSyntaxError) in
                try scanner.scanTopLevelMember(named: key, into: &slots)
            }
            shape = .object
        } else {
            shape = .notAnObject(try scanValue(depth: 1).kind)
        }
        skipWhitespace()
        guard position == count else {
            throw JSONSyntaxError(
                message: "unexpected \(Self.describe(byte(at: position))) after the end of the JSON value",
                offset: position)
        }
        return shape
    }

    /// Scans one member value of the top-level object, keeping what the event needs.
    private mutating func scanTopLevelMember(named key: JSONToken, into slots: inout FieldSlots) throws(JSONSyntaxError)
    {
        let match = withStringBytes(key) { KeyMatcher.topLevel($0) }
        switch match {
        case nil:
            _ = try scanValue(depth: 2)
        case .context:
            // A later `context` replaces an earlier one entirely, so forget its channel first.
            slots[.contextChannel] = nil
            if current == UInt8(ascii: "{") {
                slots[.context] = try scanObject(depth: 2, memberValues: .handOver) {
                    (scanner: inout JSONScanner, key: JSONToken) throws(JSONSyntaxError) in
                    try scanner.scanNestedMember(named: key, matching: KeyMatcher.inContext, into: &slots)
                }
            } else {
                slots[.context] = try scanValue(depth: 2)
            }
        case .field(.properties):
            slots[.propertiesSentiment] = nil
            slots[.propertiesRevenue] = nil
            slots[.propertiesAmount] = nil
            if current == UInt8(ascii: "{") {
                slots[.properties] = try scanObject(depth: 2, memberValues: .handOver) {
                    (scanner: inout JSONScanner, key: JSONToken) throws(JSONSyntaxError) in
                    try scanner.scanNestedMember(named: key, matching: KeyMatcher.inProperties, into: &slots)
                }
            } else {
                slots[.properties] = try scanValue(depth: 2)
            }
        case .field(let field):
            slots[field] = try scanValue(depth: 2)
        }
    }

    private mutating func scanNestedMember(
        named key: JSONToken, matching match: (UnsafeRawBufferPointer) -> WireField?, into slots: inout FieldSlots
    ) throws(JSONSyntaxError) {
        let field = withStringBytes(key, match)
        let value = try scanValue(depth: 3)
        if let field { slots[field] = value }
    }
}
