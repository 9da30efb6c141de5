import JourneyCore
import PostgresClient

/// The day partitions of `cjm.event_rows` (by `ts`; the rows of the view `cjm.events`) and
/// `cjm.rejected_events` (by `received_at`) that a writer has made sure exist: each new day costs one call of
/// `cjm.ensure_day_partition` inside the batch's transaction, every other row a set lookup.
///
/// Days created in a transaction that then failed are gone with it, so the owner calls
/// ``forget()`` after every failed transaction; a day dropped by retention is removed by
/// ``dropped(_:days:)``.
struct DayPartitions {
    /// A table partitioned by day.
    enum Table: String {
        case events = "event_rows"
        case rejectedEvents = "rejected_events"
    }

    private var knownEventDays = Set<Int64>()
    private var knownRejectedDays = Set<Int64>()

    static let microsecondsPerDay: Int64 = 86_400_000_000

    /// Days since 1970-01-01 (UTC) of `time`, rounded down.
    static func day(of time: EventTime) -> Int64 {
        let (quotient, remainder) = time.microseconds.quotientAndRemainder(dividingBy: microsecondsPerDay)
        return remainder < 0 ? quotient - 1 : quotient
    }

    /// Creates the partitions of `table` missing for `times`, inside the caller's transaction.
    mutating func ensure(_ table: Table, covering times: some Sequence<EventTime>, on connection: PostgresConnection)
        throws
    {
        var missing = Set<Int64>()
        var previous: Int64?
        for time in times {
            let day = Self.day(of: time)
            if day == previous { continue }
            previous = day
            if !known(table).contains(day) { missing.insert(day) }
        }
        for day in missing.sorted() {
            _ = try connection.execute(
                "SELECT cjm.ensure_day_partition($1, DATE '1970-01-01' + $2::integer)",
                [.text(table.rawValue), .int(day)])
            switch table {
            case .events: knownEventDays.insert(day)
            case .rejectedEvents: knownRejectedDays.insert(day)
            }
        }
    }

    /// Forgets every day: the next rows check again (after a failed transaction).
    mutating func forget() {
        knownEventDays.removeAll()
        knownRejectedDays.removeAll()
    }

    /// Forgets `days` of `table`, dropped by retention.
    mutating func dropped(_ table: Table, days: some Sequence<Int64>) {
        switch table {
        case .events: knownEventDays.subtract(days)
        case .rejectedEvents: knownRejectedDays.subtract(days)
        }
    }

    private func known(_ table: Table) -> Set<Int64> {
        switch table {
        case .events: knownEventDays
        case .rejectedEvents: knownRejectedDays
        }
    }
}
