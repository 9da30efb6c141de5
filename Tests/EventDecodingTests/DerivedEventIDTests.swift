import EventDecoding
import JourneyCore
import Testing

@Suite("Derived event ids")
struct DerivedEventIDTests {
    static let base =
        #"{"customer_id":"cust-42","event":"payment_done","ts":"2026-05-01T10:00:00.123456Z","touchpoint":"web"}"#

    func id(_ line: String) throws -> String {
        try #require(decode(line).event).eventID
    }

    @Test("golden values: the documented encoding, computed independently (Python hashlib), never changes")
    func golden() throws {
        // sha256("cjmd.event-id.v1" || u32be len || customer || u32be len || event || i64be ts µs || u32be len || touchpoint)
        #expect(try id(Self.base) == "d-9c59696ac237abad0f5bee33dfbc0fcd")
        #expect(
            try id(#"{"customer_id":"c1","event":"e","ts":"2026-05-01T10:00:00Z"}"#)
                == "d-c1681fe38ad2bfafc01d93fd8c244cc3")
        #expect(
            DerivedEventID.make(customerID: "é😀", event: "x", time: EventTime(microseconds: -1), touchpoint: "t")
                == "d-7557b1a2b490903db80657168ccf16df")
    }

    @Test("the id is d- and 32 lowercase hex digits")
    func format() throws {
        let value = try id(Self.base)
        #expect(value.hasPrefix("d-"))
        #expect(value.utf8.count == 34)
        #expect(value.dropFirst(2).allSatisfy { "0123456789abcdef".contains($0) })
    }

    @Test("the same event written differently gets the same id")
    func sameEventSameID() throws {
        let expected = try id(Self.base)
        let variants = [
            #"{ "touchpoint" : "web", "ts":"2026-05-01T12:00:00.123456+02:00", "event":"payment_done", "userId":"cust-42" }"#,
            #"{"anonymousId":"cust-42","event":"payment_\u0064one","timestamp":"2026-05-01T10:00:00.123456Z","channel":"web"}"#,
            #"{"customer_id":"cust-42","event":"payment_done","ts":"2026-05-01T10:00:00.123456Z","context":{"channel":"web"},"#
                + #""properties":{"revenue":5},"sentiment":0.5,"journey":"purchase"}"#,
        ]
        for variant in variants { #expect(try id(variant) == expected, "\(variant)") }
    }

    @Test("epoch milliseconds and RFC 3339 of the same instant agree")
    func millisecondsAgree() throws {
        let rfc = try id(#"{"customer_id":"c","event":"e","ts":"2026-05-01T10:00:00.123Z"}"#)
        #expect(try id(#"{"customer_id":"c","event":"e","ts":1777629600123}"#) == rfc)
    }

    @Test("an absent touchpoint is the same as \"unknown\"")
    func defaultTouchpoint() throws {
        #expect(
            try id(#"{"customer_id":"c","event":"e","ts":"2026-05-01T10:00:00Z"}"#)
                == id(#"{"customer_id":"c","event":"e","ts":"2026-05-01T10:00:00Z","touchpoint":"unknown"}"#))
    }

    @Test("changing any one of the four fields changes the id")
    func sensitivity() throws {
        let expected = try id(Self.base)
        let changed = [
            Self.base.replacing("cust-42", with: "cust-43"),
            Self.base.replacing("payment_done", with: "payment_don"),
            Self.base.replacing(".123456Z", with: ".123457Z"),
            Self.base.replacing(#""web""#, with: #""Web""#),
        ]
        var seen: Set<String> = [expected]
        for line in changed {
            #expect(line != Self.base)
            seen.insert(try id(line))
        }
        #expect(seen.count == 5)
    }

    @Test("field boundaries are unambiguous: moving a character between fields changes the id")
    func unambiguous() {
        let time = EventTime(seconds: 1_777_629_600)
        let a = DerivedEventID.make(customerID: "ab", event: "c", time: time, touchpoint: "d")
        let b = DerivedEventID.make(customerID: "a", event: "bc", time: time, touchpoint: "d")
        let c = DerivedEventID.make(customerID: "a", event: "b", time: time, touchpoint: "cd")
        #expect(Set([a, b, c]).count == 3)
    }

    @Test("a client event_id is used verbatim and no id is derived")
    func clientID() throws {
        #expect(try id(lineWith(#""event_id":"evt-1""#)) == "evt-1")
        #expect(try id(lineWith(#""messageId":"d-not-derived""#)) == "d-not-derived")
    }
}
