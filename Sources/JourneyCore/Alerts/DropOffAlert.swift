/// One drop-off alert episode of a journey stage (docs/alerts.md): the row of `cjm.alerts`.
///
/// All times are event times. An episode starts when the detector fires and ends when it
/// resolves; it is one row, written when it fires and updated when it resolves.
public struct DropOffAlert: Sendable, Equatable {
    /// Index of the journey in the configuration.
    public var journey: Int
    public var journeyName: String
    /// The stage whose drop-off spiked (never the last stage).
    public var stageIndex: Int
    public var stageName: String
    /// The persona whose instances spiked, or ``PersonaSettings/all`` for every instance.
    public var persona: String
    /// The window that fired: [windowStart, windowEnd).
    public var windowStart: EventTime
    public var windowEnd: EventTime
    /// Instances decided at the stage during the window (abandoned + advanced).
    public var decided: Int
    /// Of those, abandoned.
    public var abandoned: Int
    /// abandoned ÷ decided in the window.
    public var rate: Double
    /// The same ratio over the baseline period just before the window.
    public var baselineRate: Double
    /// Instances decided during the baseline period.
    public var baselineDecided: Int
    /// (rate − baselineRate) / √(baselineRate(1 − baselineRate)/decided); nil when the
    /// baseline rate is 0 or 1 (docs/alerts.md counts a zero baseline as exceeding any threshold).
    public var z: Double?
    /// The exact test's p-value (``ExactDropOffTest``); nil for episodes stored by a cjmd
    /// that did not compute it.
    public var pValue: Double?
    /// The end of the window that fired (event time of the evaluation).
    public var firedAt: EventTime
    /// The evaluation at which the drop-off had been calm for a whole window.
    public var resolvedAt: EventTime?
    /// Start of the current run of calm evaluations while firing (kept so that a restarted
    /// daemon resolves at the same moment as an uninterrupted one).
    public var calmSince: EventTime?

    public init(
        journey: Int, journeyName: String, stageIndex: Int, stageName: String, windowStart: EventTime,
        windowEnd: EventTime, decided: Int, abandoned: Int, rate: Double, baselineRate: Double, baselineDecided: Int,
        z: Double?, pValue: Double? = nil, firedAt: EventTime, resolvedAt: EventTime? = nil,
        calmSince: EventTime? = nil, persona: String = PersonaSettings.all
    ) {
        self.persona = persona
        self.journey = journey
        self.journeyName = journeyName
        self.stageIndex = stageIndex
        self.stageName = stageName
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.decided = decided
        self.abandoned = abandoned
        self.rate = rate
        self.baselineRate = baselineRate
        self.baselineDecided = baselineDecided
        self.z = z
        self.pValue = pValue
        self.firedAt = firedAt
        self.resolvedAt = resolvedAt
        self.calmSince = calmSince
    }

    /// Whether the episode is still firing.
    public var isFiring: Bool { resolvedAt == nil }

    /// An episode's identity: a stage fires at most once at a time for a persona, so
    /// (journey, stage, persona, fired_at) names one row of `cjm.alerts`.
    public struct Episode: Hashable, Sendable {
        public var journey: Int
        public var stageIndex: Int
        public var firedAt: EventTime
        public var persona: String
    }

    /// This alert's episode.
    public var episode: Episode {
        Episode(journey: journey, stageIndex: stageIndex, firedAt: firedAt, persona: persona)
    }
}

/// A change of an alert that someone must hear about: it fired, or it resolved.
public enum AlertTransition: Sendable, Equatable {
    case fired(DropOffAlert)
    case resolved(DropOffAlert)

    /// The alert as it is after the transition.
    public var alert: DropOffAlert {
        switch self {
        case .fired(let alert), .resolved(let alert): alert
        }
    }
}
