import Foundation

/// One stage of one journey for one persona: the row of `cjm.funnel_stats`.
public struct FunnelStageKey: Hashable, Sendable {
    public var journey: Int
    public var stageIndex: Int
    /// The persona of the instances, or ``PersonaSettings/all`` for every instance.
    public var persona: String

    public init(journey: Int, stageIndex: Int, persona: String = PersonaSettings.all) {
        self.journey = journey
        self.stageIndex = stageIndex
        self.persona = persona
    }
}

/// Changes to a stage's funnel counters in a batch (added to `cjm.funnel_stats`).
///
/// `cjm.funnel` reads these running totals instead of aggregating every instance, so its
/// cost does not grow with the events (issue 6). Each is maintained exactly, at the moment
/// the instance changes: they always equal what `cjm.funnel_between` counts over all time.
public struct FunnelTally: Sendable, Equatable {
    /// Instances that reached the stage.
    public var reached: Int64 = 0
    /// Customers whose furthest stage in the journey, over all their instances, got here.
    public var customers: Int64 = 0
    /// Instances at the stage (as their furthest) whose status is active / abandoned / expired.
    public var active: Int64 = 0
    public var abandoned: Int64 = 0
    public var expired: Int64 = 0

    public init(reached: Int64 = 0, customers: Int64 = 0, active: Int64 = 0, abandoned: Int64 = 0, expired: Int64 = 0) {
        self.reached = reached
        self.customers = customers
        self.active = active
        self.abandoned = abandoned
        self.expired = expired
    }

    /// Adds one instance (+1) or takes it away (−1) under `status`; converted has no counter.
    mutating func count(_ status: InstanceRecord.Status, _ delta: Int64) {
        switch status {
        case .active: active += delta
        case .abandoned: abandoned += delta
        case .expired: expired += delta
        case .converted: break
        }
    }

    public static func += (lhs: inout FunnelTally, rhs: FunnelTally) {
        lhs.reached += rhs.reached
        lhs.customers += rhs.customers
        lhs.active += rhs.active
        lhs.abandoned += rhs.abandoned
        lhs.expired += rhs.expired
    }
}

/// A bucket of the time from reaching a stage to reaching the next: the row of
/// `cjm.time_to_next`, from which `cjm.funnel` reads its median and 90th percentile.
public struct TimeToNextKey: Hashable, Sendable {
    public var journey: Int
    /// The stage left (the time runs from reaching it to reaching the next one).
    public var stageIndex: Int
    /// See ``DurationBuckets``.
    public var bucket: Int
    /// The persona of the instances, or ``PersonaSettings/all`` for every instance.
    public var persona: String

    public init(journey: Int, stageIndex: Int, bucket: Int, persona: String = PersonaSettings.all) {
        self.journey = journey
        self.stageIndex = stageIndex
        self.bucket = bucket
        self.persona = persona
    }
}

/// Logarithmic buckets of durations in seconds: bucket b ≥ 0 holds [1.01^b − 1, 1.01^(b+1) − 1),
/// and the negative durations a late event can produce mirror them (b < 0). A value read back
/// from its bucket is off by at most 1 % of itself plus 0.01 s, with about 1,750 buckets up
/// to a year. The SQL function `cjm.duration_bucket` computes the same.
public enum DurationBuckets {
    static let logBase = log(1.01)

    /// The bucket of `seconds`. Written as `log(1 + s)`, not `log1p`, because SQL can only
    /// say `ln(1 + s)`: both then round the same way.
    public static func bucket(seconds: Double) -> Int {
        if seconds >= 0 { return Int((log(1 + seconds) / logBase).rounded(.down)) }
        return -1 - Int((log(1 - seconds) / logBase).rounded(.down))
    }

    /// The bucket of a time span.
    public static func bucket(_ span: TimeSpan) -> Int {
        bucket(seconds: Double(span.microseconds) / 1_000_000)
    }
}
