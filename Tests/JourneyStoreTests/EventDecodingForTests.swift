import EventDecoding
import IngestEnvelope
import JourneyCore
import JourneyStore
import Testing

/// Decodes test lines into accepted events, failing the test on a rejection.
struct EventDecodingForTests {
    let decoder: EventDecoder
    let now: EventTime

    init(settings: IngestSettings, now: EventTime) {
        self.decoder = EventDecoder(settings: settings)
        self.now = now
    }

    func accepted(_ line: String) throws -> AcceptedEvent {
        let trimmed = line.hasSuffix("\n") ? String(line.dropLast()) : line
        guard case .event(let event) = decoder.decode(trimmed, now: now) else {
            Issue.record("line did not decode: \(trimmed)")
            throw DecodingFailed()
        }
        return AcceptedEvent(event: event, source: "test", receivedAt: now)
    }

    struct DecodingFailed: Error {}
}
