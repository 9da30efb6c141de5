/// Parsing and formatting of RFC 3339 timestamps without Foundation.
///
/// Foundation's date formatters cost tens of microseconds per value (see bench/README.md,
/// "What a machine like this costs"); events carry one timestamp each, so this is hand-written over bytes.
public enum RFC3339 {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM)`; `t`/space for `T` and `z` for `Z` are
    /// accepted. Fractions beyond microseconds are rejected rather than silently rounded.
    public static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> EventTime? {
        var it = bytes.makeIterator()
        func digits(_ count: Int) -> Int64? {
            var value: Int64 = 0
            for _ in 0..<count {
                guard let b = it.next(), b >= 0x30, b <= 0x39 else { return nil }
                value = value * 10 + Int64(b - 0x30)
            }
            return value
        }
        func expect(_ c: UInt8) -> Bool { it.next() == c }
        guard let year = digits(4), expect(0x2D), let month = digits(2), expect(0x2D), let day = digits(2)
        else { return nil }
        guard let sep = it.next(), sep == 0x54 || sep == 0x74 || sep == 0x20 else { return nil }
        guard let hour = digits(2), expect(0x3A), let minute = digits(2), expect(0x3A), let second = digits(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var micros: Int64 = 0
        var next = it.next()
        if next == 0x2E {  // '.'
            var count = 0
            next = it.next()
            while let b = next, b >= 0x30, b <= 0x39 {
                count += 1
                guard count <= 6 else { return nil }
                micros = micros * 10 + Int64(b - 0x30)
                next = it.next()
            }
            guard count > 0 else { return nil }
            for _ in count..<6 { micros *= 10 }
        }
        var offsetSeconds: Int64 = 0
        switch next {
        case 0x5A, 0x7A:  // Z z
            break
        case 0x2B, 0x2D:  // + -
            guard let oh = digits(2), expect(0x3A), let om = digits(2), oh <= 23, om <= 59 else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (next == 0x2D ? -1 : 1)
        default:
            return nil
        }
        guard it.next() == nil else { return nil }
        // A leap second is folded onto the next second, as PostgreSQL does.
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return EventTime(microseconds: seconds * 1_000_000 + micros)
    }

    /// Parses a string; see ``parse(_:)-(Bytes)``.
    public static func parse(_ text: String) -> EventTime? {
        var copy = text
        return copy.withUTF8 { parse($0) }
    }

    /// Formats as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (always UTC, always six fraction digits).
    public static func format(_ time: EventTime) -> String {
        let micros = time.microseconds
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (y, m, d) = civilFromDays(days)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return
            "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(fraction, 6))Z"
    }

    static func isLeap(_ y: Int64) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }
}
