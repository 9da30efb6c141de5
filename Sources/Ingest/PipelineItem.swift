import JourneyStore

/// One decoded line on its way to the database: an event, or a line for the dead-letter table.
public enum PipelineItem: Sendable {
    case event(AcceptedEvent)
    case rejection(RejectedLine)
}
