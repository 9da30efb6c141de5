import EventDecoding
import JourneyCore
import Testing

/// A line whose `field` member has the raw JSON value `value`, other required members fixed.
func lineSetting(_ field: String, to value: String) -> String {
    var members = requiredMembers.filter { $0.0 != field }
    members.append((field, value))
    return object(members)
}

@Suite("Decoding: field types, sizes and storability")
struct FieldLimitTests {
    /// String fields and their byte limits (docs/events.md).
    static let stringFields: [(String, Int)] = [
        ("customer_id", 256), ("event", 128), ("event_id", 128), ("touchpoint", 128), ("journey", 128),
    ]

    @Test("string fields accept exactly their limit and reject one byte more", arguments: stringFields)
    func byteLimit(field: String, limit: Int) throws {
        let atLimit = String(repeating: "a", count: limit)
        let event = try #require(decode(lineSetting(field, to: jsonString(atLimit))).event)
        #expect([event.customerID, event.name, event.eventID, event.touchpoint, event.journey ?? ""].contains(atLimit))

        let rejection = try #require(decode(lineSetting(field, to: jsonString(atLimit + "a"))).rejection)
        #expect(rejection.reason == .invalidField)
        #expect(rejection.detail == "\(field): expected a string of 1–\(limit) bytes, got \(limit + 1) bytes")
    }

    @Test(
        "limits count UTF-8 bytes, not characters, also when a character straddles the limit", arguments: stringFields)
    func multiByteBoundary(field: String, limit: Int) throws {
        // é is 2 bytes: limit/2 of them fit exactly.
        let twoByte = String(repeating: "é", count: limit / 2)
        #expect(decode(lineSetting(field, to: jsonString(twoByte))).event != nil)
        // € is 3 bytes: the last one would end one or two bytes past the limit.
        let threeByte = String(repeating: "€", count: limit / 3 + 1)
        #expect(threeByte.utf8.count > limit)
        #expect(decode(lineSetting(field, to: jsonString(threeByte))).rejection?.reason == .invalidField)
        // 😀 is 4 bytes: filling up with ASCII to exactly the limit is fine.
        let mixed = String(repeating: "😀", count: limit / 4 - 1) + "abcd"
        #expect(mixed.utf8.count == limit)
        #expect(decode(lineSetting(field, to: jsonString(mixed))).event != nil)
        #expect(decode(lineSetting(field, to: jsonString(mixed + "x"))).rejection?.reason == .invalidField)
    }

    @Test("limits count decoded bytes: an escaped é is two bytes, not six", arguments: stringFields)
    func escapedLength(field: String, limit: Int) throws {
        let escaped = String(repeating: #"\u00e9"#, count: limit / 2)
        #expect(decode(lineSetting(field, to: "\"\(escaped)\"")).event != nil)
        let over = String(repeating: #"\u00e9"#, count: limit / 2 + 1)
        let rejection = try #require(decode(lineSetting(field, to: "\"\(over)\"")).rejection)
        #expect(rejection.detail.hasSuffix("got \(limit + 2) bytes"))
    }

    @Test("an empty string is invalid", arguments: stringFields)
    func emptyString(field: String, limit: Int) throws {
        let rejection = try #require(decode(lineSetting(field, to: #""""#)).rejection)
        #expect(rejection.reason == .invalidField)
        #expect(rejection.detail == "\(field): expected a string of 1–\(limit) bytes, got an empty string")
    }

    @Test(
        "a value of another type is invalid and the detail names it",
        arguments: [
            ("12", "a number"), ("true", "true"), ("false", "false"), (#"{"a":1}"#, "an object"), ("[]", "an array"),
        ])
    func wrongTypes(value: String, phrase: String) throws {
        for (field, limit) in Self.stringFields {
            let rejection = try #require(decode(lineSetting(field, to: value)).rejection)
            #expect(rejection.reason == .invalidField)
            #expect(rejection.detail == "\(field): expected a string of 1–\(limit) bytes, got \(phrase)")
        }
    }

    @Test("a string field containing \\u0000 is invalid: PostgreSQL text cannot hold NUL", arguments: stringFields)
    func nulInStringField(field: String, limit: Int) throws {
        let rejection = try #require(decode(lineSetting(field, to: #""a\u0000b""#)).rejection)
        #expect(rejection.reason == .invalidField)
        #expect(rejection.detail.hasPrefix("\(field): contains \\u0000"))
    }

    @Test("each required field missing is missing_field naming it", arguments: ["customer_id", "event", "ts"])
    func missingRequired(field: String) throws {
        let rejection = try #require(decode(object(requiredMembers.filter { $0.0 != field })).rejection)
        #expect(rejection.reason == .missingField)
        #expect(rejection.detail.hasPrefix("\(field): required but missing or null"))
        let nulled = try #require(decode(lineSetting(field, to: "null")).rejection)
        #expect(nulled.reason == .missingField)
    }

    @Test("an empty object lacks customer_id first")
    func emptyObject() {
        #expect(decode("{}").rejection?.detail.hasPrefix("customer_id:") == true)
    }

    @Test("fields are checked in the documented order; the first problem is the reason")
    func checkOrder() {
        let both = object([("event", "1"), ("ts", #""2026-05-01T10:00:00Z""#)])
        #expect(decode(both).rejection?.reason == .missingField)  // customer_id before event's type
        let badEvent = object([("customer_id", #""c""#), ("event", "1")])
        #expect(decode(badEvent).rejection?.detail.hasPrefix("event:") == true)  // event before the missing ts
        // Out-of-range time is judged after every field is known to be well-formed.
        let farPast = lineSetting("ts", to: #""1999-01-01T00:00:00Z""#)
        #expect(decode(farPast).rejection?.reason == .tsOutOfRange)
        let farPastBadSentiment = object(
            requiredMembers.filter { $0.0 != "ts" }
                + [("ts", #""1999-01-01T00:00:00Z""#), ("sentiment", "5")])
        #expect(decode(farPastBadSentiment).rejection?.reason == .invalidField)
    }

    // MARK: sentiment

    @Test(
        "sentiment in [-1, 1] is accepted, boundaries included",
        arguments: [
            ("-1", -1.0), ("1", 1.0), ("0", 0.0), ("-0.5", -0.5), ("0.1", 0.1), ("1e0", 1.0), ("-1.0e-0", -1.0),
            ("0.30000000000000004", 0.30000000000000004), ("1e-300", 1e-300),
            ("0.123456789012345678", 0.123456789012345678),
        ])
    func sentimentAccepted(text: String, value: Double) throws {
        #expect(try #require(decode(lineWith(#""sentiment":"# + text)).event).sentiment == value)
    }

    @Test(
        "sentiment outside [-1, 1] or not a number is invalid",
        arguments: [
            ("1.0000001", "1.0000001"), ("-1.5", "-1.5"), ("2", "2"), ("1e400", "1e400"), ("-1e400", "-1e400"),
            (#""0.5""#, "a string"), ("true", "true"), ("[0.5]", "an array"),
        ])
    func sentimentRejected(text: String, got: String) throws {
        let rejection = try #require(decode(lineWith(#""sentiment":"# + text)).rejection)
        #expect(rejection.reason == .invalidField)
        #expect(rejection.detail == "sentiment: expected a number in [-1, 1], got \(got)")
        let nested = try #require(decode(lineWith(#""properties":{"sentiment":"# + text + "}")).rejection)
        #expect(nested.detail.hasPrefix("properties.sentiment: "))
    }

    // MARK: revenue

    @Test(
        "revenue is exact to the micro",
        arguments: [
            ("12.5", 12_500_000), ("0.000001", 1), ("-3", -3_000_000), ("1E2", 100_000_000), ("0", 0), ("-0.0", 0),
            ("9200000000000", 9_200_000_000_000_000_000),
        ] as [(String, Int64)])
    func revenueAccepted(text: String, micros: Int64) throws {
        #expect(try #require(decode(lineWith(#""revenue":"# + text)).event).revenue == DecimalText(micros: micros))
    }

    @Test(
        "revenue beyond micros, too large, or not a number is invalid",
        arguments: [
            "0.0000001", "1e20", "9300000000000", #""12""#, "true", "{}",
        ])
    func revenueRejected(text: String) throws {
        let rejection = try #require(decode(lineWith(#""properties":{"amount":"# + text + "}")).rejection)
        #expect(rejection.reason == .invalidField)
        #expect(rejection.detail.hasPrefix("properties.amount: expected a number"))
    }

    // MARK: properties

    @Test(
        "properties must be an object when present",
        arguments: [("[]", "an array"), (#""x""#, "a string"), ("1", "a number")])
    func propertiesType(value: String, phrase: String) throws {
        let rejection = try #require(decode(lineWith(#""properties":"# + value)).rejection)
        #expect(rejection.reason == .invalidField)
        #expect(rejection.detail == "properties: expected an object, got \(phrase)")
    }

    @Test("properties: null means no properties")
    func propertiesNull() throws {
        #expect(try #require(decode(lineWith(#""properties":null"#)).event).propertiesJSON == nil)
    }

    @Test(
        "\\u0000 anywhere inside properties is invalid: jsonb cannot store it",
        arguments: [
            #"{"a":"x\u0000"}"#, #"{"a\u0000":1}"#, #"{"a":[{"b":["\u0000"]}]}"#,
        ])
    func nulInProperties(properties: String) throws {
        let rejection = try #require(decode(lineWith(#""properties":"# + properties)).rejection)
        #expect(rejection.reason == .invalidField)
        #expect(rejection.detail.hasPrefix("properties: contains \\u0000"))
    }

    @Test("\\u0000 in a member that is not stored is harmless")
    func nulElsewhere() throws {
        #expect(decode(lineWith(#""note":"\u0000","context":{"x":"\u0000"}"#)).event != nil)
        // and a \u0000 before properties does not taint it
        #expect(decode(lineWith(#""note":"\u0000","properties":{"a":1}"#)).event?.propertiesJSON == #"{"a":1}"#)
    }

    /// Verdicts of PostgreSQL 15 itself (`select '{"n":X}'::jsonb`), where recorded.
    @Test(
        "numbers in properties that PostgreSQL numeric cannot hold are invalid; the largest that fit are fine",
        arguments: [
            ("1e131071", true), ("-1E+131071", true), ("1e131072", false), ("0.5e131072", true), ("10e131071", false),
            ("0.0001e131075", true), ("1e-16383", true), ("1e-16384", false), ("0e99999", true), ("0e-16384", false),
            ("1e1001", true), ("1e5000", true), ("1e99999999999", false), ("0e99999999999", false),
            ("0." + String(repeating: "1", count: 16_383), true), ("0." + String(repeating: "1", count: 16_384), false),
            ("0." + String(repeating: "1", count: 15_384) + "e-1000", false),
            ("1." + String(repeating: "0", count: 16_384), false),
            (String(repeating: "9", count: 17_000), true),
        ])
    func unstorableNumbers(number: String, storable: Bool) throws {
        let result = decode(lineWith(#""properties":{"n":["# + number + "]}"))
        if storable {
            #expect(result.event != nil)
        } else {
            let rejection = try #require(result.rejection)
            #expect(rejection.reason == .invalidField)
            #expect(rejection.detail.hasPrefix("properties: contains a number PostgreSQL numeric cannot store"))
        }
    }

    @Test("numbers outside properties are not stored, so not checked")
    func unstorableElsewhere() {
        #expect(decode(lineWith(#""other":1e131072"#)).event != nil)
        #expect(decode(lineWith(#""context":{"n":1e-16384}"#)).event != nil)
    }
}
