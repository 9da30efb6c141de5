/// The `reason` label of `cjmd_events_rejected_total`: the seven machine-readable
/// dead-letter reasons of docs/events.md.
///
/// The raw values equal `EventDecoding.RejectionReason`'s, so the pipeline converts with
/// `RejectReasonLabel(rawValue: rejection.reason.rawValue)`. This module does not depend on
/// EventDecoding, which keeps metrics usable from every layer.
public enum RejectReasonLabel: String, CaseIterable, Sendable {
    /// The line is not valid UTF-8.
    case invalidUTF8 = "invalid_utf8"
    /// The line is not a single JSON value.
    case invalidJSON = "invalid_json"
    /// The line is JSON, but not an object.
    case notAnObject = "not_an_object"
    /// A required field is absent.
    case missingField = "missing_field"
    /// A field has the wrong type or size.
    case invalidField = "invalid_field"
    /// `ts` is before 2000-01-01 or too far in the future.
    case tsOutOfRange = "ts_out_of_range"
    /// The line is longer than `max_line_bytes`.
    case lineTooLong = "line_too_long"
}

/// The `result` label of `cjmd_reloads_total`.
public enum ReloadResult: String, CaseIterable, Sendable {
    /// The new configuration was read, validated and applied.
    case success
    /// The new configuration was rejected; the previous one stays in force.
    case failure
}
