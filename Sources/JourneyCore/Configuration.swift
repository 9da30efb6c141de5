/// Limits and batching of ingestion.
public struct IngestSettings: Sendable, Equatable {
    public var maxLineBytes: Int = 65_536
    public var allowedLateness: TimeSpan = .seconds(5)
    public var maxFutureSkew: TimeSpan = .minutes(5)
    public var batchMaxEvents: Int = 5000
    public var batchMaxDelay: TimeSpan = .milliseconds(200)
    /// Client connections the socket sources accept at once, over all of them; one more is
    /// told so and closed. Bounds memory (each connection buffers up to `maxLineBytes`).
    public var maxConnections: Int = 1024
    /// A socket client that completes no line for this long is closed, unless it is waiting
    /// for the daemon (its acknowledgements are not committed yet, or reading is paused
    /// because the commit queue is full). Frees the slots of idle, trickling (slowloris)
    /// and non-reading clients. Zero: never.
    public var idleTimeout: TimeSpan = .minutes(10)
    /// An SDK batch whose `sentAt` differs from the time of receipt by more than this has
    /// its times corrected for the client's clock error (docs/http.md); never below it,
    /// which would reorder events.
    public var clockSkewTolerance: TimeSpan = .minutes(5)
    /// Where the decoder looks for an event's persona: `personas.from` (``PersonaSettings``),
    /// each path split into member names. Empty: events carry no persona.
    public var personaPaths: [[String]] = []
    public init() {}
}

/// Drop-off spike detection (docs/alerts.md).
public struct AlertSettings: Sendable, Equatable {
    /// The recent period judged at every minute.
    public var window: TimeSpan = .hours(1)
    /// What the window is compared with.
    public var baseline: AlertBaseline = .preceding(.hours(24))
    /// Decided instances the window, and the baseline, must hold before anything is judged.
    public var minDecided: Int = 50
    /// False alarms per stage per month the operator accepts on steady traffic: the exact
    /// test's threshold is derived from it (``FalseAlarmBudget``). Ignored when `z` is set.
    public var falseAlarmsPerMonth: Double = 0.5
    /// When set, the older rule instead of the budget: the normal approximation's z must
    /// reach this.
    public var z: Double? = nil
    /// The smallest rise of the give-up rate over the baseline worth an alert.
    public var minDelta: Double = 0.05
    public var webhook: String? = nil
    /// Also judge each persona's instances of a stage on their own (`by_persona`), beside
    /// all of them: a spike among students shows even when the other personas hide it.
    public var byPersona: Bool = false
    public init() {}

    /// The p-value an evaluation must reach under the budget (nil when `z` rules).
    public var level: Double? {
        guard z == nil else { return nil }
        let minutes = max(1, (window.microseconds + 59_999_999) / 60_000_000)
        return FalseAlarmBudget(falseAlarmsPerMonth: falseAlarmsPerMonth, windowMinutes: minutes).level
    }
}

/// One journey: ordered stages, a conversion window, and what counts as a pain point.
public struct JourneyDefinition: Sendable, Equatable {
    public var name: String
    /// How long after entry an instance may still progress; ends it as expired after that.
    public var conversionWindow: TimeSpan
    /// At least two stages, in order.
    public var stages: [StageDefinition]
    public var critical: CriticalRules
    /// How long after a conversion the customer's next instance of the journey may enter and
    /// still count as a return (`repeat_window`; docs/semantics.md, "The repeat loop").
    public var repeatWindow: TimeSpan

    /// A journey; `repeatWindow` nil is the conversion window (the configuration's default).
    public init(
        name: String, conversionWindow: TimeSpan, stages: [StageDefinition], critical: CriticalRules = .init(),
        repeatWindow: TimeSpan? = nil
    ) {
        self.name = name
        self.conversionWindow = conversionWindow
        self.stages = stages
        self.critical = critical
        self.repeatWindow = repeatWindow ?? conversionWindow
    }
}

/// One stage of a journey.
public struct StageDefinition: Sendable, Equatable {
    public var name: String
    /// Event-name patterns; `*` matches any run of characters.
    public var events: [EventPattern]
    /// When set, only events from these touchpoints match the stage.
    public var touchpoints: [String]?
    /// Silence after which an instance waiting at this stage is flagged abandoned; nil: never.
    public var abandonAfter: TimeSpan?
    /// The journey as it should be at this stage (the to-be map); nil: no target.
    public var target: StageTarget?

    public init(
        name: String, events: [EventPattern], touchpoints: [String]? = nil, abandonAfter: TimeSpan? = nil,
        target: StageTarget? = nil
    ) {
        self.name = name
        self.events = events
        self.touchpoints = touchpoints
        self.abandonAfter = abandonAfter
        self.target = target
    }
}

/// What a stage should achieve (`target:` in the configuration): the share of its instances
/// that should reach the next stage, and how soon. The funnel compares against it in
/// `cjm.journey_map` (docs/sql.md). Not a stage of the last kind: the last stage has no next.
public struct StageTarget: Sendable, Equatable {
    /// The wanted step conversion, 0 to 1, as the configuration writes it (`0.45`): kept as
    /// decimal text so that the database computes with exactly that number (as a binary
    /// double, 0.55 × 200 would come to 110.00000000000001, and its ceiling to 111).
    public var stepConversion: String?
    /// The wanted median time from reaching this stage to reaching the next.
    public var medianTimeToNext: TimeSpan?

    public init(stepConversion: String? = nil, medianTimeToNext: TimeSpan? = nil) {
        self.stepConversion = stepConversion
        self.medianTimeToNext = medianTimeToNext
    }
}

/// What makes an event a pain point in an instance.
public struct CriticalRules: Sendable, Equatable {
    public var events: [EventPattern]
    /// Events with sentiment strictly below this are pain points.
    public var sentimentBelow: Double?

    public init(events: [EventPattern] = [], sentimentBelow: Double? = nil) {
        self.events = events
        self.sentimentBelow = sentimentBelow
    }
}
