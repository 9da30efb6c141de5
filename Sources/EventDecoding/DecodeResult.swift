import JourneyCore

/// What one NDJSON line decodes to.
public enum DecodeResult: Sendable, Hashable {
    /// A valid event, ready for the engine.
    case event(TouchpointEvent)
    /// A line that goes to the dead-letter table.
    case rejected(Rejection)
    /// An empty line, or one of JSON whitespace only. It carries no event, so it is neither
    /// an event nor dead-lettered; sources simply skip it (it is still a line for offsets
    /// and for the socket protocol's count of lines).
    case blank
}
