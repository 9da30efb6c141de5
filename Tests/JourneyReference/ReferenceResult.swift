import JourneyCore

/// What the reference computes from a set of journeys and events: the content of
/// `cjm.journey_instances`, `cjm.critical_moments` and `cjm.funnel` (docs/sql.md).
public struct ReferenceResult: Sendable, Hashable {
    /// Every instance, ordered by journey name, customer id (both in UTF-8 byte order) and instance number.
    public var instances: [ReferenceInstance]
    /// Every critical moment, ordered by journey name, customer id, instance and detection time.
    public var moments: [ReferenceMoment]
    /// One row per journey (in configuration order) and stage (in stage order).
    public var funnel: [ReferenceFunnelRow]
    /// Events that were applied: arrivals minus duplicates.
    public var acceptedEvents: Int
    /// Arrivals dropped because an earlier arrival had the same event id.
    public var duplicateEvents: Int
    /// Attributed events and distinct customers per journey, stage, touchpoint and persona
    /// (`cjm.touchpoints`; persona `*`: every instance), ordered by journey name, stage index,
    /// touchpoint and persona.
    public var touchpoints: [ReferenceTouchpointRow]
    /// `cjm.funnel_by_persona`: the funnel of each persona's instances, by journey (in
    /// configuration order), persona (UTF-8 order) and stage.
    public var funnelByPersona: [ReferenceFunnelRow]
    /// `cjm.repeat_loop`: per journey (configuration order), persona `*` first and then each
    /// persona whose instances converted (UTF-8 order).
    public var repeatLoop: [ReferenceRepeatRow]
    /// `cjm.repeat_triggers`: returns per journey and opening event, by journey name, event
    /// and touchpoint (UTF-8 order).
    public var repeatTriggers: [ReferenceTriggerRow]

    /// Creates a result; the reference builds these, tests may build expected ones.
    public init(
        instances: [ReferenceInstance], moments: [ReferenceMoment], funnel: [ReferenceFunnelRow],
        acceptedEvents: Int, duplicateEvents: Int, touchpoints: [ReferenceTouchpointRow] = [],
        funnelByPersona: [ReferenceFunnelRow] = [], repeatLoop: [ReferenceRepeatRow] = [],
        repeatTriggers: [ReferenceTriggerRow] = []
    ) {
        self.repeatLoop = repeatLoop
        self.repeatTriggers = repeatTriggers
        self.funnelByPersona = funnelByPersona
        self.instances = instances
        self.moments = moments
        self.funnel = funnel
        self.acceptedEvents = acceptedEvents
        self.duplicateEvents = duplicateEvents
        self.touchpoints = touchpoints
    }
}

/// A journey, stage and touchpoint.
public struct ReferenceTouchpointKey: Sendable, Hashable {
    public var journey: String
    public var stageIndex: Int
    public var touchpoint: String
    /// The instances' persona, `*` for every instance.
    public var persona: String

    public init(journey: String, stageIndex: Int, touchpoint: String, persona: String = "*") {
        self.journey = journey
        self.stageIndex = stageIndex
        self.touchpoint = touchpoint
        self.persona = persona
    }
}

/// One row of `cjm.touchpoints`, without the averages.
public struct ReferenceTouchpointRow: Sendable, Hashable {
    public var journey: String
    public var stageIndex: Int
    public var touchpoint: String
    /// The instances' persona, `*` for every instance.
    public var persona: String
    /// Events attributed to the stage at this touchpoint.
    public var events: Int
    /// Distinct customers among them.
    public var customers: Int

    public init(
        journey: String, stageIndex: Int, touchpoint: String, persona: String = "*", events: Int, customers: Int
    ) {
        self.journey = journey
        self.stageIndex = stageIndex
        self.touchpoint = touchpoint
        self.persona = persona
        self.events = events
        self.customers = customers
    }
}

/// The final or current status of a journey instance, spelled as in `cjm.journey_instances.status`.
public enum ReferenceStatus: String, Sendable, Hashable, CaseIterable {
    /// Open and not flagged.
    case active
    /// Flagged abandoned (and possibly expired since).
    case abandoned
    /// Reached the last stage.
    case converted
    /// The conversion window ran out while not flagged.
    case expired
}

/// Why a critical moment was written, spelled as in `cjm.critical_moments.reason`.
public enum ReferenceMomentReason: String, Sendable, Hashable, CaseIterable {
    /// The customer was silent for longer than the stage's `abandon_after`.
    case inactive
    /// The conversion window ran out while the instance was not flagged abandoned.
    case windowExpired = "window_expired"
}

/// One row of `cjm.journey_instances`, plus what was attributed to each of its stages.
public struct ReferenceInstance: Sendable, Hashable {
    /// The journey's name.
    public var journey: String
    /// The customer the row belongs to.
    public var customerID: String
    /// 1, 2, … per customer and journey.
    public var instance: Int
    /// Time of the stage-0 event that opened the instance.
    public var enteredAt: EventTime
    /// The furthest stage reached.
    public var stageIndex: Int
    /// The name of the furthest stage.
    public var stage: String
    /// The reach time of every stage of the journey; nil for stages not reached.
    public var reachedAt: [EventTime?]
    /// Final or current status.
    public var status: ReferenceStatus
    /// The latest event time of the customer (any journey) while this instance was open.
    public var lastSeen: EventTime
    /// Conversion time or expiry deadline; nil while open.
    public var exitedAt: EventTime?
    /// Per stage: events attributed to that stage of this instance.
    public var events: [Int]
    /// Per stage: sum of the sentiments of attributed events that carried one.
    public var sentimentSum: [Double]
    /// Per stage: number of attributed events that carried a sentiment.
    public var sentimentCount: [Int]
    /// Per stage: exact sum of attributed revenue (zero when none).
    public var revenue: [DecimalText]
    /// The customer's persona at entry.
    public var persona: String

    /// Creates an instance row; the reference builds these, tests may build expected ones.
    public init(
        journey: String, customerID: String, instance: Int, enteredAt: EventTime, stageIndex: Int, stage: String,
        reachedAt: [EventTime?], status: ReferenceStatus, lastSeen: EventTime, exitedAt: EventTime?,
        events: [Int], sentimentSum: [Double], sentimentCount: [Int], revenue: [DecimalText],
        persona: String = "unknown"
    ) {
        self.persona = persona
        self.journey = journey
        self.customerID = customerID
        self.instance = instance
        self.enteredAt = enteredAt
        self.stageIndex = stageIndex
        self.stage = stage
        self.reachedAt = reachedAt
        self.status = status
        self.lastSeen = lastSeen
        self.exitedAt = exitedAt
        self.events = events
        self.sentimentSum = sentimentSum
        self.sentimentCount = sentimentCount
        self.revenue = revenue
    }
}

/// One row of `cjm.critical_moments`.
public struct ReferenceMoment: Sendable, Hashable {
    /// The journey's name.
    public var journey: String
    /// The customer the row belongs to.
    public var customerID: String
    /// The instance number, 1-based per customer and journey.
    public var instance: Int
    /// Index of the stage (0-based).
    public var stageIndex: Int
    /// Name of the stage.
    public var stage: String
    /// Why the moment was written.
    public var reason: ReferenceMomentReason
    /// Name of the customer's last applied event before detection, in any journey.
    public var lastEvent: String
    /// Touchpoint of that event.
    public var lastTouchpoint: String
    /// Time of that event.
    public var lastSeen: EventTime
    /// Detection time minus the reach time of the stage.
    public var timeInStage: TimeSpan
    /// The instance's pain points up to detection, oldest first, the latest 50 at most.
    public var painPoints: [ReferencePainPoint]
    /// The deadline that produced the moment.
    public var detectedAt: EventTime
    /// Time of the first event of the customer after detection while the instance was still open.
    public var recoveredAt: EventTime?
    /// The instance's persona.
    public var persona: String

    /// Creates a moment row; the reference builds these, tests may build expected ones.
    public init(
        journey: String, customerID: String, instance: Int, stageIndex: Int, stage: String,
        reason: ReferenceMomentReason, lastEvent: String, lastTouchpoint: String, lastSeen: EventTime,
        timeInStage: TimeSpan, painPoints: [ReferencePainPoint], detectedAt: EventTime, recoveredAt: EventTime?,
        persona: String = "unknown"
    ) {
        self.persona = persona
        self.journey = journey
        self.customerID = customerID
        self.instance = instance
        self.stageIndex = stageIndex
        self.stage = stage
        self.reason = reason
        self.lastEvent = lastEvent
        self.lastTouchpoint = lastTouchpoint
        self.lastSeen = lastSeen
        self.timeInStage = timeInStage
        self.painPoints = painPoints
        self.detectedAt = detectedAt
        self.recoveredAt = recoveredAt
    }
}

/// One element of a critical moment's `pain_points`: a critical event or one with low sentiment.
public struct ReferencePainPoint: Sendable, Hashable {
    /// The event name.
    public var event: String
    /// The event's touchpoint.
    public var touchpoint: String
    /// The event's time.
    public var ts: EventTime
    /// Name of the stage the instance was at after applying the event.
    public var stage: String
    /// Index of the stage (0-based).
    public var stageIndex: Int
    /// The event's sentiment, if it carried one.
    public var sentiment: Double?

    /// Creates a pain point; the reference builds these, tests may build expected ones.
    public init(event: String, touchpoint: String, ts: EventTime, stage: String, stageIndex: Int, sentiment: Double?) {
        self.event = event
        self.touchpoint = touchpoint
        self.ts = ts
        self.stage = stage
        self.stageIndex = stageIndex
        self.sentiment = sentiment
    }
}

/// One row of the `cjm.funnel` view.
public struct ReferenceFunnelRow: Sendable, Hashable {
    /// The journey's name.
    public var journey: String
    /// The persona whose instances the row counts, `*` for every instance (`cjm.funnel`).
    public var persona: String = "*"
    /// Index of the stage (0-based).
    public var stageIndex: Int
    /// Name of the stage.
    public var stage: String
    /// Instances whose furthest stage is at least this one.
    public var reached: Int
    /// Distinct customers with such an instance.
    public var customers: Int
    /// reached(k+1); nil for the last stage.
    public var convertedToNext: Int?
    /// reached(k+1) / reached(k); nil for the last stage or when reached(k) = 0.
    public var stepConversion: Double?
    /// reached(k) / reached(0); nil when reached(0) = 0.
    public var overallConversion: Double?
    /// reached(k) − reached(k+1); nil for the last stage.
    public var dropOff: Int?
    /// 1 − stepConversion; nil when that is nil.
    public var dropOffRate: Double?
    /// Instances with status `active` whose furthest stage is this one.
    public var active: Int
    /// Instances with status `abandoned` whose furthest stage is this one.
    public var abandoned: Int
    /// Instances with status `expired` whose furthest stage is this one.
    public var expired: Int
    /// `percentile_cont(0.5)` of seconds from reaching this stage to reaching the next; nil when none.
    public var medianTimeToNext: Double?
    /// `percentile_cont(0.9)` of the same durations; nil when none.
    public var p90TimeToNext: Double?
    /// Events attributed to this stage over all instances.
    public var events: Int
    /// Mean sentiment of attributed events that carried one; nil when none did.
    public var avgSentiment: Double?
    /// Exact sum of attributed revenue.
    public var revenue: DecimalText

    /// Creates a funnel row; the reference builds these, tests may build expected ones.
    public init(
        journey: String, stageIndex: Int, stage: String, reached: Int, customers: Int, convertedToNext: Int?,
        stepConversion: Double?, overallConversion: Double?, dropOff: Int?, dropOffRate: Double?,
        active: Int, abandoned: Int, expired: Int, medianTimeToNext: Double?, p90TimeToNext: Double?,
        events: Int, avgSentiment: Double?, revenue: DecimalText
    ) {
        self.journey = journey
        self.stageIndex = stageIndex
        self.stage = stage
        self.reached = reached
        self.customers = customers
        self.convertedToNext = convertedToNext
        self.stepConversion = stepConversion
        self.overallConversion = overallConversion
        self.dropOff = dropOff
        self.dropOffRate = dropOffRate
        self.active = active
        self.abandoned = abandoned
        self.expired = expired
        self.medianTimeToNext = medianTimeToNext
        self.p90TimeToNext = p90TimeToNext
        self.events = events
        self.avgSentiment = avgSentiment
        self.revenue = revenue
    }
}

/// What became of one converted instance (docs/semantics.md, "The repeat loop").
struct ReferenceRepeatOutcome {
    enum Kind { case returned, pending, didNotReturn }
    var journey: String
    var persona: String
    var kind: Kind
    /// From the conversion to the next instance's entry (returned only).
    var timeToReturn: TimeSpan?
    /// Name and touchpoint of the event that opened the next instance (returned only).
    var trigger: (event: String, touchpoint: String)?
    /// Whether the repeat window ends at the end of the replay, or a microsecond after it.
    var windowEndsAtEnd = false
}

/// One row of `cjm.repeat_loop`, with the times to return it summarises.
public struct ReferenceRepeatRow: Sendable, Hashable {
    public var journey: String
    /// The converted instances' persona, `*` for every instance.
    public var persona: String
    public var converted: Int
    public var returned: Int
    public var pending: Int
    public var didNotReturn: Int
    /// Every returned instance's time from conversion to return, ascending.
    public var timesToReturn: [TimeSpan]
    /// Conversions whose window ends at the end of the replay or a microsecond after (the
    /// edge between did not return and pending; for tests' coverage, not a view's column).
    public var windowsEndingAtEnd = 0

    public init(
        journey: String, persona: String, converted: Int = 0, returned: Int = 0, pending: Int = 0,
        didNotReturn: Int = 0, timesToReturn: [TimeSpan] = []
    ) {
        self.journey = journey
        self.persona = persona
        self.converted = converted
        self.returned = returned
        self.pending = pending
        self.didNotReturn = didNotReturn
        self.timesToReturn = timesToReturn
    }

    /// returned / (converted − pending); nil when nothing is decided.
    public var returnRate: Double? {
        converted - pending > 0 ? Double(returned) / Double(converted - pending) : nil
    }

    /// The times to return per duration bucket (as `cjm.return_time` counts them).
    public var returnTimeBuckets: [Int: Int] {
        var buckets: [Int: Int] = [:]
        for time in timesToReturn { buckets[DurationBuckets.bucket(time), default: 0] += 1 }
        return buckets
    }
}

/// One row of `cjm.repeat_triggers`, without the share.
public struct ReferenceTriggerRow: Sendable, Hashable {
    public var journey: String
    public var event: String
    public var touchpoint: String
    public var returns: Int

    public init(journey: String, event: String, touchpoint: String, returns: Int) {
        self.journey = journey
        self.event = event
        self.touchpoint = touchpoint
        self.returns = returns
    }
}
