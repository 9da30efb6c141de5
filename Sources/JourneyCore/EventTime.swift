/// A point in event time: microseconds since the Unix epoch, UTC.
///
/// Microseconds match PostgreSQL's `timestamptz` resolution exactly, so a time survives the
/// round trip through the database unchanged.
public struct EventTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var microseconds: Int64

    /// Creates a time from microseconds since the epoch.
    @inlinable public init(microseconds: Int64) { self.microseconds = microseconds }

    /// Creates a time from milliseconds since the epoch.
    @inlinable public init(milliseconds: Int64) { self.microseconds = milliseconds &* 1000 }

    /// Creates a time from whole seconds since the epoch.
    @inlinable public init(seconds: Int64) { self.microseconds = seconds &* 1_000_000 }

    /// 2000-01-01T00:00:00Z, the earliest accepted event time.
    public static let earliestAccepted = EventTime(seconds: 946_684_800)

    /// Smallest representable time; used as "no watermark yet".
    public static let distantPast = EventTime(microseconds: Int64.min / 2)

    /// Largest representable time.
    public static let distantFuture = EventTime(microseconds: Int64.max / 2)

    @inlinable public static func < (lhs: EventTime, rhs: EventTime) -> Bool {
        lhs.microseconds < rhs.microseconds
    }

    @inlinable public static func + (lhs: EventTime, rhs: TimeSpan) -> EventTime {
        EventTime(microseconds: lhs.microseconds &+ rhs.microseconds)
    }

    @inlinable public static func - (lhs: EventTime, rhs: TimeSpan) -> EventTime {
        EventTime(microseconds: lhs.microseconds &- rhs.microseconds)
    }

    @inlinable public static func - (lhs: EventTime, rhs: EventTime) -> TimeSpan {
        TimeSpan(microseconds: lhs.microseconds &- rhs.microseconds)
    }

    /// RFC 3339 in UTC with microseconds, e.g. `2026-05-01T10:00:00.000000Z`.
    public var description: String { RFC3339.format(self) }
}

/// A length of event time in microseconds.
public struct TimeSpan: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Length in microseconds.
    public var microseconds: Int64

    @inlinable public init(microseconds: Int64) { self.microseconds = microseconds }
    @inlinable public static func seconds(_ s: Int64) -> TimeSpan { TimeSpan(microseconds: s &* 1_000_000) }
    @inlinable public static func milliseconds(_ ms: Int64) -> TimeSpan { TimeSpan(microseconds: ms &* 1000) }
    @inlinable public static func minutes(_ m: Int64) -> TimeSpan { .seconds(m &* 60) }
    @inlinable public static func hours(_ h: Int64) -> TimeSpan { .seconds(h &* 3600) }
    @inlinable public static func days(_ d: Int64) -> TimeSpan { .seconds(d &* 86_400) }
    public static let zero = TimeSpan(microseconds: 0)

    @inlinable public static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.microseconds < rhs.microseconds }
    @inlinable public static func + (lhs: TimeSpan, rhs: TimeSpan) -> TimeSpan {
        TimeSpan(microseconds: lhs.microseconds &+ rhs.microseconds)
    }
    @inlinable public static func * (lhs: TimeSpan, rhs: Int64) -> TimeSpan {
        TimeSpan(microseconds: lhs.microseconds &* rhs)
    }
    @inlinable public static func / (lhs: TimeSpan, rhs: Int64) -> TimeSpan {
        TimeSpan(microseconds: lhs.microseconds / rhs)
    }

    /// Seconds as a floating-point number (for reports and SQL intervals).
    public var seconds: Double { Double(microseconds) / 1_000_000 }

    /// Parses a configuration duration: an integer followed by a unit, `us`, `ms`, `s`, `m`,
    /// `h` or `d` (for example `90s`, `15m`, `36h`, `7d`, `200ms`). Returns nil otherwise.
    public init?(parsing text: String) {
        var digits = Substring(text)
        var unitStart = digits.startIndex
        while unitStart < digits.endIndex, digits[unitStart].isASCII, digits[unitStart].isNumber {
            unitStart = digits.index(after: unitStart)
        }
        guard unitStart > digits.startIndex, digits.distance(from: digits.startIndex, to: unitStart) <= 12,
            let value = Int64(digits[digits.startIndex..<unitStart])
        else { return nil }
        let unit = digits[unitStart...]
        digits = ""
        let perUnit: Int64
        switch unit {
        case "us": perUnit = 1
        case "ms": perUnit = 1000
        case "s": perUnit = 1_000_000
        case "m": perUnit = 60_000_000
        case "h": perUnit = 3_600_000_000
        case "d": perUnit = 86_400_000_000
        default: return nil
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: perUnit)
        guard !overflow else { return nil }
        self.microseconds = product
    }

    /// The shortest configuration spelling of this span, e.g. `7d`, `90s`, `200ms`.
    public var description: String {
        let units: [(Int64, String)] = [
            (86_400_000_000, "d"), (3_600_000_000, "h"), (60_000_000, "m"),
            (1_000_000, "s"), (1000, "ms"),
        ]
        for (size, name) in units where microseconds != 0 && microseconds % size == 0 {
            return "\(microseconds / size)\(name)"
        }
        return "\(microseconds)us"
    }
}
