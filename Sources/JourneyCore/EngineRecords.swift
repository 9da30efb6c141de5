/// What the engine reports about one journey instance: the row of `cjm.journey_instances`.
public struct InstanceRecord: Sendable, Equatable {
    /// Lifecycle of an instance (docs/semantics.md).
    public enum Status: String, Sendable {
        case active, abandoned, converted, expired
    }

    public var journey: Int
    public var customerID: String
    public var instance: Int32
    public var enteredAt: EventTime
    /// Furthest stage reached.
    public var stageIndex: Int
    public var status: Status
    public var lastSeen: EventTime
    public var exitedAt: EventTime?
    /// Per stage: reach time and the events attributed to it.
    public var stages: [StageTally]
    /// Last event and touchpoint of the customer (kept so that a restarted engine can write
    /// the same critical moments as an uninterrupted one).
    public var lastEvent: String
    public var lastTouchpoint: String
    /// Pain points seen in the instance so far (latest ``PainPoint/retained`` at most).
    public var painPoints: [PainPoint]
    /// Critical moments written for this instance so far.
    public var moments: Int32
    /// The (stage, touchpoint) pairs the customer met for the first time in this journey
    /// during this instance, since the instance was last handed out (the store appends
    /// them to the ones it holds).
    public var firstTouches: [TouchpointPair]
    /// The customer's persona at entry (docs/semantics.md); never changes afterwards.
    public var persona: String
    /// The pairs the customer met for the first time in this journey *as this persona*
    /// during this instance, since last handed out; nil when they are ``firstTouches``
    /// (always so for a customer whose instances all had one persona).
    public var personaFirstTouches: [TouchpointPair]?

    public init(
        journey: Int, customerID: String, instance: Int32, enteredAt: EventTime, stageIndex: Int, status: Status,
        lastSeen: EventTime, exitedAt: EventTime?, stages: [StageTally], lastEvent: String, lastTouchpoint: String,
        painPoints: [PainPoint], moments: Int32, firstTouches: [TouchpointPair] = [],
        persona: String = PersonaSettings.standardDefault, personaFirstTouches: [TouchpointPair]? = nil
    ) {
        self.journey = journey
        self.customerID = customerID
        self.instance = instance
        self.enteredAt = enteredAt
        self.stageIndex = stageIndex
        self.status = status
        self.lastSeen = lastSeen
        self.exitedAt = exitedAt
        self.stages = stages
        self.lastEvent = lastEvent
        self.lastTouchpoint = lastTouchpoint
        self.painPoints = painPoints
        self.moments = moments
        self.firstTouches = firstTouches
        self.persona = persona
        self.personaFirstTouches = personaFirstTouches
    }

    /// Whether the instance is still open (can progress, be flagged or recover).
    public var isOpen: Bool { exitedAt == nil }
}

/// Reach time and attributed activity of one stage of one instance.
public struct StageTally: Sendable, Equatable {
    public var sentimentSum: Double = 0
    public var revenue = DecimalText(micros: 0)
    /// Microseconds of the reach time, `Int64.min` when not reached: an optional would pad
    /// every tally from 32 to 40 bytes, and every open instance holds one per stage.
    private var reachedAtMicroseconds = Int64.min
    /// Events attributed to the stage.
    public var events: Int32 = 0
    /// Events attributed to the stage that carried a sentiment.
    public var sentimentCount: Int32 = 0

    /// When the instance reached the stage; nil if it has not.
    public var reachedAt: EventTime? {
        get { reachedAtMicroseconds == .min ? nil : EventTime(microseconds: reachedAtMicroseconds) }
        set { reachedAtMicroseconds = newValue?.microseconds ?? .min }
    }

    public init(reachedAt: EventTime? = nil) { self.reachedAt = reachedAt }
}

/// An event that hurt: a critical event or one with sentiment below the journey's threshold.
public struct PainPoint: Sendable, Equatable {
    /// How many pain points an instance keeps (the latest ones).
    public static let retained = 50

    public var event: String
    public var touchpoint: String
    public var time: EventTime
    public var stageIndex: Int
    public var sentiment: Double?

    public init(event: String, touchpoint: String, time: EventTime, stageIndex: Int, sentiment: Double?) {
        self.event = event
        self.touchpoint = touchpoint
        self.time = time
        self.stageIndex = stageIndex
        self.sentiment = sentiment
    }
}

/// A critical moment: the row of `cjm.critical_moments` (docs/semantics.md).
public struct CriticalMomentRecord: Sendable, Equatable {
    public enum Reason: String, Sendable {
        case inactive
        case windowExpired = "window_expired"
    }

    public var journey: Int
    public var customerID: String
    public var instance: Int32
    /// 1, 2, … within the instance.
    public var moment: Int32
    public var stageIndex: Int
    public var reason: Reason
    public var lastEvent: String
    public var lastTouchpoint: String
    public var lastSeen: EventTime
    public var timeInStage: TimeSpan
    public var painPoints: [PainPoint]
    public var detectedAt: EventTime
    public var recoveredAt: EventTime?
    /// The instance's persona.
    public var persona: String

    public init(
        journey: Int, customerID: String, instance: Int32, moment: Int32, stageIndex: Int, reason: Reason,
        lastEvent: String, lastTouchpoint: String, lastSeen: EventTime, timeInStage: TimeSpan, painPoints: [PainPoint],
        detectedAt: EventTime, recoveredAt: EventTime?, persona: String = PersonaSettings.standardDefault
    ) {
        self.journey = journey
        self.customerID = customerID
        self.instance = instance
        self.moment = moment
        self.stageIndex = stageIndex
        self.reason = reason
        self.lastEvent = lastEvent
        self.lastTouchpoint = lastTouchpoint
        self.lastSeen = lastSeen
        self.timeInStage = timeInStage
        self.painPoints = painPoints
        self.detectedAt = detectedAt
        self.recoveredAt = recoveredAt
        self.persona = persona
    }
}

/// A stage and a touchpoint of one journey, as a customer meets them.
public struct TouchpointPair: Hashable, Sendable {
    public var stageIndex: Int
    public var touchpoint: String

    public init(stageIndex: Int, touchpoint: String) {
        self.stageIndex = stageIndex
        self.touchpoint = touchpoint
    }
}

/// Activity attributed to one (journey, stage, touchpoint, persona) during a batch.
public struct TouchpointKey: Hashable, Sendable {
    public var journey: Int
    public var stageIndex: Int
    public var touchpoint: String
    /// The persona of the instances, or ``PersonaSettings/all`` for every instance.
    public var persona: String = PersonaSettings.all

    public init(journey: Int, stageIndex: Int, touchpoint: String, persona: String = PersonaSettings.all) {
        self.journey = journey
        self.stageIndex = stageIndex
        self.touchpoint = touchpoint
        self.persona = persona
    }
}

/// A customer's persona as the engine holds it, for the store to keep across restarts.
public struct CustomerPersona: Sendable, Equatable {
    public var customerID: String
    public var persona: String
    /// The time of the event that carried it.
    public var setAt: EventTime

    public init(customerID: String, persona: String, setAt: EventTime) {
        self.customerID = customerID
        self.persona = persona
        self.setAt = setAt
    }
}

/// Additive totals for a ``TouchpointKey``.
public struct TouchpointTally: Sendable, Equatable {
    public var events: Int64 = 0
    public var sentimentCount: Int64 = 0
    public var sentimentSum: Double = 0
    public var revenue = DecimalText(micros: 0)
    /// Customers that met this key for the first time since the changes were last taken
    /// (added to the distinct customers of `cjm.touchpoint_stats`).
    public var customers: Int64 = 0
    public init() {}
}

/// Everything a batch changed, for the store to write in one transaction.
public struct EngineChanges: Sendable {
    /// Latest state of every instance the batch touched (opened, advanced, flagged, closed,
    /// seen). The first ``newInstanceCount`` opened since the changes were last taken: no
    /// earlier changes held them, so the store can insert them without looking for old rows.
    public var instances: [InstanceRecord] = []
    /// How many of ``instances``, from the start, are new.
    public var newInstanceCount = 0
    /// Latest state of every critical moment the batch created or recovered; the first
    /// ``newMomentCount`` were detected since the changes were last taken.
    public var moments: [CriticalMomentRecord] = []
    /// How many of ``moments``, from the start, are new.
    public var newMomentCount = 0
    public var touchpoints: [TouchpointKey: TouchpointTally] = [:]
    /// Events applied after the watermark had passed them.
    public var lateEvents: Int = 0
    /// Events applied in this batch (in time, or late).
    public var appliedEvents: Int = 0
    /// Decisions per stage and minute made in this batch (added to `cjm.stage_decisions`).
    public var decisions: [StageDecisionKey: DecisionCounts] = [:]
    /// Customers whose persona changed (their latest persona and its time).
    public var personas: [CustomerPersona] = []
    /// Changes to the running funnel counters per stage and persona, ``PersonaSettings/all``
    /// included (added to `cjm.funnel_stats`).
    public var funnel: [FunnelStageKey: FunnelTally] = [:]
    /// New stage-to-next-stage times per duration bucket (added to `cjm.time_to_next`).
    public var timeToNext: [TimeToNextKey: Int64] = [:]
    /// Changes to the repeat-loop counters per journey and persona, ``PersonaSettings/all``
    /// included (added to `cjm.repeat_stats`).
    public var repeatLoop: [RepeatLoopKey: RepeatTally] = [:]
    /// New conversion-to-return times per duration bucket (added to `cjm.return_time`).
    public var returnTimes: [ReturnTimeKey: Int64] = [:]
    /// Returns per opening event (added to `cjm.repeat_trigger_stats`).
    public var repeatTriggers: [RepeatTriggerKey: Int64] = [:]
    /// Conversions now waiting for their customer's return, one per customer and journey
    /// (replacing what `cjm.repeat_pending` holds for them).
    public var repeatPending: [RepeatPendingRecord] = []
    /// Customers and journeys whose waiting conversion was decided and none waits now (their
    /// row of `cjm.repeat_pending` goes).
    public var repeatDecided: [(journey: Int, customerID: String)] = []
    /// Latest state of every drop-off alert that fired, resolved or changed its calm period.
    public var alerts: [DropOffAlert] = []
    /// Alerts that fired or resolved, in order: to be announced once committed.
    public var alertTransitions: [AlertTransition] = []
    public init() {}
}
