import DaemonSettings
import JourneyCore
import PostgresClient

/// Drops the day partitions that retention no longer keeps (docs/storage.md), each run in
/// its own short transaction after a batch has committed.
///
/// What it may drop is decided from the committed state, read under the lock of
/// `cjm.engine_state`'s row (which every batch transaction takes first, so runs and batches
/// take turns): nothing while `cjm.batch_journal` holds batches (their events are what a
/// restart applies again), and no event at or after the reorder buffer's oldest
/// (`pending_from`, reloaded at a restart). The engine's restore reads neither dropped days
/// nor anything else of the raw events, so a restart after a drop restores exactly.
struct RetentionKeeper {
    let settings: RetentionSettings

    /// The first day of events kept after the last successful run (days before it are gone).
    private var eventsKeptFromDay: Int64?
    /// The same for dead letters.
    private var rejectedKeptFromDay: Int64?
    /// A run that failed (a lock not granted in time) is tried again this much later.
    private var retryAfter: ContinuousClock.Instant?

    /// How long a run waits for the lock a partition's drop needs before giving up until
    /// the next try: readers of `cjm.events` queue behind a waiting drop.
    static let lockTimeoutMilliseconds = 2_000

    init(settings: RetentionSettings) {
        self.settings = settings
    }

    /// What one run dropped.
    struct Dropped: Equatable {
        /// Days (since 1970-01-01, UTC) of `cjm.events` dropped.
        var eventDays: [Int64] = []
        /// Days of `cjm.rejected_events` dropped.
        var rejectedDays: [Int64] = []
        /// The first day of events kept after the run (nil when events were not checked).
        var eventsKeptFromDay: Int64?
        var isEmpty: Bool { eventDays.isEmpty && rejectedDays.isEmpty }
    }

    /// Whether a run could drop a day: a horizon passed the start of a day not yet checked.
    /// Cheap enough to ask after every batch.
    func isDue(watermark: EventTime, now: EventTime) -> Bool {
        if let retryAfter, ContinuousClock.now < retryAfter { return false }
        if let horizon = settings.eventsHorizon(watermark: watermark),
            DayPartitions.day(of: horizon) > (eventsKeptFromDay ?? .min)
        {
            return true
        }
        if let horizon = settings.rejectedHorizon(now: now),
            DayPartitions.day(of: horizon) > (rejectedKeptFromDay ?? .min)
        {
            return true
        }
        return false
    }

    /// Partitions dropped per transaction at most: each holds about six locks (table, TOAST,
    /// indexes) until the transaction ends, and PostgreSQL's shared lock table has room for
    /// 64 per connection by default. A first run on years of history takes several.
    static let partitionsPerTransaction = 64

    /// Drops what is due, in transactions of at most ``partitionsPerTransaction`` days per
    /// table; on failure what is left waits a minute (what was committed stays dropped).
    mutating func run(now: EventTime, on connection: PostgresConnection) throws -> Dropped {
        do {
            var dropped = Dropped()
            while true {
                let step = try connection.transaction { try dropDue(now: now, on: connection) }
                dropped.eventDays += step.eventDays
                dropped.rejectedDays += step.rejectedDays
                dropped.eventsKeptFromDay = step.eventsKeptFromDay ?? dropped.eventsKeptFromDay
                if step.eventDays.count < Self.partitionsPerTransaction
                    && step.rejectedDays.count < Self.partitionsPerTransaction
                {
                    break
                }
            }
            retryAfter = nil
            return dropped
        } catch {
            eventsKeptFromDay = nil
            rejectedKeptFromDay = nil
            retryAfter = ContinuousClock.now + .seconds(60)
            throw error
        }
    }

    private mutating func dropDue(now: EventTime, on connection: PostgresConnection) throws -> Dropped {
        var dropped = Dropped()
        _ = try connection.execute("SET LOCAL lock_timeout = \(Self.lockTimeoutMilliseconds)")
        let state = try connection.execute(
            """
            SELECT watermark, pending_from, EXISTS (SELECT FROM cjm.batch_journal)
            FROM cjm.engine_state WHERE id = 1 FOR UPDATE
            """)
        if state.rowCount == 1, try state.bool(row: 0, column: 2) == false,
            let watermark = try state.timestampMicroseconds(row: 0, column: 0),
            var horizon = settings.eventsHorizon(watermark: EventTime(microseconds: watermark))
        {
            if let pendingFrom = try state.timestampMicroseconds(row: 0, column: 1) {
                horizon = min(horizon, EventTime(microseconds: pendingFrom))
            }
            dropped.eventDays = try drop(.events, before: horizon, on: connection)
            eventsKeptFromDay = DayPartitions.day(of: horizon)
            dropped.eventsKeptFromDay = eventsKeptFromDay
        }
        if let horizon = settings.rejectedHorizon(now: now) {
            dropped.rejectedDays = try drop(.rejectedEvents, before: horizon, on: connection)
            rejectedKeptFromDay = DayPartitions.day(of: horizon)
        }
        return dropped
    }

    /// Drops `table`'s days that end at or before `horizon` and records where history now begins.
    private func drop(_ table: DayPartitions.Table, before horizon: EventTime, on connection: PostgresConnection)
        throws -> [Int64]
    {
        let result = try connection.execute(
            "SELECT (d - DATE '1970-01-01')::int8 FROM cjm.drop_day_partitions($1, $2, $3::integer) d",
            [
                .text(table.rawValue), .timestamp(microsecondsSinceEpoch: horizon.microseconds),
                .int(Int64(Self.partitionsPerTransaction)),
            ])
        var days: [Int64] = []
        for row in 0..<result.rowCount {
            if let day = try result.int64(row: row, column: 0) { days.append(day) }
        }
        if let last = days.max() {
            let column = table == .events ? "events_dropped_before" : "rejected_dropped_before"
            _ = try connection.execute(
                """
                UPDATE cjm.retention_state
                SET \(column) = greatest(\(column), (DATE '1970-01-01' + $1::integer)::timestamp AT TIME ZONE 'UTC'),
                    updated_at = now()
                WHERE id = 1
                """, [.int(last + 1)])
        }
        return days
    }
}
