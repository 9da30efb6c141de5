/// Writers taking turns on one database: each batch transaction counts itself in
/// `cjm.engine_state.commits` (the update locks the row until the transaction ends, so
/// batch transactions of several processes take turns), and a count other than the one this
/// writer last saw means another process committed since — the writer must restore its
/// journey state from the database before applying its batch. This value keeps the counts;
/// ``JourneySink`` does the SQL. No I/O.
struct WriterFence {
    /// The count this writer last committed, or read when it restored its state.
    private(set) var seen: Int64
    /// The count the transaction under way writes; adopted when it commits.
    private(set) var pending: Int64 = 0
    /// Batches before which the state was restored because another process had written.
    private(set) var restoresForOtherWriters = 0

    init(seen: Int64) {
        self.seen = seen
    }

    /// What a claim of the counter found.
    struct Claim: Equatable {
        /// Another process committed since this writer's last: restore first.
        var otherWriterCommitted: Bool
        /// Log that (the first time, then at 2, 4, 8, … times, so that two writers in turn
        /// do not flood the log).
        var report: Bool
    }

    /// This writer's transaction raised the counter to `count`.
    mutating func claimed(_ count: Int64) -> Claim {
        pending = count
        guard count - 1 != seen else { return Claim(otherWriterCommitted: false, report: false) }
        restoresForOtherWriters += 1
        return Claim(otherWriterCommitted: true, report: restoresForOtherWriters & (restoresForOtherWriters - 1) == 0)
    }

    /// The state was restored from a database whose counter reads `count`.
    mutating func restored(seen count: Int64) {
        seen = count
    }

    /// The transaction that claimed the counter committed.
    mutating func committed() {
        seen = pending
    }
}
