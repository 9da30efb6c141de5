import EventDecoding
import JourneyCore
import Testing

/// A line from members given as (key, raw JSON value) pairs, in order.
func object(_ members: [(String, String)]) -> String {
    "{" + members.map { "\(jsonString($0.0)):\($0.1)" }.joined(separator: ",") + "}"
}

let requiredMembers: [(String, String)] = [
    ("customer_id", #""c1""#), ("event", #""e""#), ("ts", #""2026-05-01T10:00:00Z""#),
]

@Suite("Decoding: aliases, precedence, null and duplicate keys")
struct FieldAliasTests {
    static let customerAliases = ["customer_id", "user_id", "userId", "anonymous_id", "anonymousId"]

    @Test("each customer_id alias alone is accepted", arguments: customerAliases)
    func customerAlias(alias: String) throws {
        let line = object([(alias, #""who""#), ("event", #""e""#), ("ts", #""2026-05-01T10:00:00Z""#)])
        #expect(try #require(decode(line).event).customerID == "who")
    }

    @Test("customer_id aliases: the first in the documented order wins, whatever the order in the line")
    func customerPrecedence() throws {
        for present in 1...Self.customerAliases.count {
            // The `present` lowest-precedence aliases, written in reverse precedence order.
            let aliases = Array(Self.customerAliases.suffix(present))
            let members = aliases.reversed().map { ($0, jsonString("v-" + $0)) }
            let line = object(members + [("event", #""e""#), ("ts", #""2026-05-01T10:00:00Z""#)])
            #expect(try #require(decode(line).event).customerID == "v-" + aliases[0])
        }
    }

    @Test("null counts as absent: the next alias is used; all null is missing_field")
    func nullFallsThrough() throws {
        let line = object([
            ("customer_id", "null"), ("user_id", "null"), ("userId", #""u""#), ("event", #""e""#),
            ("ts", #""2026-05-01T10:00:00Z""#),
        ])
        #expect(try #require(decode(line).event).customerID == "u")
        let allNull = object(
            Self.customerAliases.map { ($0, "null") } + [("event", #""e""#), ("ts", #""2026-05-01T10:00:00Z""#)])
        let rejection = try #require(decode(allNull).rejection)
        #expect(rejection.reason == .missingField)
        #expect(rejection.detail.hasPrefix("customer_id: "))
        #expect(rejection.detail.contains("anonymousId"))
    }

    @Test("a present alias of the wrong type is invalid_field even if a lower alias is fine")
    func wrongTypeDoesNotFallThrough() throws {
        let line = object([
            ("userId", "42"), ("anonymous_id", #""ok""#), ("event", #""e""#), ("ts", #""2026-05-01T10:00:00Z""#),
        ])
        let rejection = try #require(decode(line).rejection)
        #expect(rejection.reason == .invalidField)
        #expect(rejection.detail == "userId: expected a string of 1–256 bytes, got a number")
    }

    @Test("ts before timestamp")
    func tsPrecedence() throws {
        let both = object([
            ("customer_id", #""c""#), ("event", #""e""#), ("timestamp", #""2026-05-01T09:00:00Z""#),
            ("ts", #""2026-05-01T10:00:00Z""#),
        ])
        #expect(try #require(decode(both).event).time == RFC3339.parse("2026-05-01T10:00:00Z"))
        let only = object([
            ("customer_id", #""c""#), ("event", #""e""#), ("ts", "null"), ("timestamp", #""2026-05-01T09:00:00Z""#),
        ])
        #expect(try #require(decode(only).event).time == RFC3339.parse("2026-05-01T09:00:00Z"))
    }

    @Test("event_id, then messageId, then message_id")
    func eventIDPrecedence() throws {
        let all = [("message_id", #""m3""#), ("messageId", #""m2""#), ("event_id", #""m1""#)]
        #expect(try #require(decode(object(requiredMembers + all)).event).eventID == "m1")
        #expect(try #require(decode(object(requiredMembers + all.prefix(2))).event).eventID == "m2")
        #expect(try #require(decode(object(requiredMembers + all.prefix(1))).event).eventID == "m3")
        #expect(
            try #require(decode(object(requiredMembers + [("event_id", "null"), ("message_id", #""m3""#)])).event)
                .eventID == "m3")
    }

    @Test("touchpoint, then channel, then context.channel, else unknown")
    func touchpointPrecedence() throws {
        func touchpoint(_ members: [(String, String)]) throws -> String {
            try #require(decode(object(requiredMembers + members)).event).touchpoint
        }
        let context = ("context", #"{"ip":"1.2.3.4","channel":"ctx"}"#)
        #expect(try touchpoint([context, ("channel", #""ch""#), ("touchpoint", #""tp""#)]) == "tp")
        #expect(try touchpoint([context, ("channel", #""ch""#)]) == "ch")
        #expect(try touchpoint([context]) == "ctx")
        #expect(try touchpoint([("touchpoint", "null"), ("channel", "null"), context]) == "ctx")
        #expect(try touchpoint([]) == "unknown")
        #expect(try touchpoint([("context", #"{"channel":null}"#)]) == "unknown")
        #expect(try touchpoint([("context", #""web""#)]) == "unknown", "a context that is not an object has no channel")
        #expect(try touchpoint([("context.channel", #""literal""#)]) == "unknown", "the alias is a path, not a key")
        #expect(
            try touchpoint([("context", #"{"page":{"channel":"deep"}}"#)]) == "unknown", "only direct members count")
    }

    @Test("sentiment, then properties.sentiment")
    func sentimentPrecedence() throws {
        #expect(
            try #require(decode(lineWith(#""properties":{"sentiment":-0.5},"sentiment":0.25"#)).event).sentiment == 0.25
        )
        #expect(try #require(decode(lineWith(#""properties":{"sentiment":-0.5}"#)).event).sentiment == -0.5)
        #expect(
            try #require(decode(lineWith(#""sentiment":null,"properties":{"sentiment":-0.5}"#)).event).sentiment == -0.5
        )
        #expect(try #require(decode(lineWith(#""properties":{"x":{"sentiment":1}}"#)).event).sentiment == nil)
    }

    @Test("revenue, then properties.revenue, then properties.amount")
    func revenuePrecedence() throws {
        func revenue(_ extra: String) throws -> Int64? {
            try #require(decode(lineWith(extra)).event).revenue?.micros
        }
        #expect(try revenue(#""properties":{"amount":3,"revenue":2},"revenue":1"#) == 1_000_000)
        #expect(try revenue(#""properties":{"amount":3,"revenue":2}"#) == 2_000_000)
        #expect(try revenue(#""properties":{"amount":3}"#) == 3_000_000)
        #expect(try revenue(#""properties":{"amount":3,"revenue":null}"#) == 3_000_000)
        #expect(try revenue(#""properties":{}"#) == nil)
    }

    @Test("journey is taken as is")
    func journey() throws {
        #expect(try #require(decode(lineWith(#""journey":"purchase""#)).event).journey == "purchase")
        #expect(try #require(decode(lineWith(#""journey":null"#)).event).journey == nil)
    }

    @Test("duplicate keys: the last one wins, as in PostgreSQL jsonb")
    func duplicateKeys() throws {
        let twice = #"{"customer_id":"first","event":"e","customer_id":"second","ts":"2026-05-01T10:00:00Z"}"#
        #expect(try #require(decode(twice).event).customerID == "second")
        let nulled =
            #"{"customer_id":"first","user_id":"u","customer_id":null,"event":"e","ts":"2026-05-01T10:00:00Z"}"#
        #expect(try #require(decode(nulled).event).customerID == "u")
        let revived = #"{"customer_id":null,"event":"e","customer_id":"back","ts":"2026-05-01T10:00:00Z"}"#
        #expect(try #require(decode(revived).event).customerID == "back")
    }

    @Test("a repeated properties object replaces the earlier one entirely")
    func duplicateProperties() throws {
        let event = try #require(
            decode(lineWith(#""properties":{"revenue":5,"sentiment":0.5},"properties":{"a":1}"#)).event)
        #expect(event.propertiesJSON == #"{"a":1}"#)
        #expect(event.revenue == nil, "the revenue of the replaced properties must not survive")
        #expect(event.sentiment == nil)
        let inner = try #require(decode(lineWith(#""properties":{"revenue":5,"revenue":7}"#)).event)
        #expect(inner.revenue?.micros == 7_000_000)
        let nulled = try #require(decode(lineWith(#""properties":{"revenue":5},"properties":null"#)).event)
        #expect(nulled.propertiesJSON == nil)
        #expect(nulled.revenue == nil)
    }

    @Test("a repeated context replaces the earlier one entirely")
    func duplicateContext() throws {
        let event = try #require(decode(lineWith(#""context":{"channel":"web"},"context":{"ip":"x"}"#)).event)
        #expect(event.touchpoint == "unknown")
    }

    @Test("member names written with escapes are the same names")
    func escapedKeys() throws {
        let line =
            #"{"customer\u005fid":"c","\u0065vent":"e","ts":"2026-05-01T10:00:00Z","properties":{"re\u0076enue":4}}"#
        let event = try #require(decode(line).event)
        #expect(event.customerID == "c")
        #expect(event.name == "e")
        #expect(event.revenue?.micros == 4_000_000)
    }

    @Test("properties keeps its exact JSON text, whitespace and escapes included")
    func propertiesText() throws {
        let properties = #"{ "sku" : "A\u00e9-17", "n":[1, 2.50, {"x":null}], "ok":true }"#
        let event = try #require(decode(lineWith(#""properties":"# + properties)).event)
        #expect(event.propertiesJSON == properties)
        #expect(try #require(decode(lineWith(#""properties":{}"#)).event).propertiesJSON == "{}")
    }

    @Test("unknown members of any type are ignored")
    func unknownMembers() throws {
        let event = try #require(decode(lineWith(#""type":"track","x":[1,{"y":null}],"z":false,"n":-1e5"#)).event)
        #expect(event.customerID == "c1")
    }
}
