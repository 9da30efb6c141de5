/// Whether schema `cjm` grows faster than retention removes (docs/storage.md): the size is
/// measured right after each drop of event days, when the retained window is at its
/// smallest, so steady traffic gives about the same size every day. More than
/// ``dailyGrowthLimit`` a day above the size after the previous drop is worth a warning:
/// traffic is rising, or the tables kept for good (instances, critical moments,
/// aggregates) outgrow what retention frees. No I/O.
struct StorageGrowthWatch {
    /// Growth per day, as a share of the size after the previous drop, that is warned about:
    /// at 5 % a day the tables double in about two weeks.
    static let dailyGrowthLimit = 0.05
    /// Growth below this is not worth a warning whatever its share (a young, small database).
    static let minimumGrowthBytes: Int64 = 64 << 20

    /// Size after the last drop, and the first day then kept.
    private var lastDrop: (bytes: Int64, keptFromDay: Int64)?

    /// What a warning says.
    struct Growth: Equatable {
        var previousBytes: Int64
        var bytes: Int64
        var days: Int64
        var bytesPerDay: Int64 { (bytes - previousBytes) / max(days, 1) }
    }

    /// Records the size measured after a drop that leaves events from `keptFromDay` on;
    /// returns the growth when it exceeds the limits.
    mutating func measuredAfterDrop(bytes: Int64, keptFromDay: Int64) -> Growth? {
        defer { lastDrop = (bytes, keptFromDay) }
        guard let lastDrop, keptFromDay > lastDrop.keptFromDay, lastDrop.bytes > 0 else { return nil }
        let growth = Growth(previousBytes: lastDrop.bytes, bytes: bytes, days: keptFromDay - lastDrop.keptFromDay)
        guard growth.bytesPerDay >= Self.minimumGrowthBytes,
            Double(growth.bytesPerDay) > Self.dailyGrowthLimit * Double(lastDrop.bytes)
        else { return nil }
        return growth
    }
}
