import EventDecoding
import Foundation
import IngestEnvelope
import JourneyCore
import JourneyStore

/// Reads, frames and decodes one replayed file on a thread of its own, a batch ahead
/// of the caller, who commits them: decoding (a tenth of a replay's CPU) then overlaps the
/// database's and the engine's work instead of adding to it.
///
/// The caller takes batches in file order with ``next()`` until it gets the end, which
/// hands back the batcher (holding the file's last, partial batch) and the positions not
/// yet in a batch, so the next file continues them as if read on the caller's thread.
final class ReplayReadAhead: @unchecked Sendable {
    /// What ``next()`` hands out.
    enum Next {
        case batch(IngestBatch)
        /// The file is read: the batcher with what is left, the checkpoint of the lines
        /// after the last batch, and how many lines were read.
        case end(LineBatcher, [SourceFileKey: SourceCheckpoint], lines: Int)
    }

    /// Batches read ahead at most: one keeps the caller busy (a batch is tens of thousands
    /// of lines, see ``ReplayRunner/defaultBatchEvents``); each more costs its memory.
    static let depth = 1
    /// A batch also ends once its lines hold this many bytes or more
    /// (``LineBatcher/batchLineBytes``), whatever `batchMaxEvents` says: a batch stays in
    /// memory until it commits, dead letters keep each line's bytes (up to `max_line_bytes`),
    /// and a file of long lines would otherwise make batches of gigabytes.
    static let batchMaxBytes = 32 << 20

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var ready: [IngestBatch] = []
    private var end: Result<(LineBatcher, [SourceFileKey: SourceCheckpoint], Int), any Error>?
    private var stopped = false

    private struct Stopped: Error {}

    /// Starts reading `reader` (positioned at `position`'s offset, if any) on a new thread.
    init(
        reader: consuming FileReader, source: String, position: SourceCheckpoint?, batcher: LineBatcher,
        settings: IngestSettings, clock: @escaping @Sendable () -> EventTime
    ) {
        let box = ReaderBox(reader)
        let thread = Thread { [self] in
            let result = Result {
                try Self.read(
                    box, source: source, position: position, batcher: batcher,
                    settings: settings, clock: clock, handOver: hand)
            }
            condition.lock()
            end = result
            condition.broadcast()
            condition.unlock()
        }
        thread.name = "cjmd-replay-read"
        thread.start()
    }

    /// The next batch, or the end of the file. Rethrows a read error.
    func next() throws -> Next {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty && end == nil { condition.wait() }
        if !ready.isEmpty {
            let batch = ready.removeFirst()
            condition.broadcast()
            return .batch(batch)
        }
        let (batcher, positions, lines) = try end!.get()
        return .end(batcher, positions, lines: lines)
    }

    /// Tells the reading thread to stop at its next batch (call when giving up before the
    /// end). Does not wait for it: it may be blocked reading a pipe that never ends, and
    /// it only reads, so it can finish on its own.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for room, then queues `batch`; throws when stopped.
    private func hand(_ batch: IngestBatch) throws {
        condition.lock()
        defer { condition.unlock() }
        while ready.count >= Self.depth && !stopped { condition.wait() }
        guard !stopped else { throw Stopped() }
        ready.append(batch)
        condition.broadcast()
    }

    private static func read(
        _ box: ReaderBox, source: String, position start: SourceCheckpoint?, batcher start2: LineBatcher,
        settings: IngestSettings, clock: @Sendable () -> EventTime, handOver: (IngestBatch) throws -> Void
    ) throws -> (LineBatcher, [SourceFileKey: SourceCheckpoint], Int) {
        guard let reader = box.take() else { preconditionFailure("ReplayReadAhead read its file twice") }
        var batcher = start2
        var position = start
        var positions: [SourceFileKey: SourceCheckpoint] = [:]
        var lines = 0
        var framer = LineFramer(maxLineBytes: settings.maxLineBytes, startOffset: position?.offset ?? 0)
        let decoder = RecordDecoder(source: source, settings: settings)
        func handle(_ line: FramedLine, _ endOffset: Int64) throws {
            lines += 1
            batcher.add(line, decoder: decoder, receivedAt: clock())
            if var current = position {
                current.offset = endOffset
                position = current
                positions[current.key] = current
            }
            if batcher.batch.count >= settings.batchMaxEvents || batcher.batchLineBytes >= Self.batchMaxBytes {
                var batch = batcher.take()
                batch.checkpoints = positions
                positions = [:]
                try handOver(batch)
            }
        }
        try reader.forEachChunk { chunk in try framer.append(chunk, forEachLine: handle) }
        try framer.finish(handle)
        return (batcher, positions, lines)
    }
}

/// Carries a file reader (not copyable) to the reading thread.
private final class ReaderBox: @unchecked Sendable {
    private var reader: FileReader?
    init(_ reader: consuming FileReader) { self.reader = consume reader }
    func take() -> FileReader? { reader.take() }
}
