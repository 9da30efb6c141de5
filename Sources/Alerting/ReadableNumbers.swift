/// Fixed-point formatting for the human-readable alert summary, without Foundation's
/// locale-dependent formatters (a summary must read the same on every host).
enum ReadableNumbers {
    /// `0.4231` → `42.3%`.
    static func percent(_ fraction: Double) -> String {
        fixed(fraction * 100, decimals: 1) + "%"
    }

    /// `value` rounded to `decimals` places, e.g. `fixed(5.126, decimals: 2)` → `5.13`.
    static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        // Beyond 2^53 the fraction carries no information; print the plain value instead.
        guard scaled < 9_007_199_254_740_992 else { return String(value) }
        let units = Int64(scaled)
        let divisor = Int64(scale)
        let sign = value < 0 && units != 0 ? "-" : ""
        guard decimals > 0 else { return sign + String(units) }
        let fractionDigits = String(units % divisor)
        let padding = String(repeating: "0", count: decimals - fractionDigits.count)
        return "\(sign)\(units / divisor).\(padding)\(fractionDigits)"
    }
}
