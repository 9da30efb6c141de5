/// The drop-off spike detector of docs/alerts.md, in event time.
///
/// For every stage k with an `abandon_after` (``isWatched(stage:of:)``) it counts, per minute
/// of event time, the instances *decided* at k: advanced from it (dated when they reached
/// the next stage), flagged abandoned there (dated when the customer fell silent) or expired
/// there unflagged (dated at the expiry). A give-up is known `abandon_after` after it is
/// dated, so at every minute boundary T that the watermark has passed the stage is judged on
/// the window that is complete by then, [E − window, E) with E = T − abandon_after: the same
/// customers' advances and give-ups, whatever the volume does. It compares that window with
/// its baseline: the span just before it, or the same hours of earlier days or weeks
/// (``AlertBaseline``):
///
/// - nothing is judged before a whole window and baseline of history exist (counted from the
///   first decision): a half-empty baseline at start-up is not a baseline;
/// - it **fires** when the window has at least `min_decided` decided instances, the baseline
///   too, p − p₀ ≥ `min_delta`, and the exact test (``ExactDropOffTest``) finds so many
///   give-ups at most as likely as the level derived from the false-alarm budget
///   (``FalseAlarmBudget``) — or, when `z` is configured, z = (p − p₀)/√(p₀(1 − p₀)/decided)
///   reaches it (a zero baseline rate counts as reaching it);
/// - a firing alert **resolves** once p − p₀ has stayed below `min_delta / 2` (or nothing was
///   decided) at every evaluation for a whole window: the hysteresis keeps a rate that hovers
///   around the threshold from flapping;
/// - while it fires nothing is re-announced.
///
/// Every decision has happened by the time the watermark passes its event time, so the
/// window ending at T is complete when it is evaluated, whatever the batch boundaries:
/// a replay produces the same alerts as live ingestion. A late event can still add a decision
/// to a window already evaluated; it counts for later evaluations only.
///
/// The window and baseline are whole minutes (rounded up). Running sums make an evaluation
/// O(1) per stage and baseline block, and a series is visited only at the minutes where a
/// decision enters or leaves its sums (``StageSeries``), so replaying months of sparse history
/// costs its decisions, not its minutes; the exact test runs only when the rise is large
/// enough to matter.
public struct DropOffDetector: Sendable {
    public let settings: AlertSettings
    private let windowMinutes: Int64
    /// The baseline as blocks of minutes before the evaluation time.
    private let blocks: [BaselineBlock]
    /// How far back an evaluation looks: the oldest block's start.
    private let lookBack: Int64
    /// How many minutes before a judged window's end a bucket changes something: it enters
    /// the window, leaves it, enters or leaves a baseline block, or is forgotten.
    private let edges: [Int64]
    /// The p-value an evaluation must reach (nil: the z rule).
    private let level: Double?
    private var series: [StageSeries]
    /// series index by journey, then stage (nil for the last stage): every instance's.
    private let slots: [[Int?]]
    /// series index of each persona's instances of a stage (`by_persona`), made as personas
    /// appear.
    private var personaSlots: [PersonaSeriesKey: Int] = [:]

    private struct PersonaSeriesKey: Hashable {
        var journey: Int
        var stageIndex: Int
        var persona: String
    }
    /// The last minute boundary evaluated; nil until the first decision is evaluated.
    public private(set) var evaluatedThrough: Int64?
    /// The minute of the first decision ever counted: judging starts a window and a baseline later.
    public private(set) var historyStart: Int64?

    /// Visits every series at every boundary, as before boundaries were skipped: the plain
    /// form the skipping one is tested against.
    var visitsEveryBoundary = false

    private var transitions: [AlertTransition] = []
    private var changedAlerts: [DropOffAlert.Episode: DropOffAlert] = [:]

    /// Creates a detector for the stages of `catalog`, restoring the counts and firing
    /// alerts of a previous run (see ``DropOffDetector/Snapshot``).
    public init(catalog: JourneyCatalog, settings: AlertSettings, restoring snapshot: Snapshot = Snapshot()) {
        self.settings = settings
        self.windowMinutes = max(1, Self.wholeMinutes(settings.window))
        self.blocks = settings.baseline.blocks(windowMinutes: windowMinutes)
        self.lookBack = Self.lookBack(settings)
        self.edges = Array(Set([0, windowMinutes, lookBack] + blocks.flatMap { [$0.start, $0.end] })).sorted()
        self.level = settings.level
        var series: [StageSeries] = []
        var slots: [[Int?]] = []
        for (j, journey) in catalog.journeys.enumerated() {
            var row: [Int?] = []
            for (k, stage) in journey.stages.enumerated() {
                if Self.isWatched(stage: k, of: journey) {
                    row.append(series.count)
                    series.append(
                        StageSeries(
                            journey: j, journeyName: journey.name, stageIndex: k, stageName: stage.name,
                            lag: Self.lag(of: stage)))
                } else {
                    row.append(nil)
                }
            }
            slots.append(row)
        }
        self.series = series
        self.slots = slots
        self.evaluatedThrough = snapshot.evaluatedThrough?.minuteIndex
        self.historyStart = snapshot.historyStart?.minuteIndex
        for (key, counts) in snapshot.decisions {
            guard let slot = slot(key.journey, key.stageIndex, persona: key.persona) else { continue }
            self.series[slot].add(counts, minute: key.minute)
        }
        if let end = evaluatedThrough {
            for slot in self.series.indices {
                let judged = end - self.series[slot].lag
                self.series[slot].resum(through: judged, window: windowMinutes, blocks: blocks, lookBack: lookBack)
            }
        }
        for alert in snapshot.firing where alert.isFiring {
            guard let slot = slot(alert.journey, alert.stageIndex, persona: alert.persona) else { continue }
            self.series[slot].firing = alert
        }
    }

    private static func wholeMinutes(_ span: TimeSpan) -> Int64 {
        (span.microseconds + 59_999_999) / 60_000_000
    }

    /// How many minutes before the end of a judged window its window and baseline reach.
    private static func lookBack(_ settings: AlertSettings) -> Int64 {
        let window = max(1, wholeMinutes(settings.window))
        return settings.baseline.blocks(windowMinutes: window).map(\.start).max() ?? window
    }

    /// Whether the detector judges stage `index` of `journey`: every stage but the last that
    /// has an `abandon_after`. Without one, giving up is known only when the conversion
    /// window ends, weeks later: too late to page anyone, and dated so long after the
    /// customers' visits that every change of traffic would look like a spike.
    public static func isWatched(stage index: Int, of journey: JourneyDefinition) -> Bool {
        index < journey.stages.count - 1 && journey.stages[index].abandonAfter != nil
    }

    /// How long after a stage's decisions happen all of them are known: a give-up is dated
    /// when the customer fell silent and known `abandon_after` later (whole minutes).
    static func lag(of stage: StageDefinition) -> Int64 {
        stage.abandonAfter.map { wholeMinutes($0) } ?? 0
    }

    private func slot(_ journey: Int, _ stage: Int) -> Int? {
        guard journey >= 0, journey < slots.count, stage >= 0, stage < slots[journey].count else { return nil }
        return slots[journey][stage]
    }

    /// The series of `persona`'s instances of a watched stage, made when first needed (nil:
    /// the stage is not watched, or personas are not judged apart).
    private mutating func slot(_ journey: Int, _ stage: Int, persona: String) -> Int? {
        guard let all = slot(journey, stage) else { return nil }
        if persona == PersonaSettings.all { return all }
        guard settings.byPersona else { return nil }
        let key = PersonaSeriesKey(journey: journey, stageIndex: stage, persona: persona)
        if let existing = personaSlots[key] { return existing }
        var fresh = StageSeries(
            journey: journey, journeyName: series[all].journeyName, stageIndex: stage,
            stageName: series[all].stageName, lag: series[all].lag)
        fresh.persona = persona
        series.append(fresh)
        personaSlots[key] = series.count - 1
        return series.count - 1
    }

    // MARK: Input

    /// Counts one decision: an instance at `stage` of `journey` advanced (abandoned: false) or
    /// was given up (abandoned: true) at `time`; of `persona` when personas are judged apart
    /// (counted for every instance as well).
    public mutating func record(
        journey: Int, stage: Int, at time: EventTime, abandoned: Bool, persona: String? = nil
    ) {
        let counts = abandoned ? DecisionCounts(abandoned: 1) : DecisionCounts(advanced: 1)
        record(counts, journey: journey, stage: stage, minute: time.minuteIndex)
        if let persona, settings.byPersona {
            record(counts, journey: journey, stage: stage, minute: time.minuteIndex, persona: persona)
        }
    }

    /// Counts the decisions `counts` made at `stage` of `journey` during minute `minute`
    /// (``EventTime/minuteIndex``) by instances of `persona` (``PersonaSettings/all``: every
    /// instance): the same as recording each of them.
    public mutating func record(
        _ counts: DecisionCounts, journey: Int, stage: Int, minute: Int64, persona: String = PersonaSettings.all
    ) {
        guard counts.decided > 0 else { return }
        // History starts at the oldest decision ever stored, at any stage (watched or not)
        // and late ones included: what a restarted detector reads back from the database.
        if historyStart.map({ minute < $0 }) ?? true {
            historyStart = minute
            // Judging may start sooner: every series is looked at again.
            for slot in series.indices { visitNext(slot) }
        }
        guard let slot = slot(journey, stage, persona: persona) else { return }
        if let evaluated = evaluatedThrough {
            let end = evaluated - series[slot].lag
            // Too old for any window still to be evaluated: it changes nothing any more.
            guard minute >= end - lookBack else { return }
            if minute < end {
                if minute >= end - windowMinutes { series[slot].window += counts }
                for block in blocks where block.contains(minute, evaluatedAt: end) {
                    series[slot].baseline += counts
                }
            }
        }
        series[slot].add(counts, minute: minute)
        visitNext(slot)
    }

    /// Makes the next evaluation visit `slot` at its first boundary: its counts changed.
    private mutating func visitNext(_ slot: Int) {
        series[slot].nextVisit = min(series[slot].nextVisit, (evaluatedThrough ?? Int64.min) &+ 1)
    }

    // MARK: Evaluation

    /// Evaluates every minute boundary up to the watermark (boundaries T ≤ `watermark`: every
    /// decision before T has been counted).
    public mutating func evaluate(through watermark: EventTime) {
        guard watermark > .distantPast else { return }
        let target = watermark.minuteIndex
        if evaluatedThrough == nil || historyStart == nil {
            // Start at the first minute that holds a decision: nothing before it can fire.
            guard let first = series.compactMap(\.oldestMinute).min() else { return }
            if evaluatedThrough == nil {
                guard first <= target else { return }
                evaluatedThrough = first
            }
            historyStart = historyStart.map { min($0, first) } ?? first
            for slot in series.indices { series[slot].nextVisit = Int64.min }
        }
        let judgedFrom = (historyStart ?? Int64.max - lookBack) + lookBack
        guard var boundary = evaluatedThrough, boundary < target else { return }
        while boundary < target {
            // Boundaries no series needs are skipped: they would change no sum and fire nothing
            // (StageSeries).
            var next = target
            for slot in series.indices where series[slot].nextVisit < next {
                next = max(series[slot].nextVisit, boundary + 1)
            }
            boundary = next
            for slot in series.indices where series[slot].nextVisit <= boundary {
                // A stage's window ends `lag` before the evaluation: its give-ups are known by then.
                let judged = boundary - series[slot].lag
                series[slot].step(to: judged, window: windowMinutes, blocks: blocks, lookBack: lookBack)
                if judged >= judgedFrom { judge(slot, at: boundary, windowEnd: judged) }
                series[slot].nextVisit =
                    visitsEveryBoundary
                    ? boundary + 1 : series[slot].nextChange(after: boundary, offsets: edges, judgedFrom: judgedFrom)
            }
        }
        evaluatedThrough = target
    }

    private mutating func judge(_ slot: Int, at boundary: Int64, windowEnd: Int64) {
        let s = series[slot]
        let now = EventTime(minuteIndex: boundary)
        let n = s.window.decided
        let n0 = s.baseline.decided
        let p = n > 0 ? Double(s.window.abandoned) / Double(n) : 0
        let p0 = n0 > 0 ? Double(s.baseline.abandoned) / Double(n0) : 0
        let delta = p - p0
        if var alert = s.firing {
            let calm = n == 0 || delta < settings.minDelta / 2
            if !calm {
                if alert.calmSince != nil {
                    alert.calmSince = nil
                    series[slot].firing = alert
                    changedAlerts[alert.episode] = alert
                }
                return
            }
            let since = alert.calmSince ?? now
            if now - since >= TimeSpan(microseconds: windowMinutes * 60_000_000) {
                alert.resolvedAt = now
                alert.calmSince = since
                series[slot].firing = nil
                changedAlerts[alert.episode] = alert
                transitions.append(.resolved(alert))
            } else if alert.calmSince == nil {
                alert.calmSince = since
                series[slot].firing = alert
                changedAlerts[alert.episode] = alert
            }
            return
        }
        guard n >= settings.minDecided, n0 >= settings.minDecided, delta >= settings.minDelta else { return }
        let z: Double? = p0 > 0 && p0 < 1 ? delta / (p0 * (1 - p0) / Double(n)).squareRoot() : nil
        let pValue = ExactDropOffTest.pValue(
            abandoned: s.window.abandoned, decided: n, baselineAbandoned: s.baseline.abandoned, baselineDecided: n0)
        if let level {
            if pValue > level { return }
        } else if let threshold = settings.z, let z, z < threshold {
            return
        }
        let alert = DropOffAlert(
            journey: s.journey, journeyName: s.journeyName, stageIndex: s.stageIndex, stageName: s.stageName,
            windowStart: EventTime(minuteIndex: windowEnd - windowMinutes),
            windowEnd: EventTime(minuteIndex: windowEnd),
            decided: Int(n),
            abandoned: Int(s.window.abandoned), rate: p, baselineRate: p0, baselineDecided: Int(n0), z: z,
            pValue: pValue,
            firedAt: now, persona: s.persona)
        series[slot].firing = alert
        changedAlerts[alert.episode] = alert
        transitions.append(.fired(alert))
    }

    // MARK: Output

    /// Alerts fired or resolved since the last call, in order.
    public mutating func takeTransitions() -> [AlertTransition] {
        defer { transitions = [] }
        return transitions
    }

    /// The latest state of every alert that changed since the last call (fired, resolved, or
    /// its calm period started or ended): what the store upserts.
    public mutating func takeChangedAlerts() -> [DropOffAlert] {
        defer { changedAlerts = [:] }
        return changedAlerts.values.sorted {
            if ($0.firedAt, $0.journey, $0.stageIndex) != ($1.firedAt, $1.journey, $1.stageIndex) {
                return ($0.firedAt, $0.journey, $0.stageIndex) < ($1.firedAt, $1.journey, $1.stageIndex)
            }
            return $0.persona.utf8.lexicographicallyPrecedes($1.persona.utf8)
        }
    }

    /// The alerts firing now.
    public var firingAlerts: [DropOffAlert] { series.compactMap(\.firing) }

    /// Counts of the current window and baseline of a stage (for tests and diagnostics).
    public func currentCounts(journey: Int, stage: Int) -> (window: DecisionCounts, baseline: DecisionCounts)? {
        guard let slot = slot(journey, stage) else { return nil }
        return (series[slot].window, series[slot].baseline)
    }

    /// What a restarted detector needs: the decisions that later evaluations still look at,
    /// the alerts still firing, and how far evaluation had come.
    public struct Snapshot: Sendable {
        public var decisions: [(StageDecisionKey, DecisionCounts)] = []
        public var firing: [DropOffAlert] = []
        public var evaluatedThrough: EventTime? = nil
        /// Time of the first decision ever counted (see ``DropOffDetector/historyStart``).
        public var historyStart: EventTime? = nil
        public init() {}
    }

    /// The oldest minute a restarted detector needs decisions from.
    public static func oldestMinuteNeeded(
        evaluatedThrough: EventTime, settings: AlertSettings, catalog: JourneyCatalog
    ) -> Int64 {
        let lags = catalog.journeys.flatMap { $0.stages.map(lag(of:)) }
        return evaluatedThrough.minuteIndex - lookBack(settings) - (lags.max() ?? 0)
    }
}
