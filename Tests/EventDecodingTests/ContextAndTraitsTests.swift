import EventDecoding
import JourneyCore
import Testing

/// `context` and top-level `traits` are kept as sent when they are objects jsonb can hold,
/// and never a reason to refuse an event (docs/events.md).
struct ContextAndTraitsTests {
    @Test func objectsAreKeptAsSent() {
        let event = decode(lineWith(#""context": {"channel": "web", "ip": "10.0.0.1"}, "traits": {"plan": "pro"}"#))
            .event
        #expect(event?.contextJSON == #"{"channel": "web", "ip": "10.0.0.1"}"#)
        #expect(event?.traitsJSON == #"{"plan": "pro"}"#)
        #expect(event?.touchpoint == "web")
        let plain = decode(minimalLine).event
        #expect(plain != nil && plain?.contextJSON == nil && plain?.traitsJSON == nil)
    }

    @Test func theLastOfARepeatedMemberWins() {
        let event = decode(
            lineWith(#""context": {"a": 1}, "traits": {"x": 1}, "context": {"b": 2}, "traits": {"y": 2}"#)
        )
        .event
        #expect(event?.contextJSON == #"{"b": 2}"#)
        #expect(event?.traitsJSON == #"{"y": 2}"#)
    }

    /// What jsonb could not hold, or what is not an object, is left out; the event stays.
    @Test func whatCannotBeStoredIsLeftOutNotRefused() {
        for extra in [
            #""context": "web""#, #""traits": [1, 2]"#, #""context": null"#, #""traits": {"name": "a\u0000b"}"#,
            #""context": {"n": 1e999999}"#,
        ] {
            let result = decode(lineWith(extra))
            #expect(result.event != nil, "\(extra): \(String(describing: result.rejection))")
            #expect(result.event?.contextJSON == nil && result.event?.traitsJSON == nil, "\(extra)")
        }
    }
}
