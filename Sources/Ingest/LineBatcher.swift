import EventDecoding
import IngestEnvelope
import JourneyCore
import JourneyStore

/// Turns a replay's framed lines into batches: decodes each line through the file's
/// ``RecordDecoder`` and keeps accepted events and rejected lines in arrival order.
public struct LineBatcher: Sendable {
    public private(set) var batch = IngestBatch()
    /// Blank lines seen (neither events nor rejections).
    public private(set) var blankLines = 0
    /// Bytes of the lines in ``batch`` (a rejected line's as kept): with the count of
    /// lines, what ends a replay batch, also when the batch carries over from one file to
    /// the next.
    public private(set) var batchLineBytes = 0

    public init() {}

    /// Decodes one framed line with `decoder` (the file's source) into the batch.
    public mutating func add(_ line: FramedLine, decoder: RecordDecoder, receivedAt: EventTime) {
        switch decoder.decode(line, receivedAt: receivedAt) {
        case .event(let event):
            batch.events.append(event)
            if case .line(let bytes) = line { batchLineBytes += bytes.count }
        case .rejection(let rejection):
            batch.rejections.append(rejection)
            batchLineBytes += rejection.raw.count
        case .blank:
            blankLines += 1
        }
    }

    /// Hands out the batch collected so far and starts a new one.
    public mutating func take() -> IngestBatch {
        defer {
            batch = IngestBatch()
            batchLineBytes = 0
        }
        return batch
    }
}
