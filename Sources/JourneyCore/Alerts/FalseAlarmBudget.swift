import RealModule

/// From a false-alarm budget to the p-value an evaluation must reach (docs/alerts.md,
/// "How the budget becomes a threshold").
///
/// The detector tests every stage at every minute, on windows that overlap all but one
/// minute, so one noisy hour is seen by many evaluations at once. With α the chance that one
/// evaluation of a steady stage fires, the expected number of false episodes in a month of
/// M minutes is at most the smaller of two bounds:
///
/// - every episode starts with a firing evaluation: M · α;
/// - a window sum evaluated continuously has correlation 1 − τ/W between evaluations τ
///   apart, and such a process crosses a high level u at the rate u² Ψ(u) / W per minute
///   (Pickands' constant is 1 for this correlation; Ψ is the normal upper tail and u its
///   normal equivalent: Ψ(u) = α): (M / W) · u² · α.
///
/// The second is no loose bound: on simulated binomial traffic it predicts the measured rate
/// within a factor of 1.5 (docs/alerts.md). Real traffic is noisier than independent
/// customers — a bot, a campaign, a shared outage make give-ups arrive together — so the
/// level spends only ``noiseShare`` of the budget on binomial noise and keeps the rest as
/// the margin for that. The level is the largest α whose bound is within that share.
public struct FalseAlarmBudget: Sendable, Equatable {
    /// The month the budget is stated per: 30 days.
    public static let monthMinutes: Double = 30 * 24 * 60
    /// The share of the budget binomial noise may use.
    public static let noiseShare = 0.25

    /// Accepted false alarms per stage per month.
    public let falseAlarmsPerMonth: Double
    /// The window, in whole minutes.
    public let windowMinutes: Int64

    public init(falseAlarmsPerMonth: Double, windowMinutes: Int64) {
        precondition(falseAlarmsPerMonth > 0 && windowMinutes > 0)
        self.falseAlarmsPerMonth = falseAlarmsPerMonth
        self.windowMinutes = windowMinutes
    }

    /// The false episodes per month that binomial noise causes at a per-evaluation level α.
    public func falseAlarmsPerMonth(atLevel alpha: Double) -> Double {
        let u = Self.normalEquivalent(ofTail: alpha)
        let everyEvaluation = Self.monthMinutes * alpha
        let crossings = Self.monthMinutes / Double(windowMinutes) * u * u * alpha
        return min(everyEvaluation, crossings)
    }

    /// The highest level cjmd uses, whatever the budget: past it a window that fires says
    /// little, and the crossing rate stops growing with α (it peaks near α = 0.12, where u
    /// is about 1), so it would no longer bound anything.
    public static let maximumLevel = 0.01

    /// The largest per-evaluation level, at most ``maximumLevel``, whose noise-only rate
    /// stays within the budget's ``noiseShare``.
    public var level: Double {
        // Below the maximum the bound grows with α: bisect on log α.
        var low = -60.0
        var high = Double.log(Self.maximumLevel)
        if falseAlarmsPerMonth(atLevel: Self.maximumLevel) <= falseAlarmsPerMonth * Self.noiseShare {
            return Self.maximumLevel
        }
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if falseAlarmsPerMonth(atLevel: .exp(middle)) <= falseAlarmsPerMonth * Self.noiseShare {
                low = middle
            } else {
                high = middle
            }
        }
        return .exp(low)
    }

    /// The normal-equivalent z of the level: what a z threshold would have to be.
    public var equivalentZ: Double { Self.normalEquivalent(ofTail: level) }

    /// Ψ(u) = P(N(0,1) ≥ u).
    public static func normalTail(_ u: Double) -> Double {
        Double.erfc(u / 2.0.squareRoot()) / 2
    }

    /// u with Ψ(u) = `tail` (0 < tail ≤ 0.5).
    public static func normalEquivalent(ofTail tail: Double) -> Double {
        var low = 0.0
        var high = 40.0
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if normalTail(middle) > tail { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }
}
