import EventDecoding
import JourneyCore
import JourneyStore

/// Turns framed lines into a batch: decodes each line, keeps accepted events and rejected
/// lines (with the raw bytes, cut to `max_line_bytes`) in arrival order.
public struct LineBatcher: Sendable {
    public let decoder: EventDecoder
    public private(set) var batch = IngestBatch()
    /// Blank lines seen (neither events nor rejections).
    public private(set) var blankLines = 0
    /// Bytes of the lines in ``batch`` (a rejected line's as kept): with the count of
    /// lines, what ends a replay batch, also when the batch carries over from one file to
    /// the next.
    public private(set) var batchLineBytes = 0

    public init(settings: IngestSettings) {
        self.decoder = EventDecoder(settings: settings)
    }

    /// Decodes one framed line from `source` received at `now`.
    public mutating func add(_ line: FramedLine, source: String, now: EventTime) {
        switch line {
        case .line(let bytes):
            switch decoder.decode(bytes, now: now) {
            case .event(let event):
                batch.events.append(AcceptedEvent(event: event, source: source, receivedAt: now))
                batchLineBytes += bytes.count
            case .rejected(let rejection):
                let raw = Array(bytes.prefix(decoder.settings.maxLineBytes))
                batch.rejections.append(RejectedLine(
                    reason: rejection.reason.rawValue, detail: rejection.detail,
                    raw: raw, source: source, receivedAt: now))
                batchLineBytes += raw.count
            case .blank:
                blankLines += 1
            }
        case .tooLong(let prefix, let length):
            let rejection = Rejection.lineTooLong(length: length, maxLineBytes: decoder.settings.maxLineBytes)
            batch.rejections.append(RejectedLine(
                reason: rejection.reason.rawValue, detail: rejection.detail, raw: Array(prefix),
                source: source, receivedAt: now))
            batchLineBytes += prefix.count
        }
    }

    /// Hands out the batch collected so far and starts a new one.
    public mutating func take() -> IngestBatch {
        defer { batch = IngestBatch(); batchLineBytes = 0 }
        return batch
    }
}
