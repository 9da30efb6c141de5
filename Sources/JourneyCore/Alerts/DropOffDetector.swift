/// The drop-off spike detector of docs/alerts.md, in event time.
///
/// For every stage k but the last it counts, per minute of event time, the instances
/// *decided* at k: flagged abandoned there (or expired there unflagged) or advanced from it.
/// At every minute boundary T that the watermark has passed it compares the last `window`,
/// [T − window, T), with the `baseline` just before it, [T − window − baseline, T − window):
///
/// - nothing is judged before a whole window and baseline of history exist (counted from the
///   first decision): a half-empty baseline at start-up is not a baseline;
/// - it **fires** when the window has at least `min_decided` decided instances, the baseline
///   too (a baseline rate from a handful of instances is noise), p − p₀ ≥ `min_delta`, and
///   z = (p − p₀)/√(p₀(1 − p₀)/decided) ≥ `z` (a zero baseline rate counts as exceeding it);
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
/// O(1) per stage, so replaying months of history evaluates every minute cheaply.
public struct DropOffDetector: Sendable {
    public let settings: AlertSettings
    private let windowMinutes: Int64
    private let baselineMinutes: Int64
    private var series: [StageSeries]
    /// series index by journey, then stage (nil for the last stage).
    private let slots: [[Int?]]
    /// The last minute boundary evaluated; nil until the first decision is evaluated.
    public private(set) var evaluatedThrough: Int64?
    /// The minute of the first decision ever counted: judging starts a window and a baseline later.
    public private(set) var historyStart: Int64?

    private var transitions: [AlertTransition] = []
    private var changedAlerts: [DropOffAlert.Episode: DropOffAlert] = [:]

    /// Creates a detector for the stages of `catalog`, restoring the counts and firing
    /// alerts of a previous run (see ``DropOffDetector/Snapshot``).
    public init(catalog: JourneyCatalog, settings: AlertSettings, restoring snapshot: Snapshot = Snapshot()) {
        self.settings = settings
        self.windowMinutes = max(1, Self.wholeMinutes(settings.window))
        self.baselineMinutes = max(1, Self.wholeMinutes(settings.baseline))
        var series: [StageSeries] = []
        var slots: [[Int?]] = []
        for (j, journey) in catalog.journeys.enumerated() {
            var row: [Int?] = []
            for (k, stage) in journey.stages.enumerated() {
                if k < journey.stages.count - 1 {
                    row.append(series.count)
                    series.append(
                        StageSeries(journey: j, journeyName: journey.name, stageIndex: k, stageName: stage.name))
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
            guard let slot = slot(key.journey, key.stageIndex) else { continue }
            addToBuckets(slot, minute: key.minute, counts)
        }
        if let end = evaluatedThrough {
            for slot in self.series.indices {
                self.series[slot].resum(through: end, window: windowMinutes, baseline: baselineMinutes)
            }
        }
        for alert in snapshot.firing where alert.isFiring {
            guard let slot = slot(alert.journey, alert.stageIndex) else { continue }
            self.series[slot].firing = alert
        }
    }

    private static func wholeMinutes(_ span: TimeSpan) -> Int64 {
        (span.microseconds + 59_999_999) / 60_000_000
    }

    private func slot(_ journey: Int, _ stage: Int) -> Int? {
        guard journey >= 0, journey < slots.count, stage >= 0, stage < slots[journey].count else { return nil }
        return slots[journey][stage]
    }

    // MARK: Input

    /// Counts one decision: an instance at `stage` of `journey` advanced (abandoned: false) or
    /// was given up (abandoned: true) at `time`.
    public mutating func record(journey: Int, stage: Int, at time: EventTime, abandoned: Bool) {
        guard let slot = slot(journey, stage) else { return }
        let counts = abandoned ? DecisionCounts(abandoned: 1) : DecisionCounts(advanced: 1)
        let minute = time.minuteIndex
        // History starts at the oldest decision ever stored, late ones included, which is
        // what a restarted detector reads back from the database.
        if let start = historyStart, minute < start { historyStart = minute }
        if let end = evaluatedThrough {
            // Too old for any window still to be evaluated: it changes nothing any more.
            guard minute >= end - windowMinutes - baselineMinutes else { return }
            if minute < end {
                if minute >= end - windowMinutes {
                    series[slot].window += counts
                } else {
                    series[slot].baseline += counts
                }
            }
        }
        addToBuckets(slot, minute: minute, counts)
    }

    private mutating func addToBuckets(_ slot: Int, minute: Int64, _ counts: DecisionCounts) {
        series[slot].buckets[minute, default: DecisionCounts()] += counts
    }

    // MARK: Evaluation

    /// Evaluates every minute boundary up to the watermark (boundaries T ≤ `watermark`: every
    /// decision before T has been counted).
    public mutating func evaluate(through watermark: EventTime) {
        guard watermark > .distantPast else { return }
        let target = watermark.minuteIndex
        if evaluatedThrough == nil || historyStart == nil {
            // Start at the first minute that holds a decision: nothing before it can fire.
            guard let first = series.compactMap({ $0.buckets.keys.min() }).min() else { return }
            if evaluatedThrough == nil {
                guard first <= target else { return }
                evaluatedThrough = first
            }
            historyStart = historyStart.map { min($0, first) } ?? first
        }
        let judgedFrom = (historyStart ?? Int64.max - windowMinutes - baselineMinutes) + windowMinutes + baselineMinutes
        guard var boundary = evaluatedThrough, boundary < target else { return }
        while boundary < target {
            boundary += 1
            for slot in series.indices {
                series[slot].step(to: boundary, window: windowMinutes, baseline: baselineMinutes)
                if boundary >= judgedFrom { judge(slot, at: boundary) }
            }
        }
        evaluatedThrough = target
    }

    private mutating func judge(_ slot: Int, at boundary: Int64) {
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
        if let z, z < settings.z { return }
        let alert = DropOffAlert(
            journey: s.journey, journeyName: s.journeyName, stageIndex: s.stageIndex, stageName: s.stageName,
            windowStart: EventTime(minuteIndex: boundary - windowMinutes), windowEnd: now, decided: Int(n),
            abandoned: Int(s.window.abandoned), rate: p, baselineRate: p0, baselineDecided: Int(n0), z: z, firedAt: now)
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
            ($0.firedAt, $0.journey, $0.stageIndex) < ($1.firedAt, $1.journey, $1.stageIndex)
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
    public static func oldestMinuteNeeded(evaluatedThrough: EventTime, settings: AlertSettings) -> Int64 {
        evaluatedThrough.minuteIndex - max(1, wholeMinutes(settings.window)) - max(1, wholeMinutes(settings.baseline))
    }
}

/// Per-stage minute buckets with running sums for the window and the baseline ending at the
/// last evaluated boundary.
private struct StageSeries: Sendable {
    let journey: Int
    let journeyName: String
    let stageIndex: Int
    let stageName: String
    var buckets: [Int64: DecisionCounts] = [:]
    var window = DecisionCounts()
    var baseline = DecisionCounts()
    var firing: DropOffAlert?

    init(journey: Int, journeyName: String, stageIndex: Int, stageName: String) {
        self.journey = journey
        self.journeyName = journeyName
        self.stageIndex = stageIndex
        self.stageName = stageName
    }

    /// Moves the sums from boundary `end − 1` to `end`: minute end−1 enters the window, the
    /// window's oldest minute moves into the baseline, the baseline's oldest drops out.
    mutating func step(to end: Int64, window w: Int64, baseline b: Int64) {
        if let entering = buckets[end - 1] { window += entering }
        if let moving = buckets[end - 1 - w] {
            window -= moving
            baseline += moving
        }
        if let leaving = buckets.removeValue(forKey: end - 1 - w - b) { baseline -= leaving }
    }

    /// Recomputes the sums for boundary `end` from the buckets (after a restore).
    mutating func resum(through end: Int64, window w: Int64, baseline b: Int64) {
        window = DecisionCounts()
        baseline = DecisionCounts()
        for (minute, counts) in buckets {
            if minute < end - w - b {
                buckets[minute] = nil
            } else if minute < end - w {
                baseline += counts
            } else if minute < end {
                window += counts
            }
        }
    }
}
