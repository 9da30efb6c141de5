import JourneyCore

/// An event a source accepted, on its way to be stored and applied: what every source
/// hands on, whatever its transport.
public struct AcceptedEvent: Sendable {
    public var event: TouchpointEvent
    /// The source's name (`cjm.events.source`).
    public var source: String
    /// Wall-clock time of acceptance.
    public var receivedAt: EventTime
    /// A `personas.from` path led to a value that is not a persona (counted, then ignored).
    public var ignoredPersona: Bool
    /// The line as decoded, kept only for a source that forwards its events to a bus
    /// (`forward_to`): what is published is what was received.
    public var line: [UInt8]?

    public init(
        event: TouchpointEvent, source: String, receivedAt: EventTime, ignoredPersona: Bool = false,
        line: [UInt8]? = nil
    ) {
        self.event = event
        self.source = source
        self.receivedAt = receivedAt
        self.ignoredPersona = ignoredPersona
        self.line = line
    }
}
