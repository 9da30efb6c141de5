import EventDecoding
import JourneyCore
import Testing

/// `personas.from`: dotted paths into the event as received; the first that holds a string
/// of 1 to 64 characters is the event's persona, anything else there is ignored and counted,
/// never a reason to refuse the event (docs/events.md).
struct PersonaLookupTests {
    static let standardPaths = [["traits", "persona"], ["context", "traits", "persona"], ["properties", "persona"]]

    func lookUp(_ line: String, paths: [[String]] = standardPaths) -> (persona: String?, ignored: Bool, ok: Bool) {
        var settings = IngestSettings()
        settings.personaPaths = paths
        var ignored = false
        var bytes = Array(line.utf8)
        let result = bytes.withUnsafeMutableBytes {
            EventDecoder(settings: settings).decode(UnsafeRawBufferPointer($0), now: testNow, ignoredPersona: &ignored)
        }
        return (result.event?.persona, ignored, result.event != nil)
    }

    @Test func eachPathFindsItsValue() {
        #expect(lookUp(lineWith(#""traits": {"persona": "buyer"}"#)).persona == "buyer")
        #expect(
            lookUp(lineWith(#""context": {"traits": {"persona": "rudder"}, "channel": "web"}"#)).persona == "rudder")
        #expect(lookUp(lineWith(#""properties": {"sku": 1, "persona": "browser"}"#)).persona == "browser")
        // A member cjmd does not otherwise read.
        #expect(
            lookUp(lineWith(#""user": {"segment": {"name": "vip"}}"#), paths: [["user", "segment", "name"]])
                .persona == "vip")
        #expect(lookUp(lineWith(#""segment": "b2b""#), paths: [["segment"]]).persona == "b2b")
        let none = lookUp(minimalLine)
        #expect(none.ok && none.persona == nil && !none.ignored)
    }

    @Test func theFirstPathWithAPersonaWins() {
        let both = lineWith(#""properties": {"persona": "third"}, "traits": {"persona": "first"}"#)
        #expect(lookUp(both).persona == "first")
        // A path whose value is not a persona gives way to the next one, and is counted.
        let fallback = lookUp(lineWith(#""traits": {"persona": 7}, "properties": {"persona": "third"}"#))
        #expect(fallback.persona == "third" && !fallback.ignored)
        // null is absence, not a value.
        let null = lookUp(lineWith(#""traits": {"persona": null}, "properties": {"persona": "third"}"#))
        #expect(null.persona == "third" && !null.ignored)
    }

    @Test func valuesThatAreNoPersonaAreIgnoredNotRefused() {
        for value in [
            "42", "true", #""""#, "[\"a\"]", #"{"name": "x"}"#, "\"" + String(repeating: "q", count: 65) + "\"",
            #""a\u0000b""#, #""*""#, #""\u002a""#,
        ] {
            let found = lookUp(lineWith(#""traits": {"persona": "# + value + "}"))
            #expect(found.ok, "\(value)")
            #expect(found.persona == nil && found.ignored, "\(value)")
        }
        let null = lookUp(lineWith(#""traits": {"persona": null}"#))
        #expect(null.ok && null.persona == nil && !null.ignored)
    }

    @Test func sixtyFourCharactersAreAPersonaWhateverTheirBytes() {
        let wide = String(repeating: "é", count: 64)  // 128 bytes
        #expect(lookUp(lineWith(#""traits": {"persona": ""# + wide + #""}"#)).persona == wide)
        #expect(lookUp(lineWith(#""traits": {"persona": "caf\u00e9 \u2615"}"#)).persona == "café ☕")
        #expect(lookUp(lineWith(#""traits": {"persona": "\ud83d\ude00"}"#)).persona == "😀")
    }

    @Test func theLastOfRepeatedMembersCountsAsInJsonb() {
        #expect(lookUp(lineWith(#""traits": {"persona": "a", "persona": "b"}"#)).persona == "b")
        #expect(lookUp(lineWith(#""traits": {"persona": "a"}, "traits": {"plan": "x"}"#)).persona == nil)
        #expect(
            lookUp(lineWith(#""user": {"p": "a"}, "user": {"p": "b"}"#), paths: [["user", "p"]]).persona == "b")
    }

    @Test func pathsThatEndInsideAnotherTypeFindNothing() {
        #expect(lookUp(lineWith(#""traits": "pro""#)).persona == nil)
        #expect(lookUp(lineWith(#""traits": ["persona"]"#)).persona == nil)
        #expect(lookUp(lineWith(#""context": {"traits": 3}"#)).persona == nil)
    }

    @Test func withoutPathsNoEventHasAPersona() {
        #expect(decode(lineWith(#""traits": {"persona": "buyer"}"#)).event?.persona == nil)
    }

    /// An SDK message is the object the paths look into: Segment's identify traits,
    /// RudderStack's context.traits, PostHog's properties.
    @Test func sdkMessagesCarryTheirPersonas() throws {
        let body = """
            {"batch": [
              {"type": "identify", "userId": "u1", "traits": {"persona": "pro"}, "messageId": "m1",
               "timestamp": "2026-05-01T11:59:04Z"},
              {"type": "track", "event": "buy", "userId": "u2", "messageId": "m2", "timestamp": "2026-05-01T11:59:05Z",
               "context": {"traits": {"persona": "student"}}},
              {"type": "track", "event": "view", "userId": "u3", "messageId": "m3", "timestamp": "2026-05-01T11:59:06Z",
               "properties": {"persona": "guest"}}
            ]}
            """
        let bytes = Array(body.utf8)
        let payload = try bytes.withUnsafeBytes { buffer in
            try SDKPayloadDecoder(clockSkewTolerance: .minutes(5)).decode(
                buffer, route: .segmentBatch, receivedAt: testNow)
        }
        let personas = payload.lines.map { line in
            lookUp(String(decoding: line, as: UTF8.self)).persona
        }
        #expect(personas == ["pro", "student", "guest"])
    }
}
