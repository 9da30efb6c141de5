/// Strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
enum UTF8Validation {
    /// The offset of the first byte that starts an invalid sequence, or nil if all is valid.
    ///
    /// Most lines are ASCII, so eight bytes are checked at a time until a non-ASCII byte shows up.
    static func firstInvalidOffset(_ base: UnsafeRawPointer, count: Int) -> Int? {
        var i = 0
        while i < count {
            if i + 8 <= count {
                let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if word & 0x8080_8080_8080_8080 == 0 {
                    i += 8
                    continue
                }
            }
            let lead = base.load(fromByteOffset: i, as: UInt8.self)
            if lead < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var secondLow: UInt8 = 0x80
            var secondHigh: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                secondLow = 0xA0  // below is overlong
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED:
                length = 3
                secondHigh = 0x9F  // above are UTF-16 surrogates
            case 0xF0:
                length = 4
                secondLow = 0x90  // below is overlong
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                secondHigh = 0x8F  // above is beyond U+10FFFF
            default: return i
            }
            guard i + length <= count else { return i }
            let second = base.load(fromByteOffset: i + 1, as: UInt8.self)
            guard second >= secondLow, second <= secondHigh else { return i }
            var k = 2
            while k < length {
                guard base.load(fromByteOffset: i + k, as: UInt8.self) & 0xC0 == 0x80 else { return i }
                k += 1
            }
            i += length
        }
        return nil
    }
}
