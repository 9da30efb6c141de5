/// One partition of the bus a shard processes (docs/scaling.md): its number and how many
/// partitions the bus has.
public struct BusPartition: Sendable, Hashable, CustomStringConvertible {
    /// 0 ..< `count`.
    public var index: Int
    /// The bus's partitions (1 ... 1024), fixed for the life of the data.
    public var count: Int

    public init(index: Int, count: Int) {
        precondition(count >= 1 && count <= BusPartition.maximumCount && index >= 0 && index < count)
        self.index = index
        self.count = count
    }

    /// `seq` of an event stored by a shard is a multiple of this plus the partition: each
    /// partition numbers its own events, and `seq % 1024` tells which partition stored one.
    public static let maximumCount = 1024

    public var description: String { "\(index) of \(count)" }
}

/// Which rows a ``JourneySink`` keeps, restores and writes: a single daemon's (`cjmd run`,
/// `replay`, `rebuild`: the whole database) or one bus partition's (a shard), or none at all
/// (a gateway, whose events go to the bus: it stores dead letters and file positions only).
public enum SinkScope: Sendable, Hashable {
    case whole
    case partition(BusPartition)
    case deadLettersOnly

    /// The `part` column of the rows written: the partition, or -1.
    var part: Int16 {
        if case .partition(let p) = self { return Int16(p.index) }
        return -1
    }

    /// The partition, if any.
    var partition: BusPartition? {
        if case .partition(let p) = self { return p }
        return nil
    }

    /// Whether the sink has journey state (an engine restored from and written to the database).
    var keepsJourneys: Bool { self != .deadLettersOnly }

    /// The row holding the engine's position, as `table WHERE key`.
    var stateRow: String {
        switch self {
        case .partition(let p): return "cjm.partition_state WHERE part = \(p.index)"
        case .whole, .deadLettersOnly: return "cjm.engine_state WHERE id = 1"
        }
    }

    /// The table of ``stateRow`` (for UPDATE ... SET).
    var stateTable: String {
        partition == nil ? "cjm.engine_state" : "cjm.partition_state"
    }

    /// The condition of ``stateRow``.
    var stateKey: String {
        partition.map { "part = \($0.index)" } ?? "id = 1"
    }

    /// The step between two `seq` numbers the sink gives out (see ``BusPartition/maximumCount``).
    var sequenceStride: Int64 {
        partition == nil ? 1 : Int64(BusPartition.maximumCount)
    }

    /// An SQL condition on `cjm.event_rows` keeping this scope's events.
    func ownsEvents() -> String {
        guard let p = partition else { return "true" }
        return "seq % \(BusPartition.maximumCount) = \(p.index)"
    }
}
