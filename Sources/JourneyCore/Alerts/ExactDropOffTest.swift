import RealModule

/// The exact test of docs/alerts.md: does a window give up more often than its baseline?
///
/// Fisher's exact test, one-sided. If the window and the baseline shared one give-up rate,
/// then, given how many instances each decided and how many gave up in all, the number that
/// gave up in the window follows a hypergeometric law; the test's p-value is the chance of
/// at least as many as were seen. It is exact at every count (no normal approximation, which
/// is poor at a few dozen decided instances) and it accounts for the baseline being a
/// sample as well, which matters when the baseline is only a few windows long (a seasonal
/// baseline).
public enum ExactDropOffTest {
    /// P(X ≥ `abandoned`) for X hypergeometric: `decided` draws from the
    /// `decided + baselineDecided` decided instances, of which
    /// `abandoned + baselineAbandoned` gave up. 1 when nothing was decided in the window.
    public static func pValue(
        abandoned x: Int64, decided n: Int64, baselineAbandoned x0: Int64, baselineDecided n0: Int64
    ) -> Double {
        precondition(0 <= x && x <= n && 0 <= x0 && x0 <= n0, "counts out of range")
        let population = n + n0
        let gaveUp = x + x0
        let lowest = max(0, n - (population - gaveUp))
        let highest = min(n, gaveUp)
        if x <= lowest { return 1 }
        if x > highest { return 0 }
        // Below the mean the upper tail is most of the mass: 1 − the lower tail, summed
        // downwards from x − 1 where its terms are largest (summing upwards from a term that
        // underflows would give 0).
        if Double(x) * Double(population) <= Double(n) * Double(gaveUp) {
            var term = Double.exp(
                logChoose(gaveUp, x - 1) + logChoose(population - gaveUp, n - x + 1) - logChoose(population, n))
            var below = 0.0
            var k = x - 1
            while true {
                below += term
                if k == lowest { break }
                term *= (Double(k) * Double(population - gaveUp - n + k)) / (Double(gaveUp - k + 1) * Double(n - k + 1))
                if term < below * 1e-17 { break }
                k -= 1
            }
            return max(0, 1 - below)
        }
        // Sum the terms from x upwards; each is the previous one times a ratio, so only the
        // first needs the log-gamma function. Past the mode the terms fall geometrically:
        // stop once they no longer change the sum.
        var term = Double.exp(
            logChoose(gaveUp, x) + logChoose(population - gaveUp, n - x) - logChoose(population, n))
        var sum = 0.0
        var k = x
        while true {
            sum += term
            if k == highest { break }
            let ratio =
                (Double(gaveUp - k) * Double(n - k))
                / (Double(k + 1) * Double(population - gaveUp - n + k + 1))
            term *= ratio
            if ratio < 1 && term < sum * 1e-17 { break }
            k += 1
        }
        return min(1, sum)
    }

    /// log(n choose k).
    static func logChoose(_ n: Int64, _ k: Int64) -> Double {
        logFactorial(n) - logFactorial(k) - logFactorial(n - k)
    }

    static func logFactorial(_ n: Int64) -> Double {
        Double.logGamma(Double(n) + 1)
    }
}
