/// Parsers for PostgreSQL's text output of scalar types, straight from libpq's buffers
/// (no intermediate String). Each returns nil when the text is not in the expected form.
enum TextFormatParsing {
    /// `int2`/`int4`/`int8` output: optional sign, decimal digits.
    static func int64(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
        var index = 0
        var negative = false
        if index < text.count, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") {
            negative = text[index] == UInt8(ascii: "-")
            index += 1
        }
        guard index < text.count else { return nil }
        // Accumulate negatively so Int64.min parses without overflow.
        var value: Int64 = 0
        while index < text.count {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.subtractingReportingOverflow(Int64(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = next
            index += 1
        }
        if negative { return value }
        return value == .min ? nil : -value
    }

    /// `float4`/`float8`/`numeric` output, including `NaN`, `Infinity`, `-Infinity`.
    /// Swift's parser is used rather than strtod, which would follow the process locale.
    static func double(_ text: UnsafeBufferPointer<UInt8>) -> Double? {
        guard !text.isEmpty else { return nil }
        return Double(String(decoding: text, as: UTF8.self))
    }

    /// `bool` output: `t` or `f` (also `true`/`false`, which some casts produce).
    static func bool(_ text: UnsafeBufferPointer<UInt8>) -> Bool? {
        if text.elementsEqual("t".utf8) || text.elementsEqual("true".utf8) { return true }
        if text.elementsEqual("f".utf8) || text.elementsEqual("false".utf8) { return false }
        return nil
    }

    /// `timestamptz`/`timestamp`/`date` output in ISO DateStyle (which the connection sets),
    /// as microseconds since 1970-01-01 UTC. A `timestamp` without time zone is read as UTC.
    /// `infinity`/`-infinity` become `Int64.max`/`Int64.min`, as inside PostgreSQL.
    static func timestampMicroseconds(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
        if text.elementsEqual("infinity".utf8) { return .max }
        if text.elementsEqual("-infinity".utf8) { return .min }
        var scanner = ByteScanner(text)
        guard let year = scanner.number(minDigits: 4, maxDigits: 9), scanner.skip("-"),
            let month = scanner.number(minDigits: 2, maxDigits: 2), (1...12).contains(month),
            scanner.skip("-"),
            let day = scanner.number(minDigits: 2, maxDigits: 2), (1...31).contains(day)
        else { return nil }
        var time = CivilTime(year: year, month: month, day: day, hour: 0, minute: 0, second: 0, microsecond: 0)
        if scanner.skip(" ") || scanner.skip("T") {
            guard let hour = scanner.number(minDigits: 2, maxDigits: 2), hour <= 24, scanner.skip(":"),
                let minute = scanner.number(minDigits: 2, maxDigits: 2), minute < 60, scanner.skip(":"),
                let second = scanner.number(minDigits: 2, maxDigits: 2), second <= 60
            else { return nil }
            (time.hour, time.minute, time.second) = (hour, minute, second)
            if scanner.skip(".") {
                guard let fraction = scanner.fractionMicroseconds() else { return nil }
                time.microsecond = fraction
            }
        }
        var offsetSeconds: Int64 = 0
        if scanner.skip("Z") {
            offsetSeconds = 0
        } else if let sign = scanner.sign() {
            guard let hours = scanner.number(minDigits: 2, maxDigits: 2) else { return nil }
            var seconds = hours * 3600
            if scanner.skip(":") {
                guard let minutes = scanner.number(minDigits: 2, maxDigits: 2) else { return nil }
                seconds += minutes * 60
                if scanner.skip(":") {
                    guard let extra = scanner.number(minDigits: 2, maxDigits: 2) else { return nil }
                    seconds += extra
                }
            }
            offsetSeconds = sign * seconds
        }
        if scanner.skip(" BC") {
            guard time.year > 0 else { return nil }
            time.year = 1 - time.year
        }
        guard scanner.isAtEnd, let local = time.microsecondsSinceEpoch else { return nil }
        // The text shows local time at the offset; UTC is local minus the offset.
        let (utc, overflow) = local.subtractingReportingOverflow(offsetSeconds * 1_000_000)
        return overflow ? nil : utc
    }
}

/// Left-to-right reader over ASCII text for the small grammars above.
private struct ByteScanner {
    let text: UnsafeBufferPointer<UInt8>
    var index = 0

    init(_ text: UnsafeBufferPointer<UInt8>) { self.text = text }

    var isAtEnd: Bool { index == text.count }

    mutating func skip(_ literal: StaticString) -> Bool {
        let length = literal.utf8CodeUnitCount
        guard text.count - index >= length else { return false }
        let matches = literal.withUTF8Buffer { expected in
            expected.elementsEqual(UnsafeBufferPointer(rebasing: text[index..<index + length]))
        }
        if matches { index += length }
        return matches
    }

    /// `+` → 1, `-` → -1, anything else → nil without consuming it.
    mutating func sign() -> Int64? {
        if skip("+") { return 1 }
        if skip("-") { return -1 }
        return nil
    }

    mutating func number(minDigits: Int, maxDigits: Int) -> Int64? {
        var value: Int64 = 0
        var digits = 0
        while index < text.count, digits < maxDigits {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            value = value * 10 + Int64(digit)
            digits += 1
            index += 1
        }
        return digits >= minDigits ? value : nil
    }

    /// Digits after the decimal point as microseconds; digits beyond the sixth are dropped
    /// (PostgreSQL never writes more than six).
    mutating func fractionMicroseconds() -> Int64? {
        var value: Int64 = 0
        var digits = 0
        while index < text.count {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            if digits < 6 { value = value * 10 + Int64(digit) }
            digits += 1
            index += 1
        }
        guard digits > 0 else { return nil }
        for _ in min(digits, 6)..<6 { value *= 10 }
        return value
    }
}
