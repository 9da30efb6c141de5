/// Conversion of scanned JSON numbers to Double.
extension JSONScanner {
    /// Exact powers of ten that a Double represents without rounding.
    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// The number as the nearest Double, or nil if it is beyond Double's range.
    ///
    /// Short decimals such as `0.25` or `-0.8` take a fast path that is still correctly
    /// rounded (a mantissa below 2⁵³ divided by an exact power of ten is one IEEE operation);
    /// anything else goes to the standard library's parser.
    func doubleValue(_ token: JSONToken) -> Double? {
        var index = token.start
        let negative = byte(at: index) == UInt8(ascii: "-")
        if negative { index += 1 }
        var mantissa: UInt64 = 0
        var fractionDigits = 0
        var inFraction = false
        var fast = true
        while index < token.end {
            let b = byte(at: index)
            if b == UInt8(ascii: ".") {
                inFraction = true
            } else if Self.isDigit(b) {
                mantissa = mantissa &* 10 &+ UInt64(b - UInt8(ascii: "0"))
                if mantissa > 1 << 53 {
                    fast = false
                    break
                }
                if inFraction { fractionDigits += 1 }
            } else {
                fast = false  // exponent
                break
            }
            index += 1
        }
        if fast && fractionDigits < Self.exactPowersOfTen.count {
            let magnitude = Double(mantissa) / Self.exactPowersOfTen[fractionDigits]
            return negative ? -magnitude : magnitude
        }
        guard let value = Double(String(decoding: rawBytes(token), as: UTF8.self)), value.isFinite else { return nil }
        return value
    }
}
