/// What PostgreSQL's `numeric` can hold, since `jsonb` stores every JSON number as `numeric` and
/// one number it refuses ("value overflows numeric format") fails the whole `COPY` of a batch.
///
/// PostgreSQL 15 (checked against a live server) refuses a number whose integer part has more
/// than 131072 digits (`1e131071` fits, `1e131072` does not) or whose display scale — digits
/// written after the point, minus the exponent — exceeds 16383 (`1e-16383` fits, `1e-16384`
/// and even `0e-16384` do not). A number in `properties` beyond either makes the event
/// `invalid_field`.
enum PostgresNumericLimits {
    /// A number with fewer characters than this and no exponent always fits.
    static let longestAlwaysStorable = 16_000

    static let maxDigitsBeforePoint = 131_072
    static let maxDigitsAfterPoint = 16_383
    /// Exponents are read up to this magnitude; beyond it no number of digits in a line of any
    /// sane length can bring the value back into range, so it is refused without more arithmetic.
    static let exponentCap = 10_000_000

    /// Whether the number in `start..<end` (already checked against the JSON grammar) fits.
    /// `integerEnd` is where the integer part ends, `fractionEnd` where the fraction ends.
    static func canStore(_ scanner: JSONScanner, start: Int, integerEnd: Int, fractionEnd: Int, end: Int) -> Bool {
        var digitsStart = start
        if scanner.byte(at: digitsStart) == UInt8(ascii: "-") { digitsStart += 1 }
        let integerDigits = integerEnd - digitsStart
        let fractionStart = integerEnd + 1  // after "."
        let fractionDigits = fractionEnd > integerEnd ? fractionEnd - fractionStart : 0

        var exponent = 0
        if fractionEnd < end {
            var index = fractionEnd + 1  // after "e"
            var negative = false
            let sign = scanner.byte(at: index)
            if sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
                negative = sign == UInt8(ascii: "-")
                index += 1
            }
            while index < end {
                exponent = exponent * 10 + Int(scanner.byte(at: index) - UInt8(ascii: "0"))
                if exponent > exponentCap { return false }
                index += 1
            }
            if negative { exponent = -exponent }
        }
        guard fractionDigits - exponent <= maxDigitsAfterPoint else { return false }

        // The integer part's length is set by the first non-zero digit; a zero has none.
        var firstNonZero: Int? = nil  // position among all digits, integer part first
        for k in 0..<integerDigits where scanner.byte(at: digitsStart + k) != UInt8(ascii: "0") {
            firstNonZero = k
            break
        }
        if firstNonZero == nil {
            for k in 0..<fractionDigits where scanner.byte(at: fractionStart + k) != UInt8(ascii: "0") {
                firstNonZero = integerDigits + k
                break
            }
        }
        guard let firstNonZero else { return true }
        let digitsBeforePoint = integerDigits - firstNonZero + exponent
        return digitsBeforePoint <= maxDigitsBeforePoint
    }
}
