/// When the commit loop measures the database's size: after the first commit, then at most
/// once a minute. Summing the sizes of a few dozen relations takes a millisecond of catalog
/// lookups; once a minute is what a disk-usage graph needs.
struct StorageMeasureSchedule {
    static let interval: UInt64 = 60_000_000_000
    private var last: UInt64?

    /// Whether to measure now (monotonic nanoseconds).
    mutating func isDue(now: UInt64) -> Bool {
        if let last, now &- last < Self.interval { return false }
        last = now
        return true
    }
}
