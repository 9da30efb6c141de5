import DaemonSettings
import EventDecoding
import FileTail
import IngestEnvelope
import JourneyCore
import JourneyStore
import Logging
import PostgresClient

/// `cjmd replay`: pushes NDJSON files through the same decode → engine → store path as the
/// daemon, in batches of `settings.batchMaxEvents` (the command's `--batch-events`), with the
/// replay watermark (largest `ts` seen − allowed lateness), and finishes at `--as-of`.
///
/// Each batch commits, with its lines, how far each regular file has been read (like a tail
/// source's checkpoint, under the source `replay:PATH`). A replay that was killed therefore
/// resumes after the last committed line, and a file replayed again is read only from where
/// the last replay ended: its lines, dead letters included, are stored exactly once. A file
/// whose first bytes changed, or that shrank, is read from the start; events already stored
/// are recognised by their ids.
///
/// Derived rows are written when the changes waiting for them reach
/// ``defaultDerivedWriteBudget`` bytes, after at most ``derivedWriteInterval`` events, and
/// at the end, not with every batch (see ``JourneySink/WritePolicy/derivedWriteInterval``): most of a
/// replay's database work was rewriting the same instances, once per batch or interval,
/// that one write at the end stores once.
public struct ReplayRunner {
    /// Events (dead letters included) per transaction of `cjmd replay` unless `--batch-events`
    /// says otherwise. A bulk load, not live traffic: each commit ends the database's work on
    /// one COPY and starts the next, and at 5,000 events (the live default) those pauses cost
    /// a tenth of a replay's time. A killed replay reads at most this many lines again (and
    /// re-applies the journaled events since the last derived write, as any restart does).
    public static let defaultBatchEvents = 50_000
    /// The largest `--batch-events`. A batch is held in memory until it commits (a few
    /// hundred bytes per event; a batch also ends once its lines pass 32 MiB).
    public static let maximumBatchEvents = 1_000_000
    /// How many events a replay applies at most between writes of the derived rows. A
    /// replay killed in between re-applies them at its next start (about 10 s per million).
    public static let defaultDerivedWriteInterval = 2_000_000
    /// Estimated bytes of waiting changes after which a replay writes the derived rows
    /// early: about 800,000 touched instances, or 4 million customer-touchpoint pairs.
    public static let defaultDerivedWriteBudget = 256 << 20

    public let settings: IngestSettings
    /// Events between writes of derived rows (0: with every batch).
    public var derivedWriteInterval = ReplayRunner.defaultDerivedWriteInterval
    /// Estimated bytes of waiting changes that trigger an early write.
    public var derivedWriteBudget = ReplayRunner.defaultDerivedWriteBudget
    /// Whether the engine applies each batch while the database stores its events (see
    /// ``JourneySink/WritePolicy/overlapsEngineWithCopy``).
    public var overlapsEngineWithCopy = true
    /// Closed instances before a seal (see ``JourneySink/WritePolicy/sealAfterClosedInstances``).
    public var sealAfterClosedInstances = JourneySink.WritePolicy().sealAfterClosedInstances
    /// Instances per sealed row (see ``JourneySink/WritePolicy/sealedChunkSize``).
    public var sealedChunkSize = JourneySink.WritePolicy().sealedChunkSize
    private let clock: @Sendable () -> EventTime
    private let logger: Logger

    /// Totals of a replay.
    public struct Summary: Sendable, Equatable {
        public var lines = 0
        public var outcome = BatchOutcome()
        public var blankLines = 0
        /// Batches written again after their COPY met ids stored before (see
        /// ``JourneySink/WritePolicy/overlapsEngineWithCopy``).
        public var batchesWrittenAgain = 0
    }

    public init(settings: IngestSettings, clock: @escaping @Sendable () -> EventTime, logger: Logger) {
        self.settings = settings
        self.clock = clock
        self.logger = logger
    }

    /// How a replay's sink writes its derived rows.
    public var writePolicy: JourneySink.WritePolicy {
        var policy = JourneySink.WritePolicy()
        policy.derivedWriteInterval = derivedWriteInterval
        policy.derivedWriteBudget = derivedWriteBudget
        policy.overlapsEngineWithCopy = overlapsEngineWithCopy
        policy.sealAfterClosedInstances = sealAfterClosedInstances
        policy.sealedChunkSize = sealedChunkSize
        return policy
    }

    /// Replays `paths` in order into the database of `connection` (migrated, journeys
    /// published), then applies everything up to `asOf`.
    /// - Parameter onAlerts: told about the alert transitions of each committed batch.
    public func replay(
        _ paths: [String], configuration: CJMConfiguration, connection: PostgresConnection, asOf: EventTime?,
        onAlerts: @escaping ([AlertTransition]) -> Void = { _ in }
    ) throws -> Summary {
        let sink = try JourneySink(
            configuration: configuration, connection: connection, logger: logger, policy: writePolicy)
        var summary = Summary()
        var batcher = LineBatcher()
        var positions: [SourceFileKey: SourceCheckpoint] = [:]
        func commit(_ batch: IngestBatch, _ rule: WatermarkRule) throws {
            let outcome = try sink.commit(batch, watermark: rule)
            summary.outcome.stored += outcome.stored
            summary.outcome.duplicates += outcome.duplicates
            summary.outcome.rejected += outcome.rejected
            summary.outcome.late += outcome.late
            summary.outcome.alertTransitions += outcome.alertTransitions
            onAlerts(outcome.alertTransitions)
            // Days behind the retention horizon go as the watermark passes them (cheap
            // when none is due; only after derived rows are written, see RetentionKeeper).
            sink.maintainRetention(now: clock())
        }
        for path in paths {
            let reader = try FileReader(path: path)
            let source = path == "-" ? "replay:stdin" : "replay:\(path)"
            let position = try startPosition(of: reader, source: source, sink: sink)
            // Lines are read and decoded ahead, on another thread, while batches commit here.
            let readAhead = ReplayReadAhead(
                reader: reader, source: source, position: position, batcher: batcher,
                settings: settings, clock: clock)
            do {
                reading: while true {
                    switch try readAhead.next() {
                    case .batch(var batch):
                        // Positions left over from the previous file go with the first batch.
                        if !positions.isEmpty {
                            batch.checkpoints.merge(positions) { _, new in new }
                            positions = [:]
                        }
                        try commit(batch, .replay)
                    case .end(let rest, let unbatched, let lines):
                        batcher = rest
                        positions.merge(unbatched) { _, new in new }
                        summary.lines += lines
                        break reading
                    }
                }
            } catch {
                readAhead.stop()
                throw error
            }
            logger.debug("replayed file", metadata: ["path": "\(path)", "lines": "\(summary.lines)"])
        }
        summary.blankLines = batcher.blankLines
        var last = batcher.take()
        last.checkpoints.merge(positions) { _, new in new }
        try commit(last, .finish(asOf: asOf))
        summary.batchesWrittenAgain = sink.batchesWrittenAgain
        try sink.reclaimSealedRows()
        return summary
    }

    /// Where to start reading a regular file: after the lines an earlier replay committed,
    /// if it is the same file (device, inode, first bytes) and not shorter; else at 0. Moves
    /// the reader there. Nil for standard input and pipes, which are read whole.
    private func startPosition(of reader: borrowing FileReader, source: String, sink: JourneySink) throws
        -> SourceCheckpoint?
    {
        guard let status = reader.regularFileStatus() else { return nil }
        let head = try reader.head(upTo: ContentFingerprint.maximumLength)
        var position = SourceCheckpoint(
            source: source,
            file: FilePosition(
                path: reader.path, identity: FileIdentity(device: status.device, inode: status.inode),
                fingerprint: ContentFingerprint.of(head), offset: 0))
        let stored = try sink.storedCheckpoints(source: source).first { $0.key == position.key }
        if let stored, stored.offset > 0 {
            if stored.offset <= status.size, ContentFingerprint.matches(stored.file.fingerprint, head: head) {
                position.offset = stored.offset
                try reader.seek(to: stored.offset)
                logger.info(
                    "resuming after the lines an earlier replay committed",
                    metadata: [
                        "path": "\(reader.path)", "offset": "\(stored.offset)", "size": "\(status.size)",
                    ])
            } else {
                logger.info(
                    "the file changed since an earlier replay; reading it from the start",
                    metadata: [
                        "path": "\(reader.path)"
                    ])
            }
        }
        return position
    }
}
