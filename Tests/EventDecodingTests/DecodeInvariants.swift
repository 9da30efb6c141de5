import EventDecoding
import JourneyCore

/// What must hold for every line the decoder is given, whatever its bytes (issue 7).
///
/// Shared by the libFuzzer target (`fuzz/Sources/DecoderFuzzer` links this file through a
/// symlink) and by ``FuzzCorpusTests``, which replays the committed corpus in the normal suite.
/// It returns violations instead of asserting, so the fuzzer can stop at the first and the
/// test can list them all. Only public API is used, and the oracle is written from docs/events.md:
/// a small independent JSON parser (``DecodeInvariants/Reference``) says what the line is,
/// and an independent writer re-encodes accepted events.
enum DecodeInvariants {
    /// The clock for every check, fixed so a saved input reproduces: 2026-05-01T12:00:00Z.
    static let now = EventTime(seconds: 1_777_636_800)
    /// The defaults of docs/events.md (`max_line_bytes` 65536, `max_future_skew` 5m).
    static let settings = IngestSettings()
    static let decoder = EventDecoder(settings: settings)

    /// Longest rejection detail: details quote at most 64 bytes of a value, so anything much
    /// longer means a value leaked into the dead-letter table's `detail` column whole.
    static let maxDetailBytes = 512
    /// Field limits of docs/events.md, in UTF-8 bytes.
    static let maxCustomerIDBytes = 256
    static let maxNameBytes = 128

    /// Every wire name a field-level rejection may start with (the names and aliases of docs/events.md).
    static let wireNames: Set<String> = [
        "customer_id", "user_id", "userId", "anonymous_id", "anonymousId", "event", "ts", "timestamp",
        "event_id", "messageId", "message_id", "touchpoint", "channel", "context.channel", "journey",
        "sentiment", "properties.sentiment", "revenue", "properties.revenue", "properties.amount", "properties",
    ]

    /// The violations of one line; empty when the decoder behaved.
    static func violations(of line: [UInt8]) -> [String] {
        var found: [String] = []
        let result = decoder.decode(line, now: now)

        checkDeterminism(line, result, into: &found)
        checkAckRequest(line, into: &found)
        checkOutcomeClass(line, result, into: &found)
        switch result {
        case .blank:
            break
        case .rejected(let rejection):
            checkRejection(rejection, into: &found)
        case .event(let event):
            checkLimits(event, into: &found)
            checkRoundTrip(event, escapeNonASCII: line.count % 2 == 1, into: &found)
        }
        return found
    }

    // MARK: Same bytes, same answer

    /// The same bytes give the same result twice, through every entry point, and wherever they
    /// sit in memory: bytes after the end of the line must not change anything.
    private static func checkDeterminism(_ line: [UInt8], _ result: DecodeResult, into found: inout [String]) {
        let again = decoder.decode(line, now: now)
        if again != result { found.append("decoding twice differs: \(result) then \(again)") }

        // The line followed by bytes that would complete or change it if read past the end.
        let padded = line + Array(#""}]0 e-"#.utf8)
        let fromPrefix = padded.withUnsafeBytes {
            decoder.decode(UnsafeRawBufferPointer(rebasing: $0[0..<line.count]), now: now)
        }
        if fromPrefix != result {
            found.append("decoding the line inside a longer buffer differs: \(fromPrefix) vs \(result)")
        }

        if let text = validUTF8(line) {
            let fromString = decoder.decode(text, now: now)
            if fromString != result {
                found.append("decode(String) differs from decode(bytes): \(fromString) vs \(result)")
            }
        }
    }

    /// `isAckRequest` is true exactly for a JSON object whose one member is `ack: true` (docs/events.md).
    private static func checkAckRequest(_ line: [UInt8], into found: inout [String]) {
        let answer = EventDecoder.isAckRequest(line)
        var expected = false
        if case .value(.object(let members), _) = Reference.parse(line), members.count == 1,
            members[0].key == Array("ack".utf8), case .bool(true) = members[0].value
        {
            expected = true
        }
        if answer != expected {
            found.append("isAckRequest is \(answer), but the line \(expected ? "is" : "is not") {\"ack\": true}")
        }
        if let text = validUTF8(line), EventDecoder.isAckRequest(text) != answer {
            found.append("isAckRequest(String) differs from isAckRequest(bytes)")
        }
    }

    // MARK: Which outcome

    /// The checks run in the documented order (docs/events.md), so the kind of line fixes the kind of outcome.
    private static func checkOutcomeClass(_ line: [UInt8], _ result: DecodeResult, into found: inout [String]) {
        let reason = result.rejectionReason
        if line.isEmpty {
            if result != .blank { found.append("an empty line gave \(result), expected blank") }
            return
        }
        if line.count > settings.maxLineBytes {
            if reason != .lineTooLong {
                found.append("a \(line.count)-byte line gave \(result), expected line_too_long")
            }
            return
        }
        if reason == .lineTooLong { found.append("a \(line.count)-byte line was rejected as line_too_long") }
        guard validUTF8(line) != nil else {
            if reason != .invalidUTF8 { found.append("invalid UTF-8 gave \(result), expected invalid_utf8") }
            return
        }
        if reason == .invalidUTF8 { found.append("valid UTF-8 was rejected as invalid_utf8: \(result)") }
        switch Reference.parse(line) {
        case .blank:
            if result != .blank { found.append("a whitespace-only line gave \(result), expected blank") }
        case .invalid(let why):
            if reason != .invalidJSON { found.append("not JSON (\(why)) gave \(result), expected invalid_json") }
        case .value(let value, _):
            guard case .object(let members) = value else {
                if reason != .notAnObject { found.append("a JSON non-object gave \(result), expected not_an_object") }
                return
            }
            checkObject(Reference.Fields(members), result, into: &found)
        }
    }

    /// A JSON object either becomes an event whose fields are the ones written, or is rejected
    /// for a field.
    private static func checkObject(_ fields: Reference.Fields, _ result: DecodeResult, into found: inout [String]) {
        if let reason = result.rejectionReason, ![.missingField, .invalidField, .tsOutOfRange].contains(reason) {
            found.append("a JSON object was rejected as \(reason.rawValue), which is for lines that are not objects")
        }
        // customer_id is the first field checked: without it, that is the reason.
        if fields.firstPresent(Reference.customerIDAliases) == nil {
            if case .rejected(let rejection) = result, rejection.reason == .missingField,
                rejection.detail.hasPrefix("customer_id:")
            {
            } else {
                found.append("no customer_id under any alias, but the result is \(result)")
            }
        }
        guard case .event(let event) = result else { return }

        func expectString(_ aliases: [[String]], _ actual: String?, _ name: String) {
            let written = fields.firstPresent(aliases)
            guard case .string(let bytes)? = written?.value else {
                if written != nil || (actual != nil && name != "touchpoint") {
                    found.append("\(name): accepted as \(actual.debugDescription) from \(written.debugDescription)")
                }
                return
            }
            if actual.map({ Array($0.utf8) }) != bytes {
                found.append(
                    "\(name): decoded \(actual.debugDescription), but the line has \(String(decoding: bytes, as: UTF8.self).debugDescription)"
                )
            }
        }
        expectString(Reference.customerIDAliases, event.customerID, "customer_id")
        expectString([["event"]], event.name, "event")
        expectString([["journey"]], event.journey, "journey")
        expectString(Reference.touchpointAliases, event.touchpoint, "touchpoint")
        if fields.firstPresent(Reference.touchpointAliases) == nil, event.touchpoint != "unknown" {
            found.append(
                "touchpoint: none written, but decoded \(event.touchpoint.debugDescription) instead of unknown")
        }
        if fields.firstPresent(Reference.eventIDAliases) != nil {
            expectString(Reference.eventIDAliases, event.eventID, "event_id")
        } else {
            let derived = DerivedEventID.make(
                customerID: event.customerID, event: event.name, time: event.time, touchpoint: event.touchpoint)
            if event.eventID != derived {
                found.append("event_id: none written, but \(event.eventID) is not the derived id \(derived)")
            }
        }

        let sentiment = fields.firstPresent(Reference.sentimentAliases)
        if case .number(let text)? = sentiment?.value {
            if event.sentiment != Double(text) {
                found.append("sentiment: decoded \(event.sentiment.debugDescription) from \(text)")
            }
        } else if sentiment != nil || event.sentiment != nil {
            found.append("sentiment: decoded \(event.sentiment.debugDescription) from \(sentiment.debugDescription)")
        }
        let revenue = fields.firstPresent(Reference.revenueAliases)
        if case .number(let text)? = revenue?.value {
            if event.revenue != DecimalText(json: text) {
                found.append("revenue: decoded \(event.revenue.debugDescription) from \(text)")
            }
        } else if revenue != nil || event.revenue != nil {
            found.append("revenue: decoded \(event.revenue.debugDescription) from \(revenue.debugDescription)")
        }
        let properties = fields.firstPresent([["properties"]])
        if case .object? = properties?.value {
            if event.propertiesJSON != properties?.text {
                found.append(
                    "properties: kept \(event.propertiesJSON.debugDescription), the line has \(properties?.text ?? "")")
            }
        } else if properties != nil || event.propertiesJSON != nil {
            found.append(
                "properties: kept \(event.propertiesJSON.debugDescription) from \(properties.debugDescription)")
        }
    }

    // MARK: Rejections and events

    /// A rejection names its field (or `line`) and says what is wrong, in a short text that
    /// PostgreSQL can store.
    private static func checkRejection(_ rejection: Rejection, into found: inout [String]) {
        let detail = rejection.detail
        guard !detail.isEmpty else {
            found.append("\(rejection.reason.rawValue) with an empty detail")
            return
        }
        let subject = detail.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
        switch rejection.reason {
        case .invalidUTF8, .invalidJSON, .notAnObject, .lineTooLong:
            if subject != "line" {
                found.append("\(rejection.reason.rawValue) detail does not start with line: \(detail)")
            }
        case .missingField, .invalidField, .tsOutOfRange:
            if !wireNames.contains(subject) {
                found.append("\(rejection.reason.rawValue) detail does not name a field: \(detail)")
            }
        case .behindRetention:
            found.append("the decoder gave behind_retention, which only the store gives")
        }
        if detail.utf8.count > maxDetailBytes {
            found.append("detail of \(detail.utf8.count) bytes (at most \(maxDetailBytes))")
        }
        if detail.unicodeScalars.contains("\0") {
            found.append("detail contains NUL, which a text column cannot store")
        }
        if rejection.description != "\(rejection.reason.rawValue): \(detail)" {
            found.append("description is not reason: detail")
        }
    }

    /// Every accepted event obeys the types and sizes of docs/events.md, and can be stored in PostgreSQL.
    private static func checkLimits(_ event: TouchpointEvent, into found: inout [String]) {
        func checkText(_ name: String, _ value: String?, max: Int) {
            guard let value else { return }
            let size = value.utf8.count
            if size < 1 || size > max { found.append("\(name) of \(size) bytes accepted (1–\(max))") }
            if value.unicodeScalars.contains("\0") { found.append("\(name) contains NUL") }
        }
        checkText("customer_id", event.customerID, max: maxCustomerIDBytes)
        checkText("event", event.name, max: maxNameBytes)
        checkText("event_id", event.eventID, max: maxNameBytes)
        checkText("touchpoint", event.touchpoint, max: maxNameBytes)
        checkText("journey", event.journey, max: maxNameBytes)
        if event.time < EventTime.earliestAccepted || event.time > now + settings.maxFutureSkew {
            found.append("ts \(event.time) accepted outside [2000-01-01, now + max_future_skew]")
        }
        if let sentiment = event.sentiment, !(sentiment >= -1 && sentiment <= 1) {
            found.append("sentiment \(sentiment) accepted outside [-1, 1]")
        }
        for (name, object) in [("context", event.contextJSON), ("traits", event.traitsJSON)] {
            guard let object else { continue }
            if !object.hasPrefix("{") || !object.hasSuffix("}") || object.contains("\\u0000") {
                found.append("\(name) kept though jsonb cannot hold it as an object: \(object)")
            }
        }
        if let properties = event.propertiesJSON {
            if !properties.hasPrefix("{") || !properties.hasSuffix("}") {
                found.append("properties kept as a non-object: \(properties)")
            }
            if properties.contains("\\u0000") {
                found.append("properties with \\u0000 accepted; jsonb cannot store it")
            }
        }
    }

    /// An accepted event written back as a plain line decodes to the same event.
    private static func checkRoundTrip(_ event: TouchpointEvent, escapeNonASCII: Bool, into found: inout [String]) {
        let line = Writer.line(for: event, escapeNonASCII: escapeNonASCII)
        let again = decoder.decode(Array(line.utf8), now: now)
        if again != .event(event) { found.append("re-encoded as \(line) it decodes to \(again), not \(event)") }
    }

    static func validUTF8(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        return text.utf8.elementsEqual(bytes) ? text : nil
    }
}

extension DecodeResult {
    /// The rejection reason, or nil for an event or a blank line.
    fileprivate var rejectionReason: RejectionReason? {
        if case .rejected(let rejection) = self { return rejection.reason }
        return nil
    }
}

// MARK: - Reference parser

extension DecodeInvariants {
    /// A plain recursive-descent JSON parser (RFC 8259), written for these checks only. Like the
    /// decoder it refuses containers nested deeper than 64 levels and lone UTF-16 surrogate
    /// escapes; it expects valid UTF-8.
    enum Reference {
        static let maxDepth = 64

        static let customerIDAliases = [["customer_id"], ["user_id"], ["userId"], ["anonymous_id"], ["anonymousId"]]
        static let eventIDAliases = [["event_id"], ["messageId"], ["message_id"]]
        static let touchpointAliases = [["touchpoint"], ["channel"], ["context", "channel"]]
        static let sentimentAliases = [["sentiment"], ["properties", "sentiment"]]
        static let revenueAliases = [["revenue"], ["properties", "revenue"], ["properties", "amount"]]

        indirect enum Value: CustomDebugStringConvertible {
            case string([UInt8])
            case number(String)
            case object([Member])
            case array
            case bool(Bool)
            case null

            var debugDescription: String {
                switch self {
                case .string(let bytes): "string \(String(decoding: bytes, as: UTF8.self).debugDescription)"
                case .number(let text): "number \(text)"
                case .object: "an object"
                case .array: "an array"
                case .bool(let value): "\(value)"
                case .null: "null"
                }
            }
        }

        struct Member {
            var key: [UInt8]
            var value: Value
            /// The value as written.
            var text: String
        }

        enum Outcome {
            case blank
            case invalid(String)
            case value(Value, text: String)
        }

        struct Failure: Error {
            var why: String
        }

        /// Top-level members, the last of each name winning (as in `jsonb`).
        struct Fields {
            let members: [Member]
            init(_ members: [Member]) { self.members = members }

            /// The first alias path with a non-null value; a path looks inside the last member
            /// of its first name only when that member is an object.
            func firstPresent(_ aliases: [[String]]) -> Member? {
                for path in aliases {
                    if let member = Self.lookup(path[...], in: members), !member.isNull { return member }
                }
                return nil
            }

            private static func lookup(_ path: ArraySlice<String>, in members: [Member]) -> Member? {
                guard let name = path.first else { return nil }
                guard let member = members.last(where: { $0.key == Array(name.utf8) }) else { return nil }
                if path.count == 1 { return member }
                guard case .object(let inner) = member.value else { return nil }
                return lookup(path.dropFirst(), in: inner)
            }
        }

        static func parse(_ bytes: [UInt8]) -> Outcome {
            var parser = Parser(bytes: bytes)
            parser.skipWhitespace()
            if parser.index == bytes.count { return .blank }
            do {
                let start = parser.index
                let value = try parser.value(depth: 1)
                let text = String(decoding: bytes[start..<parser.index], as: UTF8.self)
                parser.skipWhitespace()
                guard parser.index == bytes.count else {
                    throw Failure(why: "text after the value at byte \(parser.index)")
                }
                return .value(value, text: text)
            } catch {
                return .invalid((error as? Failure)?.why ?? "\(error)")
            }
        }

        struct Parser {
            let bytes: [UInt8]
            var index = 0

            var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

            mutating func skipWhitespace() {
                while let b = peek, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { index += 1 }
            }

            func fail(_ why: String) -> Failure { Failure(why: "\(why) at byte \(index)") }

            mutating func expect(_ literal: String) throws(Failure) {
                for b in literal.utf8 {
                    guard peek == b else { throw fail("expected \(literal)") }
                    index += 1
                }
            }

            mutating func value(depth: Int) throws(Failure) -> Value {
                switch peek {
                case UInt8(ascii: "{"):
                    guard depth <= maxDepth else { throw fail("too deep") }
                    index += 1
                    skipWhitespace()
                    var members: [Member] = []
                    if peek == UInt8(ascii: "}") {
                        index += 1
                        return .object(members)
                    }
                    while true {
                        guard peek == UInt8(ascii: "\"") else { throw fail("expected a name") }
                        let key = try string()
                        skipWhitespace()
                        try expect(":")
                        skipWhitespace()
                        let start = index
                        let member = try value(depth: depth + 1)
                        members.append(
                            Member(key: key, value: member, text: String(decoding: bytes[start..<index], as: UTF8.self))
                        )
                        skipWhitespace()
                        if peek == UInt8(ascii: "}") {
                            index += 1
                            return .object(members)
                        }
                        try expect(",")
                        skipWhitespace()
                    }
                case UInt8(ascii: "["):
                    guard depth <= maxDepth else { throw fail("too deep") }
                    index += 1
                    skipWhitespace()
                    if peek == UInt8(ascii: "]") {
                        index += 1
                        return .array
                    }
                    while true {
                        _ = try value(depth: depth + 1)
                        skipWhitespace()
                        if peek == UInt8(ascii: "]") {
                            index += 1
                            return .array
                        }
                        try expect(",")
                        skipWhitespace()
                    }
                case UInt8(ascii: "\""):
                    return .string(try string())
                case UInt8(ascii: "t"):
                    try expect("true")
                    return .bool(true)
                case UInt8(ascii: "f"):
                    try expect("false")
                    return .bool(false)
                case UInt8(ascii: "n"):
                    try expect("null")
                    return .null
                default:
                    return .number(try number())
                }
            }

            mutating func digits() -> Int {
                let start = index
                while let b = peek, b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") { index += 1 }
                return index - start
            }

            mutating func number() throws(Failure) -> String {
                let start = index
                if peek == UInt8(ascii: "-") { index += 1 }
                if peek == UInt8(ascii: "0") {
                    index += 1
                } else {
                    guard let b = peek, b >= UInt8(ascii: "1"), b <= UInt8(ascii: "9") else {
                        throw fail("expected a value")
                    }
                    _ = digits()
                }
                if peek == UInt8(ascii: ".") {
                    index += 1
                    guard digits() > 0 else { throw fail("expected a fraction digit") }
                }
                if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                    index += 1
                    if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
                    guard digits() > 0 else { throw fail("expected an exponent digit") }
                }
                return String(decoding: bytes[start..<index], as: UTF8.self)
            }

            mutating func hex4() throws(Failure) -> UInt32 {
                guard index + 4 <= bytes.count else { throw fail("short \\u escape") }
                var value: UInt32 = 0
                for b in bytes[index..<(index + 4)] {
                    guard let digit = Int(String(UnicodeScalar(b)), radix: 16) else { throw fail("bad \\u escape") }
                    value = value * 16 + UInt32(digit)
                }
                index += 4
                return value
            }

            /// A string at its opening quote, as its decoded UTF-8 bytes.
            mutating func string() throws(Failure) -> [UInt8] {
                index += 1
                var out: [UInt8] = []
                while true {
                    guard let b = peek else { throw fail("unterminated string") }
                    index += 1
                    switch b {
                    case UInt8(ascii: "\""):
                        return out
                    case 0x00..<0x20:
                        throw fail("raw control character")
                    case UInt8(ascii: "\\"):
                        guard let code = peek else { throw fail("unterminated escape") }
                        index += 1
                        switch code {
                        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(code)
                        case UInt8(ascii: "b"): out.append(0x08)
                        case UInt8(ascii: "f"): out.append(0x0C)
                        case UInt8(ascii: "n"): out.append(0x0A)
                        case UInt8(ascii: "r"): out.append(0x0D)
                        case UInt8(ascii: "t"): out.append(0x09)
                        case UInt8(ascii: "u"):
                            var scalar = try hex4()
                            if (0xDC00...0xDFFF).contains(scalar) { throw fail("lone low surrogate") }
                            if (0xD800...0xDBFF).contains(scalar) {
                                try expect("\\u")
                                let low = try hex4()
                                guard (0xDC00...0xDFFF).contains(low) else { throw fail("lone high surrogate") }
                                scalar = 0x10000 + (scalar - 0xD800) * 0x400 + (low - 0xDC00)
                            }
                            guard let unicode = Unicode.Scalar(scalar) else { throw fail("not a scalar") }
                            out.append(contentsOf: Array(String(Character(unicode)).utf8))
                        default:
                            throw fail("bad escape")
                        }
                    default:
                        out.append(b)
                    }
                }
            }
        }
    }
}

extension DecodeInvariants.Reference.Member: CustomDebugStringConvertible {
    var isNull: Bool {
        if case .null = value { return true }
        return false
    }

    var debugDescription: String { "\(String(decoding: key, as: UTF8.self)): \(value.debugDescription)" }
}

// MARK: - Writer

extension DecodeInvariants {
    /// Writes an event as a canonical line, independently of the decoder.
    enum Writer {
        static func line(for event: TouchpointEvent, escapeNonASCII: Bool) -> String {
            func text(_ value: String) -> String { quoted(value, escapeNonASCII: escapeNonASCII) }
            var members = [
                "\"customer_id\":\(text(event.customerID))",
                "\"event\":\(text(event.name))",
                "\"ts\":\"\(RFC3339.format(event.time))\"",
                "\"event_id\":\(text(event.eventID))",
                "\"touchpoint\":\(text(event.touchpoint))",
            ]
            if let journey = event.journey { members.append("\"journey\":\(text(journey))") }
            if let sentiment = event.sentiment { members.append("\"sentiment\":\(sentiment)") }
            if let revenue = event.revenue { members.append("\"revenue\":\(revenue)") }
            if let properties = event.propertiesJSON { members.append("\"properties\":\(properties)") }
            if let context = event.contextJSON { members.append("\"context\":\(context)") }
            if let traits = event.traitsJSON { members.append("\"traits\":\(traits)") }
            return "{" + members.joined(separator: ",") + "}"
        }

        static func quoted(_ value: String, escapeNonASCII: Bool) -> String {
            var out = "\""
            for scalar in value.unicodeScalars {
                switch scalar.value {
                case 0x22: out += "\\\""
                case 0x5C: out += "\\\\"
                case 0..<0x20: out += unicodeEscape(scalar.value)
                case 0x80... where escapeNonASCII:
                    if scalar.value > 0xFFFF {
                        let v = scalar.value - 0x10000
                        out += unicodeEscape(0xD800 + (v >> 10)) + unicodeEscape(0xDC00 + (v & 0x3FF))
                    } else {
                        out += unicodeEscape(scalar.value)
                    }
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }

        private static func unicodeEscape(_ unit: UInt32) -> String {
            let hex = String(unit, radix: 16)
            return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        }
    }
}
