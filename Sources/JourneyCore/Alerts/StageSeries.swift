/// One judged series of ``DropOffDetector``: a watched stage's decisions (every instance's, or
/// one persona's) in minute buckets, with running sums for the window and the baseline ending
/// at the last boundary the series was visited at.
///
/// A series is visited only at the boundaries where something can change: a bucket enters or
/// leaves the window or a baseline block, a bucket is forgotten, judging starts, or an alert
/// fires (a firing series is visited every minute, for its calm period). Between them the sums
/// are constant, so stepping would change nothing and judging would repeat the last verdict;
/// replaying months of sparse history then costs its changes, not its minutes.
struct StageSeries: Sendable {
    let journey: Int
    let journeyName: String
    let stageIndex: Int
    let stageName: String
    /// The persona whose instances these are (``PersonaSettings/all``: every instance).
    var persona = PersonaSettings.all
    /// Minutes between the end of the judged window and the evaluation (``DropOffDetector/lag(of:)``).
    let lag: Int64
    private(set) var buckets: [Int64: DecisionCounts] = [:]
    /// The buckets' minutes in ascending order, to find the next boundary a bucket matters at.
    private var minutes = SortedMinutes()
    var window = DecisionCounts()
    var baseline = DecisionCounts()
    var firing: DropOffAlert?
    /// The next boundary this series must be visited at (``DropOffDetector/evaluate(through:)``).
    var nextVisit = Int64.min

    init(journey: Int, journeyName: String, stageIndex: Int, stageName: String, lag: Int64) {
        self.journey = journey
        self.journeyName = journeyName
        self.stageIndex = stageIndex
        self.stageName = stageName
        self.lag = lag
    }

    /// The oldest minute with a decision.
    var oldestMinute: Int64? { minutes.first }

    mutating func add(_ counts: DecisionCounts, minute: Int64) {
        if let existing = buckets[minute] {
            buckets[minute] = existing + counts
        } else {
            buckets[minute] = counts
            minutes.insert(minute)
        }
    }

    private mutating func forget(_ minute: Int64) {
        guard buckets.removeValue(forKey: minute) != nil else { return }
        minutes.remove(minute)
    }

    /// Moves the sums from boundary `end − 1` to `end`: minute end−1 enters the window and
    /// each block of the baseline moves on by a minute; what no evaluation looks at any more
    /// is forgotten. Also right after boundaries skipped because no bucket crossed one of
    /// these edges at them (``nextChange(after:offsets:judgedFrom:)``).
    mutating func step(to end: Int64, window w: Int64, blocks: [BaselineBlock], lookBack: Int64) {
        if let entering = buckets[end - 1] { window += entering }
        if let leaving = buckets[end - 1 - w] { window -= leaving }
        for block in blocks {
            if let entering = buckets[end - 1 - block.end] { baseline += entering }
            if let leaving = buckets[end - 1 - block.start] { baseline -= leaving }
        }
        forget(end - 1 - lookBack)
    }

    /// Recomputes the sums for boundary `end` from the buckets (after a restore).
    mutating func resum(through end: Int64, window w: Int64, blocks: [BaselineBlock], lookBack: Int64) {
        window = DecisionCounts()
        baseline = DecisionCounts()
        for (minute, counts) in buckets {
            if minute < end - lookBack {
                forget(minute)
                continue
            }
            if minute >= end - w && minute < end { window += counts }
            for block in blocks where block.contains(minute, evaluatedAt: end) { baseline += counts }
        }
    }

    /// The first boundary after `boundary` at which this series can change: a bucket at minute
    /// m crosses an edge `offset` minutes before a judged window's end at boundary
    /// m + lag + 1 + offset (`offsets`: the window's, the baseline blocks' and the forgetting
    /// edge, see ``step(to:window:blocks:lookBack:)``); judging starts at `judgedFrom` + lag; a
    /// firing series is visited every minute.
    func nextChange(after boundary: Int64, offsets: [Int64], judgedFrom: Int64) -> Int64 {
        if firing != nil { return boundary + 1 }
        // The common case of steady traffic: the next minute enters the window.
        if buckets[boundary - lag] != nil { return boundary + 1 }
        var next = Int64.max
        let firstJudged = judgedFrom &+ lag
        if firstJudged > boundary { next = firstJudged }
        for offset in offsets {
            // The first bucket minute m with m + lag + 1 + offset > boundary.
            guard let minute = minutes.first(after: boundary - lag - 1 - offset) else { continue }
            next = min(next, minute + lag + 1 + offset)
        }
        return next
    }
}

/// Distinct minutes in ascending order. Buckets are added mostly at the newest minute and
/// forgotten at the oldest, so the array keeps a moving start instead of shifting on every
/// removal (compacted once half of it is behind the start).
struct SortedMinutes: Sendable {
    private var storage: [Int64] = []
    private var start = 0

    var first: Int64? { start < storage.count ? storage[start] : nil }

    /// The index of the first stored minute greater than `minute`.
    private func indexAfter(_ minute: Int64) -> Int {
        var low = start
        var high = storage.count
        while low < high {
            let mid = (low + high) / 2
            if storage[mid] <= minute { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The smallest minute greater than `minute`.
    func first(after minute: Int64) -> Int64? {
        let index = indexAfter(minute)
        return index < storage.count ? storage[index] : nil
    }

    /// Adds a minute that is not stored yet.
    mutating func insert(_ minute: Int64) {
        if let last = storage.last, start < storage.count, last >= minute {
            storage.insert(minute, at: indexAfter(minute))
        } else {
            storage.append(minute)
        }
    }

    /// Removes a stored minute.
    mutating func remove(_ minute: Int64) {
        if start < storage.count, storage[start] == minute {
            start += 1
            if start == storage.count {
                storage.removeAll(keepingCapacity: true)
                start = 0
            } else if start >= 32, start * 2 >= storage.count {
                storage.removeFirst(start)
                start = 0
            }
        } else {
            let index = indexAfter(minute) - 1
            if index >= start, storage[index] == minute { storage.remove(at: index) }
        }
    }
}
