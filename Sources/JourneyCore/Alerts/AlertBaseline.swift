/// What a window's give-up rate is compared with (docs/alerts.md, `alerts.baseline`).
public enum AlertBaseline: Sendable, Equatable, CustomStringConvertible {
    /// The span just before the window: [T − window − span, T − window).
    case preceding(TimeSpan)
    /// The window's hours on each of the `days` days before: [T − window − d·24h, T − d·24h)
    /// for d = 1…days. A daily change of traffic mix is then compared with itself.
    case sameHourDays(Int)
    /// The window's hours at the same time of the week on each of the `weeks` weeks before.
    case sameHourWeeks(Int)

    /// The configuration's spelling: a duration, `same_hour_7d` or `same_hour_4w`.
    public var description: String {
        switch self {
        case .preceding(let span): "\(span)"
        case .sameHourDays(let days): "same_hour_\(days)d"
        case .sameHourWeeks(let weeks): "same_hour_\(weeks)w"
        }
    }

    /// The period a seasonal baseline repeats with, in minutes (nil for a preceding span).
    public var seasonMinutes: Int64? {
        switch self {
        case .preceding: nil
        case .sameHourDays: 24 * 60
        case .sameHourWeeks: 7 * 24 * 60
        }
    }

    /// The baseline's blocks for a window of `window` minutes, as offsets before the
    /// evaluation time T: block (a, b) is [T − a, T − b).
    func blocks(windowMinutes window: Int64) -> [BaselineBlock] {
        switch self {
        case .preceding(let span):
            let minutes = max(1, (span.microseconds + 59_999_999) / 60_000_000)
            return [BaselineBlock(start: window + minutes, end: window)]
        case .sameHourDays(let count):
            return (1...max(1, count)).map { BaselineBlock(start: window + Int64($0) * 1440, end: Int64($0) * 1440) }
        case .sameHourWeeks(let count):
            return (1...max(1, count)).map { BaselineBlock(start: window + Int64($0) * 10080, end: Int64($0) * 10080) }
        }
    }
}

/// The minutes [T − start, T − end) of a baseline evaluated at T.
struct BaselineBlock: Sendable, Equatable {
    var start: Int64
    var end: Int64

    func contains(_ minute: Int64, evaluatedAt boundary: Int64) -> Bool {
        minute >= boundary - start && minute < boundary - end
    }
}
