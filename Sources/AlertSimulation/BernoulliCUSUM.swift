import Foundation
import JourneyCore

/// The control chart the alert simulation measures beside cjmd's window test (docs/alerts.md,
/// "Why a window test"): a Bernoulli CUSUM per stage over the same dated decisions.
///
/// S ← max(0, S + a·ln(p₁/p₀) + d·ln((1 − p₁)/(1 − p₀))) per minute with a give-ups and d
/// advances, p₀ the preceding baseline's rate and p₁ = p₀ + `shift`; it fires when S ≥ h. The
/// log-likelihood-ratio CUSUM has an in-control average run length of at least e^h decisions,
/// so h = ln(N / budget), with N the decisions a month holds at the baseline's volume, keeps
/// false alarms within the budget. After firing it restarts from 0 and stays quiet for a window.
struct BernoulliCUSUM {
    var shift: Double
    var falseAlarmsPerMonth: Double
    var baselineMinutes: Int
    var quietMinutes: Int
    var minDecided: Int

    /// The minutes (indexes into `decisions`) at which it fires, judging minute i's
    /// decisions at index i (the caller shifts give-ups by abandon_after, as the daemon does).
    func alarms(_ decisions: [DecisionCounts], judgedFrom first: Int) -> [Int] {
        var alarms: [Int] = []
        var statistic = 0.0
        var baseline = DecisionCounts()
        var quietUntil = 0
        for (minute, counts) in decisions.enumerated() {
            defer {
                baseline += counts
                if minute >= baselineMinutes { baseline -= decisions[minute - baselineMinutes] }
            }
            guard minute >= first, baseline.decided >= Int64(minDecided) else { continue }
            let p0 = min(max(Double(baseline.abandoned) / Double(baseline.decided), 0.001), 0.999)
            let p1 = min(p0 + shift, 0.999)
            let monthly = Double(baseline.decided) * (30 * 1440) / Double(baselineMinutes)
            let threshold = log(max(monthly, 1) / falseAlarmsPerMonth)
            statistic = max(
                0,
                statistic + Double(counts.abandoned) * log(p1 / p0) + Double(counts.advanced) * log((1 - p1) / (1 - p0))
            )
            if statistic >= threshold, minute >= quietUntil {
                alarms.append(minute)
                statistic = 0
                quietUntil = minute + quietMinutes
            }
        }
        return alarms
    }
}
