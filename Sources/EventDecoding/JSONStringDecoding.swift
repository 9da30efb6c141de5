/// Turns a scanned JSON string (a ``JSONToken`` of kind `.string`) into its UTF-8 bytes.
extension JSONScanner {
    /// The raw bytes of a token, as they are in the line.
    @inline(__always) func rawBytes(_ token: JSONToken) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + token.start, count: token.count)
    }

    /// The decoded UTF-8 bytes of a string token with escapes. The scanner has already checked
    /// every escape (including surrogate pairs), so decoding cannot fail.
    func unescapedBytes(_ token: JSONToken) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(token.count)
        var index = token.start
        while index < token.end {
            let b = byte(at: index)
            guard b == UInt8(ascii: "\\") else {
                out.append(b)
                index += 1
                continue
            }
            let code = byte(at: index + 1)
            index += 2
            switch code {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = UInt32(hexUnitUnchecked(at: index))
                index += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    let low = UInt32(hexUnitUnchecked(at: index + 2))
                    index += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                appendUTF8(scalar, to: &out)
            default: out.append(code)  // " \ /
            }
        }
        return out
    }

    private func hexUnitUnchecked(at index: Int) -> UInt16 {
        var unit: UInt16 = 0
        for k in 0..<4 { unit = unit << 4 | UInt16(Self.hexValue(byte(at: index + k)) ?? 0) }
        return unit
    }

    private func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case ..<0x80:
            out.append(UInt8(scalar))
        case ..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6))
            out.append(UInt8(0x80 | scalar & 0x3F))
        case ..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18))
            out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Calls `body` with the decoded bytes of a string token: the line's own bytes when the
    /// string has no escapes (the common case, no copy), a decoded copy otherwise.
    func withStringBytes<R>(_ token: JSONToken, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if !token.hasEscapes { return try body(rawBytes(token)) }
        return try unescapedBytes(token).withUnsafeBytes(body)
    }
}
