import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Turns one log event into one line of bytes, newline included.
enum LogLineFormatter {
    static func line(
        style: LogOutput.Style,
        level: Logger.Level,
        label: String,
        message: String,
        metadata: Logger.Metadata
    ) -> [UInt8] {
        var text: String
        switch style {
        case .journal:
            text = "<\(JournalAwareLogHandler.priority(for: level))>"
        case .plain:
            text = utcTimestamp() + " " + level.rawValue + " "
        }
        text += label
        text += ": "
        text += escapeControlCharacters(Redaction.conninfo(message))
        for key in metadata.keys.sorted() {
            guard let value = metadata[key] else { continue }
            text += " "
            text += escapeControlCharacters(key)
            text += "="
            text += quotedIfNeeded(Redaction.isSensitiveKey(key) ? Redaction.mask : render(value))
        }
        text += "\n"
        return Array(text.utf8)
    }

    private static func render(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let string):
            return escapeControlCharacters(Redaction.conninfo(string))
        case .stringConvertible(let convertible):
            return escapeControlCharacters(Redaction.conninfo(convertible.description))
        case .array(let elements):
            return "[" + elements.map(render).joined(separator: ", ") + "]"
        case .dictionary(let dictionary):
            let pairs = dictionary.keys.sorted().compactMap { key -> String? in
                guard let nested = dictionary[key] else { return nil }
                let rendered = Redaction.isSensitiveKey(key) ? Redaction.mask : render(nested)
                return escapeControlCharacters(key) + ": " + rendered
            }
            return "[" + pairs.joined(separator: ", ") + "]"
        }
    }

    /// Values with spaces or quotes (or nothing at all) are double-quoted so `key=value` pairs
    /// stay splittable; `"` and `\` inside are backslash-escaped.
    static func quotedIfNeeded(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.utf8.contains { byte in
                byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
            }
        guard needsQuotes else { return value }
        var quoted = "\""
        for character in value {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        quoted.append("\"")
        return quoted
    }

    /// One message must stay one line: journald would split a newline into a second entry
    /// without a priority, and a reader could not tell where a message ends.
    static func escapeControlCharacters(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return text }
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                escaped += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// Now as `2025-01-31T12:00:00.123Z`.
    static func utcTimestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int(now.tv_nsec) / 1_000_000
        return "\(Int(parts.tm_year) + 1900)-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))"
            + "T\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad(millis, width: 3))Z"
    }

    private static func pad<Number: BinaryInteger>(_ number: Number, width: Int = 2) -> String {
        let digits = String(number)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
