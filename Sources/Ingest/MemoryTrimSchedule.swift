/// When the commit loop trims: once it goes idle after work, and every minute while it is
/// busy. A trim walks the heap (milliseconds for hundreds of MiB), so not after each batch.
struct MemoryTrimSchedule {
    static let busyInterval: UInt64 = 60_000_000_000
    private var busySinceTrim = false
    private var lastTrim: UInt64 = 0

    /// Whether to trim now; `busy`: the current take brought work.
    mutating func isDue(busy: Bool, now: UInt64) -> Bool {
        if busy {
            if !busySinceTrim { lastTrim = now }
            busySinceTrim = true
            guard now &- lastTrim >= Self.busyInterval else { return false }
            lastTrim = now
            return true
        }
        guard busySinceTrim else { return false }
        busySinceTrim = false
        lastTrim = now
        return true
    }
}
