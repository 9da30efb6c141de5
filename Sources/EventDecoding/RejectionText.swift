import JourneyCore

/// How values from a line appear in rejection details: short, quoted, and safe to store as text.
enum RejectionText {
    /// Longest excerpt of a value quoted in a detail, in bytes.
    static let excerptBytes = 64

    /// A string value as a JSON-style quoted excerpt; control characters are escaped and long
    /// values are cut at a character boundary and end in `…`.
    static func quoted(_ bytes: some Collection<UInt8>) -> String {
        var out = "\""
        var taken = 0
        var truncated = false
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            let size = UTF8.width(scalar)
            if taken + size > excerptBytes {
                truncated = true
                break
            }
            taken += size
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\u" + JSONScanner.hex4(UInt16(scalar.value))
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + (truncated ? "…\"" : "\"")
    }

    /// A JSON number's text (ASCII by grammar), cut to an excerpt.
    static func number(_ bytes: UnsafeRawBufferPointer) -> String {
        if bytes.count <= excerptBytes { return String(decoding: bytes, as: UTF8.self) }
        return String(decoding: bytes.prefix(excerptBytes), as: UTF8.self) + "…"
    }

    /// A time in UTC, with as many fraction digits as it needs: `2026-05-01T10:00:00Z`,
    /// `2026-05-01T10:00:00.25Z`.
    static func time(_ time: EventTime) -> String {
        var text = RFC3339.format(time)
        guard let dot = text.lastIndex(of: ".") else { return text }
        text.removeLast()  // "Z"
        while text.last == "0" { text.removeLast() }
        if text.index(after: dot) == text.endIndex { text.removeLast() }  // "."
        return text + "Z"
    }
}
