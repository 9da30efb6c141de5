import EventDecoding
import JourneyCore
import JourneyStore
import Logging

/// `cjmd replay`: pushes NDJSON files through the same decode → engine → store path as the
/// daemon, in batches of `batch_max_events`, with the replay watermark (largest `ts` seen −
/// allowed lateness), and finishes at `--as-of`. Replaying the same files again stores
/// nothing new: every event id is already there.
public struct ReplayRunner {
    public let settings: IngestSettings
    private let clock: @Sendable () -> EventTime
    private let logger: Logger

    /// Totals of a replay.
    public struct Summary: Sendable, Equatable {
        public var lines = 0
        public var outcome = BatchOutcome()
        public var blankLines = 0
    }

    public init(settings: IngestSettings, clock: @escaping @Sendable () -> EventTime, logger: Logger) {
        self.settings = settings
        self.clock = clock
        self.logger = logger
    }

    /// Replays `paths` in order into `sink`, then applies everything up to `asOf`.
    /// - Parameter onAlerts: told about the alert transitions of each committed batch.
    public func replay(
        _ paths: [String], into sink: JourneySink, asOf: EventTime?,
        onAlerts: @escaping ([AlertTransition]) -> Void = { _ in }
    ) throws -> Summary {
        var summary = Summary()
        var batcher = LineBatcher(settings: settings)
        func commit(_ rule: WatermarkRule) throws {
            let batch = batcher.take()
            let outcome = try sink.commit(batch, watermark: rule)
            summary.outcome.stored += outcome.stored
            summary.outcome.duplicates += outcome.duplicates
            summary.outcome.rejected += outcome.rejected
            summary.outcome.late += outcome.late
            summary.outcome.alertTransitions += outcome.alertTransitions
            onAlerts(outcome.alertTransitions)
        }
        for path in paths {
            let reader = try FileReader(path: path)
            let source = path == "-" ? "replay:stdin" : "replay:\(path)"
            var framer = LineFramer(maxLineBytes: settings.maxLineBytes)
            let handle: (FramedLine, Int64) throws -> Void = { line, _ in
                summary.lines += 1
                batcher.add(line, source: source, now: clock())
                if batcher.batch.count >= settings.batchMaxEvents { try commit(.replay) }
            }
            try reader.forEachChunk { chunk in try framer.append(chunk, forEachLine: handle) }
            try framer.finish(handle)
            logger.debug("replayed file", metadata: ["path": "\(path)", "lines": "\(summary.lines)"])
        }
        summary.blankLines = batcher.blankLines
        try commit(.finish(asOf: asOf))
        return summary
    }
}
