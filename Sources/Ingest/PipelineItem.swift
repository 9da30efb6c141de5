import IngestEnvelope
import JourneyStore

/// One decoded line on its way to the database: an event, or a line for the dead-letter table;
/// from a tailed file, with the file's position just past the line. Or a position alone (a
/// blank line, a file opened at an offset), or a tailed file dropped for good.
public enum PipelineItem: Sendable {
    case event(AcceptedEvent, SourceCheckpoint? = nil)
    case rejection(RejectedLine, SourceCheckpoint? = nil)
    case filePosition(SourceCheckpoint)
    case forgetFile(SourceFileKey)
}

extension IngestBatch {
    /// Adds queued items in order: a file's latest position wins.
    mutating func append(_ item: PipelineItem) {
        switch item {
        case .event(let event, let position):
            events.append(event)
            if let position { checkpoints[position.key] = position }
        case .rejection(let rejection, let position):
            rejections.append(rejection)
            if let position { checkpoints[position.key] = position }
        case .filePosition(let position):
            checkpoints[position.key] = position
        case .forgetFile(let key):
            checkpoints[key] = nil
            forgottenFiles.insert(key)
        }
    }
}
