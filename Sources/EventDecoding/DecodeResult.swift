import JourneyCore

/// What one NDJSON line decodes to.
public enum DecodeResult: Sendable, Hashable {
    /// A valid event, ready for the engine.
    case event(TouchpointEvent)
    /// A line that goes to the dead-letter table.
    case rejected(Rejection)
    /// An empty line, or one of JSON whitespace only. It carries no event, so it is neither
    /// accepted nor dead-lettered; sources skip it (the framer's offsets still move past it).
    case blank
}
