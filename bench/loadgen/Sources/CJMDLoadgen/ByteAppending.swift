/// Appending text to a byte buffer without going through `String`: the generator writes
/// over a hundred thousand lines a second and must not be the bottleneck it measures.
extension Array where Element == UInt8 {
    /// Appends the decimal digits of a non-negative integer, left-padded with zeros to `width`.
    mutating func appendDecimal(_ value: Int, width: Int = 0) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = Swift.max(value, 0)
        Swift.withUnsafeMutableBytes(of: &digits) { scratch in
            repeat {
                scratch[count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0 && count < 20
        }
        if width > count {
            append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - count))
        }
        Swift.withUnsafeBytes(of: &digits) { scratch in
            for index in stride(from: count - 1, through: 0, by: -1) { append(scratch[index]) }
        }
    }

    /// Appends the UTF-8 bytes of a string.
    mutating func appendText(_ text: String) {
        append(contentsOf: text.utf8)
    }
}
