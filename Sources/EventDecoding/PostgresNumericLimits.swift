/// What PostgreSQL's `numeric` can hold, since `jsonb` stores every JSON number as `numeric` and
/// one number it refuses fails the whole `COPY` of a batch.
///
/// PostgreSQL 15 refuses more than 131072 digits before the decimal point (a base-10000 weight
/// above 32767) and more than 16383 after it (display scale), and PostgreSQL before 15 refused
/// exponents beyond ±1000 outright. A number in `properties` beyond any of these makes the
/// event `invalid_field`. The limits are slightly conservative (leading zeros count against
/// the exponent check), which only matters for numbers no real payload carries.
enum PostgresNumericLimits {
    /// A number with fewer characters than this and no exponent always fits.
    static let longestAlwaysStorable = 16_000

    static let maxDigitsBeforePoint = 131_072
    static let maxDigitsAfterPoint = 16_383
    static let maxExponentMagnitude = 1000

    /// Whether the number in `start..<end` (already checked against the JSON grammar) fits.
    /// `integerEnd` is where the integer part ends, `fractionEnd` where the fraction ends.
    static func canStore(_ scanner: JSONScanner, start: Int, integerEnd: Int, fractionEnd: Int, end: Int) -> Bool {
        var digitsStart = start
        if scanner.byte(at: digitsStart) == UInt8(ascii: "-") { digitsStart += 1 }
        let integerDigits = integerEnd - digitsStart
        let fractionDigits = fractionEnd > integerEnd ? fractionEnd - integerEnd - 1 : 0

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
                if exponent > maxExponentMagnitude { return false }
                index += 1
            }
            if negative { exponent = -exponent }
        }
        let scale = max(0, fractionDigits - exponent)
        let digitsBefore = integerDigits + exponent
        return scale <= maxDigitsAfterPoint && digitsBefore <= maxDigitsBeforePoint
    }
}
