import EventDecoding
import IngestEnvelope
import JourneyCore

/// The one path from a source's line to what the pipeline commits. Every source — sockets,
/// tailed files, replayed files, and those to come — frames its input into lines and hands
/// each here; what comes back is an accepted event or a dead letter, stamped with the
/// source's name and the time of receipt, or nothing for a blank line.
public struct RecordDecoder: Sendable {
    /// What one line becomes.
    public enum Record: Sendable {
        case event(AcceptedEvent)
        case rejection(RejectedLine)
        /// A blank line: nothing to store (a file source still moves its position past it).
        case blank
    }

    /// The source's name, stored with each event and dead letter.
    public let source: String
    public let decoder: EventDecoder
    /// The source forwards its events to a bus: each accepted event keeps its line.
    public let keepsLines: Bool

    public init(source: String, settings: IngestSettings, keepsLines: Bool = false) {
        self.source = source
        self.decoder = EventDecoder(settings: settings)
        self.keepsLines = keepsLines
    }

    /// The longest line kept; a longer one is dead-lettered with its first this many bytes.
    public var maxLineBytes: Int { decoder.settings.maxLineBytes }

    /// A complete line, without its line ending.
    public func decode(_ line: UnsafeRawBufferPointer, receivedAt: EventTime) -> Record {
        var ignoredPersona = false
        switch decoder.decode(line, now: receivedAt, ignoredPersona: &ignoredPersona) {
        case .event(let event):
            return .event(
                AcceptedEvent(
                    event: event, source: source, receivedAt: receivedAt, ignoredPersona: ignoredPersona,
                    line: keepsLines ? Array(line) : nil))
        case .rejected(let rejection):
            return .rejection(
                RejectedLine(
                    rejection, raw: line, maxLineBytes: maxLineBytes, source: source, receivedAt: receivedAt))
        case .blank:
            return .blank
        }
    }

    /// A line as ``LineFramer`` hands it out: complete, or longer than `max_line_bytes`.
    public func decode(_ line: FramedLine, receivedAt: EventTime) -> Record {
        switch line {
        case .line(let bytes):
            return decode(bytes, receivedAt: receivedAt)
        case .tooLong(let prefix, let length):
            return overLong(prefix: prefix, length: length, receivedAt: receivedAt)
        }
    }

    /// A line of `length` bytes, longer than `max_line_bytes`, of which `prefix` was kept.
    public func overLong(prefix: some Collection<UInt8>, length: Int64, receivedAt: EventTime) -> Record {
        .rejection(
            RejectedLine(
                .lineTooLong(length: length, maxLineBytes: maxLineBytes), raw: prefix, maxLineBytes: maxLineBytes,
                source: source, receivedAt: receivedAt))
    }
}

extension PipelineItem {
    /// A decoded line with the source's position just past it (for sources that have
    /// positions); nil for a blank line without a position.
    init?(_ record: RecordDecoder.Record, position: SourceCheckpoint? = nil) {
        switch record {
        case .event(let event): self = .event(event, position)
        case .rejection(let rejection): self = .rejection(rejection, position)
        case .blank:
            guard let position else { return nil }
            self = .filePosition(position)
        }
    }
}
