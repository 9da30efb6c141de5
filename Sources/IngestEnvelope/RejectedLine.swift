import EventDecoding
import JourneyCore

/// A line that was not an acceptable event: it goes to `cjm.rejected_events`.
public struct RejectedLine: Sendable {
    /// Why (the machine-readable `reason` column).
    public var reason: RejectionReason
    /// A sentence naming the field and the problem.
    public var detail: String
    /// The line's bytes, cut to `max_line_bytes`.
    public var raw: [UInt8]
    public var source: String
    public var receivedAt: EventTime

    public init(reason: RejectionReason, detail: String, raw: [UInt8], source: String, receivedAt: EventTime) {
        self.reason = reason
        self.detail = detail
        self.raw = raw
        self.source = source
        self.receivedAt = receivedAt
    }

    /// A decoder's verdict on a line, with the line's bytes (cut to `maxLineBytes`).
    public init(
        _ rejection: Rejection, raw: some Collection<UInt8>, maxLineBytes: Int, source: String, receivedAt: EventTime
    ) {
        self.init(
            reason: rejection.reason, detail: rejection.detail, raw: Array(raw.prefix(maxLineBytes)),
            source: source, receivedAt: receivedAt)
    }
}
