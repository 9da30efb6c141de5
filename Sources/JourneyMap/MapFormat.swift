/// How the map writes its numbers: the one set of rules the renderer uses and the tests
/// compare with, so that each number on the page is the view's value, rounded as stated.
public enum MapFormat {
    /// A count with thin groups: `12,345`.
    public static func count(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (offset, digit) in digits.enumerated() {
            if offset > 0 && (digits.count - offset) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return value < 0 ? "-" + grouped : grouped
    }

    /// A share as a percentage with one decimal: `45.3 %`; `–` for none.
    public static func percent(_ share: Double?) -> String {
        guard let share, share.isFinite else { return "–" }
        return fixed(share * 100, decimals: 1) + " %"
    }

    /// A duration in its largest sensible unit: `45 s`, `12.5 min`, `3.2 h`, `2.1 d`; `–` for none.
    public static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "–" }
        let magnitude = abs(seconds)
        if magnitude < 60 { return fixed(seconds, decimals: 0) + " s" }
        if magnitude < 3600 { return fixed(seconds / 60, decimals: 1) + " min" }
        if magnitude < 86_400 { return fixed(seconds / 3600, decimals: 1) + " h" }
        return fixed(seconds / 86_400, decimals: 1) + " d"
    }

    /// A sentiment (−1 … 1) with its sign: `+0.42`, `-0.10`; `–` for none.
    public static func sentiment(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        let text = fixed(value, decimals: 2)
        return text.hasPrefix("-") ? text : "+" + text
    }

    /// Decimal text (as PostgreSQL's numeric prints it) to two decimals, half away from
    /// zero, digit by digit, so that no binary rounding enters: `1234.565` → `1,234.57`.
    public static func money(_ decimalText: String?) -> String {
        guard let decimalText, !decimalText.isEmpty else { return "–" }
        var text = Substring(decimalText)
        let negative = text.hasPrefix("-")
        if negative { text = text.dropFirst() }
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, whole.allSatisfy(\.isNumber) else { return decimalText }
        var fraction = Array(parts.count > 1 ? parts[1] : "")
        guard fraction.allSatisfy(\.isNumber) else { return decimalText }
        while fraction.count < 3 { fraction.append("0") }
        var digits = Array(whole.isEmpty ? "0" : whole) + fraction[0..<2]
        if let third = fraction[2].wholeNumberValue, third >= 5 {
            var index = digits.count - 1
            while true {
                if digits[index] == "9" {
                    digits[index] = "0"
                    if index == 0 {
                        digits.insert("1", at: 0)
                        break
                    }
                    index -= 1
                } else {
                    digits[index] = Character(String(digits[index].wholeNumberValue! + 1))
                    break
                }
            }
        }
        let integer = String(digits.dropLast(2))
        let cents = String(digits.suffix(2))
        let grouped = count(Int64(integer) ?? 0)
        let isZero = (Int64(integer) ?? 0) == 0 && cents == "00"
        return (negative && !isZero ? "-" : "") + grouped + "." + cents
    }

    /// `value` with exactly `decimals` decimals, rounded half away from zero.
    static func fixed(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        let negative = value < 0 && scaled > 0
        let whole = Int64(scaled / scale)
        var text = String(whole)
        if decimals > 0 {
            let remainder = Int64(scaled) - whole * Int64(scale)
            let fraction = String(remainder)
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return negative ? "-" + text : text
    }
}
