/// Why a line was sent to the dead-letter table (docs/events.md). The raw values are the
/// machine-readable `reason` column of `cjm.rejected_events` and must never change.
public enum RejectionReason: String, Sendable, Hashable, CaseIterable {
    /// The line is not valid UTF-8 (checked before anything else).
    case invalidUTF8 = "invalid_utf8"
    /// The line is not a single, complete RFC 8259 JSON value.
    case invalidJSON = "invalid_json"
    /// The line is valid JSON, but not an object.
    case notAnObject = "not_an_object"
    /// A required field (`customer_id`, `event`, `ts`) is absent or `null` under every alias.
    case missingField = "missing_field"
    /// A field has the wrong type or size, or a value PostgreSQL cannot store.
    case invalidField = "invalid_field"
    /// `ts` is before 2000-01-01 or more than `max_future_skew` ahead of the clock.
    case tsOutOfRange = "ts_out_of_range"
    /// The line is longer than `max_line_bytes`; only its first `max_line_bytes` are kept.
    case lineTooLong = "line_too_long"
    /// The event is older than the retention horizon (`retention.events` behind the
    /// watermark): its day's raw events are no longer kept, so it is neither stored nor
    /// applied (docs/storage.md). Given by the store, never by the decoder.
    case behindRetention = "behind_retention"
}

/// A line that cannot become an event: the machine-readable reason and a sentence for people.
public struct Rejection: Sendable, Hashable, Error, CustomStringConvertible {
    /// The machine-readable reason.
    public var reason: RejectionReason
    /// A human-readable sentence that names the field (or `line`) and says what was expected
    /// and what was found, e.g. `customer_id: expected a string of 1–256 bytes, got a number`.
    public var detail: String

    /// Creates a rejection.
    public init(reason: RejectionReason, detail: String) {
        self.reason = reason
        self.detail = detail
    }

    /// The rejection for a line the ``LineFramer`` reported as too long.
    /// - Parameters:
    ///   - length: The full length of the line in bytes, without its line ending.
    ///   - maxLineBytes: The configured limit.
    public static func lineTooLong(length: Int64, maxLineBytes: Int) -> Rejection {
        Rejection(
            reason: .lineTooLong,
            detail: "line: \(length) bytes is longer than max_line_bytes (\(maxLineBytes)); "
                + "only the first \(maxLineBytes) bytes are kept"
        )
    }

    /// `reason: detail`, for logs.
    public var description: String { "\(reason.rawValue): \(detail)" }
}
