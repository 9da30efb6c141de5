/// Decisions about instances at one stage during one minute of event time: the unit the
/// drop-off detector counts (docs/alerts.md) and the row of `cjm.stage_decisions`.
public struct StageDecisionKey: Hashable, Sendable {
    public var journey: Int
    /// The stage the instances left, by advancing or by giving up (never the last stage).
    public var stageIndex: Int
    /// Minutes since the epoch: the decisions happened in [minute·60 s, (minute+1)·60 s).
    public var minute: Int64
    /// The instances' persona, or ``PersonaSettings/all`` for every instance (persona rows
    /// exist only with `alerts.by_persona`).
    public var persona: String

    public init(journey: Int, stageIndex: Int, minute: Int64, persona: String = PersonaSettings.all) {
        self.journey = journey
        self.stageIndex = stageIndex
        self.minute = minute
        self.persona = persona
    }
}

/// How many instances advanced from, or were given up at, a stage.
public struct DecisionCounts: Sendable, Equatable {
    /// Instances flagged abandoned at the stage, or that expired there unflagged.
    public var abandoned: Int64 = 0
    /// Instances that advanced from the stage to the next.
    public var advanced: Int64 = 0

    public init(abandoned: Int64 = 0, advanced: Int64 = 0) {
        self.abandoned = abandoned
        self.advanced = advanced
    }

    /// abandoned + advanced.
    public var decided: Int64 { abandoned + advanced }

    public static func + (lhs: DecisionCounts, rhs: DecisionCounts) -> DecisionCounts {
        DecisionCounts(abandoned: lhs.abandoned + rhs.abandoned, advanced: lhs.advanced + rhs.advanced)
    }

    public static func - (lhs: DecisionCounts, rhs: DecisionCounts) -> DecisionCounts {
        DecisionCounts(abandoned: lhs.abandoned - rhs.abandoned, advanced: lhs.advanced - rhs.advanced)
    }

    public static func += (lhs: inout DecisionCounts, rhs: DecisionCounts) { lhs = lhs + rhs }
    public static func -= (lhs: inout DecisionCounts, rhs: DecisionCounts) { lhs = lhs - rhs }
}

extension EventTime {
    /// The minute of event time this instant falls in (minutes since the epoch, floored).
    public var minuteIndex: Int64 {
        let (q, r) = microseconds.quotientAndRemainder(dividingBy: 60_000_000)
        return r < 0 ? q - 1 : q
    }

    /// The start of a minute given by ``minuteIndex``.
    public init(minuteIndex: Int64) { self.init(microseconds: minuteIndex &* 60_000_000) }
}
