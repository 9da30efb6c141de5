import IngestEnvelope
import JourneyCore

/// An event as this batch stored it: with its place in `cjm.events` (`seq`, the engine's
/// order among equal times), its stages (matched once, for `cjm.events.stages` and the
/// engine alike) and its source (for the counts of late events by source).
struct StoredEvent {
    var event: TouchpointEvent
    var sequence: Int64
    var stages: StageMap
    var source: String
}

/// What one batch carries into its transaction.
public struct IngestBatch: Sendable {
    public var events: [AcceptedEvent] = []
    public var rejections: [RejectedLine] = []
    /// Tailed files' positions after the lines of this batch (the latest per file).
    public var checkpoints: [SourceFileKey: SourceCheckpoint] = [:]
    /// Tailed files dropped for good (deleted and read to the end): their checkpoints go.
    public var forgottenFiles: Set<SourceFileKey> = []
    /// Identifies the batch across retries: committed with it (`cjm.engine_state`), so that
    /// after a connection lost during COMMIT the batch is known to be committed or not.
    public var token: Int64? = nil
    /// A shard's batch: the stream sequence of its partition's last message. Committed with
    /// the batch (`cjm.partition_state`) on condition that the partition still stands where
    /// this sink last committed it; see ``PartitionMoved``.
    public var streamSequence: Int64? = nil
    public init() {}

    public var isEmpty: Bool { events.isEmpty && rejections.isEmpty && checkpoints.isEmpty && forgottenFiles.isEmpty }
    public var count: Int { events.count + rejections.count }
}

/// How the watermark moves when a batch is committed.
public enum WatermarkRule: Sendable {
    /// Replay: largest `ts` seen − allowed lateness.
    case replay
    /// Live: the given wall-clock time − allowed lateness.
    case live(now: EventTime)
    /// End of a replay: apply everything up to `asOf` (nil: the largest `ts` seen).
    case finish(asOf: EventTime?)
    /// Exactly this watermark (rebuild feeds stored events in time order).
    case through(EventTime)
}

/// What a committed batch did.
public struct BatchOutcome: Sendable, Equatable {
    /// Events stored for the first time.
    public var stored = 0
    /// Events whose id was already stored (in this batch, this run or an earlier one).
    public var duplicates = 0
    /// Lines written to the dead-letter table.
    public var rejected = 0
    /// Events applied after the watermark had passed them.
    public var late = 0
    /// Duplicates and late events by source (for metrics).
    public var duplicatesBySource: [String: Int] = [:]
    public var lateBySource: [String: Int] = [:]
    /// Events dead-lettered as older than the retention horizon (`behind_retention`), by
    /// source; included in ``rejected``.
    public var behindRetentionBySource: [String: Int] = [:]
    /// Drop-off alerts that fired or resolved in this batch, in order (already in `cjm.alerts`
    /// and notified on `cjm_alerts`); the caller forwards them to the webhook.
    public var alertTransitions: [AlertTransition] = []
    public init() {}
}
