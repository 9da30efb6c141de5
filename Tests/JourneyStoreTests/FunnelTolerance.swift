import JourneyCore
import JourneyStore

/// How close `cjm.funnel` (running totals, bucketed durations) must be to an exact count.
enum FunnelTolerance {
    /// The documented bound of a bucketed percentile: 1 % of the value plus 0.01 s (with a
    /// hair of floating-point slack).
    static func percentileMatches(_ bucketed: Double, exact: Double) -> Bool {
        abs(bucketed - exact) <= 0.01 * (1 + abs(exact)) * 1.000001
    }

    /// Averages of doubles summed in another grouping differ in their last bits.
    static func averagesMatch(_ a: Double?, _ b: Double?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case (let x?, let y?): abs(x - y) <= 1e-9 * max(1, abs(y))
        default: false
        }
    }

    static func percentilesMatch(_ a: Double?, _ b: Double?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case (let x?, let y?): percentileMatches(x, exact: y)
        default: false
        }
    }

    /// Every column equal, but percentiles within the bucket bound and averages within 1e-9.
    static func sameExceptBucketedPercentiles(_ fast: FunnelRow, _ exact: FunnelRow) -> Bool {
        var a = fast
        var b = exact
        guard percentilesMatch(a.medianTimeToNext, b.medianTimeToNext),
            percentilesMatch(a.p90TimeToNext, b.p90TimeToNext),
            averagesMatch(a.avgSentiment, b.avgSentiment)
        else { return false }
        a.medianTimeToNext = nil
        b.medianTimeToNext = nil
        a.p90TimeToNext = nil
        b.p90TimeToNext = nil
        a.avgSentiment = nil
        b.avgSentiment = nil
        // The same sum may read `0` from the running totals and `0.000000` from the instances.
        guard DecimalText(json: a.revenue) == DecimalText(json: b.revenue) else { return false }
        a.revenue = b.revenue
        return a == b
    }
}
