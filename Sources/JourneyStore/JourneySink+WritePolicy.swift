import JourneyCore

extension JourneySink {
    /// How and when a ``JourneySink`` writes the derived rows (instances, moments,
    /// aggregates, alerts, the engine's position), fixed when the sink is made. The default
    /// writes them with every batch; `cjmd replay` and `cjmd run` each choose their own
    /// (``ReplayRunner/writePolicy``, ``live(clock:spacing:)``).
    ///
    /// Every batch commits its events either way. Between derived writes, each batch
    /// records its sequence numbers and watermark in `cjm.batch_journal`, and a restored
    /// engine applies those batches again, so a crash loses and doubles nothing. What waits
    /// is only the derived rows: an instance touched by many events of the interval is
    /// written once.
    public struct WritePolicy: Sendable {
        /// How many events may be applied before the derived rows are written; 0 writes
        /// them with every batch. A replay sets this (its dashboards are read afterwards);
        /// the daemon spaces its writes in time instead (``liveDerivedWriteSpacing``), so
        /// that what it acknowledges is soon visible.
        public var derivedWriteInterval = 0

        /// Writes the derived rows early, before ``derivedWriteInterval`` events, once the
        /// changes waiting for them are estimated to hold this many bytes
        /// (``JourneyEngine/pendingChangeBytes``). Only matters with an interval above 0.
        public var derivedWriteBudget = Int.max

        /// Live batches write the derived rows at most this often (by the clock of their
        /// watermark rule); the batches in between commit their events, rejections and
        /// positions and journal themselves, as replay's do between derived writes. An
        /// instance touched by several batches of the interval is then written once, and new
        /// ones (most of them) are COPYed without an upsert, while what a batch acknowledges
        /// still shows in the funnel soon after its lateness has passed. `nil` writes them
        /// with every batch.
        public var liveDerivedWriteSpacing: TimeSpan?

        /// The live clock, read when a derived write ends. With it, a write that took
        /// ``liveDerivedWriteSpacing`` or longer (the rows of a burst of events coming due at
        /// once) is followed by half the spacing of batches that only journal: otherwise
        /// every following batch would write again, and with each batch holding at most
        /// `batch_max_events`, taking in events would slow to a trickle while the derived
        /// rows catch up. Left nil (tests that drive time by the rule's `now` alone), only
        /// the spacing from the write's start counts.
        public var liveClock: (@Sendable () -> EventTime)?

        /// Whether the engine applies a replay batch while the database stores its events:
        /// the events are ingested before the COPY, and the engine's advance is done in
        /// slices between chunks of rows sent. When the COPY then finds an id stored before,
        /// the engine has run ahead of the database; it is restored (as after any failed
        /// transaction) and the batch is written again the probing way. A replay sets this:
        /// a restore costs it little, while the daemon's engine may be large.
        public var overlapsEngineWithCopy = false

        /// Whether a live batch moves the watermark over the events of earlier batches while
        /// the database stores its own (see ``JourneySink/earlyLiveAdvance(_:now:)``).
        /// Nothing can run ahead of the database: only events committed before are applied.
        /// Off only to compare.
        public var advancesLiveWatermarkDuringCopy = true

        /// Whether alert transitions are announced (`pg_notify`, log) when they commit.
        /// `rebuild` turns it off: it recomputes history, which was announced before.
        public var announcesAlerts = true

        /// Once this many closed instances are in the row tables, a derived write seals them
        /// into `cjm.sealed_instances` and their critical moments into `cjm.sealed_moments`,
        /// ``sealedChunkSize`` per row (docs/storage.md). A chunk of a thousand instances
        /// takes about a seventh of their rows' disk; small chunks compress less, so small
        /// writes wait for enough.
        public var sealAfterClosedInstances = 1024

        /// Instances (and moments) per sealed row.
        public var sealedChunkSize = 1024

        /// Derived rows with every batch.
        public init() {}

        /// The daemon's: derived rows at most every `spacing` by the live `clock`.
        public static func live(clock: @escaping @Sendable () -> EventTime, spacing: TimeSpan) -> WritePolicy {
            var policy = WritePolicy()
            policy.liveDerivedWriteSpacing = spacing
            policy.liveClock = clock
            return policy
        }
    }
}
