import JourneyCore

/// When a ``JourneySink`` writes the derived rows (instances, moments, aggregates, alerts,
/// the engine's position) and when a batch only journals itself instead: the sink's write
/// timing as a plain value, fed what the sink did and asked what is due. No I/O.
struct DerivedWriteSchedule {
    let policy: JourneySink.WritePolicy
    /// Events applied to the engine whose derived rows are not written yet.
    private(set) var unwrittenEvents = 0
    /// Whether `cjm.batch_journal` holds rows (emptied with the next derived write).
    private(set) var journalHasRows = false
    /// When the last live derived write began (live clock: its batch's `now`).
    private(set) var lastLiveWrite: EventTime?
    /// When it ended, by ``JourneySink/WritePolicy/liveClock`` (nil without one: the write
    /// then counts as instant).
    private(set) var lastLiveWriteEnd: EventTime?

    init(policy: JourneySink.WritePolicy) {
        self.policy = policy
    }

    /// The engine was restored, with `journaledEvents` events of `journaledBatches` journaled
    /// batches applied again.
    mutating func restored(journaledBatches: Int, journaledEvents: Int) {
        journalHasRows = journaledBatches > 0
        unwrittenEvents = journaledEvents
    }

    /// A batch applied `count` new events.
    mutating func applied(_ count: Int) {
        unwrittenEvents += count
    }

    /// A batch journaled itself instead of writing the derived rows.
    mutating func journaled() {
        journalHasRows = true
    }

    /// The engine's changes were taken to be written: nothing applied is unwritten now.
    mutating func tookChanges() {
        unwrittenEvents = 0
    }

    /// The derived rows were written (the journal emptied with them) in a batch of `rule`,
    /// or outside a batch (`rule` nil: a stop's or rebuild's write).
    mutating func wroteDerivedRows(rule: WatermarkRule?) {
        unwrittenEvents = 0
        journalHasRows = false
        if case .live(let now)? = rule {
            lastLiveWrite = now
            lastLiveWriteEnd = policy.liveClock?()
        }
    }

    /// Whether a batch of `rule` writes the derived rows: always at the end of a replay or
    /// rebuild (their rules say where the watermark ends, which the journal cannot replay).
    func isDue(_ rule: WatermarkRule, pendingChangeBytes: Int) -> Bool {
        switch rule {
        case .finish, .through: return true
        case .live(let now):
            guard let spacing = policy.liveDerivedWriteSpacing else { return true }
            // Before the first live write, or a clock that went back: write rather than wait.
            guard let last = lastLiveWrite, now >= last, let next = nextLiveWrite(spacing: spacing) else {
                return true
            }
            return now >= next
        case .replay:
            return policy.derivedWriteInterval <= 0 || unwrittenEvents >= policy.derivedWriteInterval
                || pendingChangeBytes >= policy.derivedWriteBudget
        }
    }

    /// The earliest a live batch may write the derived rows again: `spacing` after the last
    /// write began or, when that write itself took the spacing or longer (see
    /// ``JourneySink/WritePolicy/liveClock``), half of it after the write ended; nil before
    /// the first live write. A shorter write leaves the rhythm alone, so that what is
    /// acknowledged shows as soon as before whenever the database keeps up.
    func nextLiveWrite(spacing: TimeSpan) -> EventTime? {
        guard let last = lastLiveWrite else { return nil }
        guard let end = lastLiveWriteEnd, end >= last + spacing else { return last + spacing }
        return end + TimeSpan(microseconds: spacing.microseconds / 2)
    }

    /// When a live commit next has work even if no event arrives: once the earliest
    /// buffered event (`pendingFrom`) comes due — the live watermark, the clock minus
    /// `lateness`, passes it 1 µs after its time plus the lateness — or, when batches have
    /// journaled since the last derived write, once the derived rows may be written again.
    /// Nil when nothing waits.
    func nextLiveDueTime(pendingFrom: EventTime?, lateness: TimeSpan) -> EventTime? {
        var due = pendingFrom.map { $0 + lateness + TimeSpan(microseconds: 1) }
        if journalHasRows, let spacing = policy.liveDerivedWriteSpacing {
            // Journaled before any live derived write (restored from the journal): due now.
            let derived = nextLiveWrite(spacing: spacing) ?? .distantPast
            due = min(due ?? derived, derived)
        }
        return due
    }
}
