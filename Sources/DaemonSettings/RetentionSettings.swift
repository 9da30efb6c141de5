import JourneyCore

/// How long raw events and dead letters are kept (`retention:`, docs/storage.md). Journey
/// instances, critical moments, aggregates and alerts are kept for good: they are the
/// journey, and every view reads them, not the raw events.
public struct RetentionSettings: Sendable, Equatable {
    /// Raw events older than this, by event time against the watermark, are dropped a whole
    /// day at a time; nil keeps them for good (the default).
    public var events: TimeSpan?
    /// Dead letters received longer ago than this (wall clock) are dropped a whole day at a
    /// time; nil keeps them for good (the default).
    public var rejectedEvents: TimeSpan?

    /// The shortest accepted retention: a partition holds one day.
    public static let minimum = TimeSpan.days(1)

    public init(events: TimeSpan? = nil, rejectedEvents: TimeSpan? = nil) {
        self.events = events
        self.rejectedEvents = rejectedEvents
    }

    /// The time before which events are no longer kept when the engine's watermark is at
    /// `watermark`: events older than it are dropped with their day, and an event older
    /// than it that arrives late is dead-lettered (`behind_retention`). Nil while events
    /// are kept for good, or before the first event.
    public func eventsHorizon(watermark: EventTime) -> EventTime? {
        guard let events, watermark > .distantPast else { return nil }
        return watermark - events
    }

    /// The receive time before which dead letters are no longer kept, at wall-clock time `now`.
    public func rejectedHorizon(now: EventTime) -> EventTime? {
        rejectedEvents.map { now - $0 }
    }
}
