/// Every metric cjmd exports, by its Prometheus name.
///
/// This list is the reviewed contract for dashboards and alert rules: renaming a case
/// breaks them, so a name changes only together with the operator documentation.
/// Labels are fixed per metric (see each case); their values come from bounded sets
/// (configured source names, the seven rejection reasons, two reload results).
public enum CJMMetricName: String, CaseIterable, Sendable {
    /// Counter `{source}`: events accepted into the pipeline.
    case eventsAccepted = "cjmd_events_accepted_total"
    /// Counter `{source}`: accepted events published to a bus (gateway mode, `forward_to`)
    /// and acknowledged by JetStream; they count as accepted too.
    case eventsForwarded = "cjmd_events_forwarded_total"
    /// Counter `{source, reason}`: lines sent to the dead-letter table.
    case eventsRejected = "cjmd_events_rejected_total"
    /// Counter `{source}`: events whose id was already accepted; they changed nothing.
    case eventsDuplicate = "cjmd_events_duplicate_total"
    /// Counter `{source}`: events that arrived behind the watermark (applied on arrival).
    case eventsLate = "cjmd_events_late_total"
    /// Counter `{source}`: accepted events whose `personas.from` path held something other
    /// than a persona (a string of 1 to 64 characters); the value was ignored.
    case personaValuesIgnored = "cjmd_persona_values_ignored_total"
    /// Histogram: seconds one batch transaction took to commit, 1 ms to 10 s buckets.
    case batchCommitSeconds = "cjmd_batch_commit_seconds"
    /// Histogram: events per committed batch.
    case batchEvents = "cjmd_batch_events"
    /// Gauge: events accepted but not yet committed.
    case bufferEvents = "cjmd_buffer_events"
    /// Gauge: events stored and waiting in the reorder buffer for the watermark.
    case reorderBufferEvents = "cjmd_reorder_buffer_events"
    /// Gauge: 1 while PostgreSQL is reachable, 0 otherwise.
    case databaseUp = "cjmd_database_up"
    /// Gauge: journey instances still open (not yet converted or expired).
    case openInstances = "cjmd_open_instances"
    /// Gauge: drop-off spike alerts currently firing (docs/alerts.md).
    case alertsFiring = "cjmd_alerts_firing"
    /// Gauge: bytes schema `cjm` takes on disk, indexes and TOAST included (`cjm.storage`),
    /// measured about once a minute while the daemon commits.
    case databaseBytes = "cjmd_database_bytes"
    /// Gauge `{source}`: open client connections of a socket or http source.
    case connections = "cjmd_connections"
    /// Counter `{source, status}`: requests an http source answered, by HTTP status code
    /// (``SourceMetrics/httpStatuses``; anything else as `other`).
    case httpResponses = "cjmd_http_responses_total"
    /// Gauge: the engine watermark as Unix seconds; 0 before the first watermark.
    case watermarkSeconds = "cjmd_watermark_seconds"
    /// Gauge: 1 while input is paused because the commit buffer is full, 0 otherwise.
    case backpressure = "cjmd_backpressure"
    /// Counter `{result}`: configuration reloads, by ``ReloadResult``.
    case reloads = "cjmd_reloads_total"

    /// The Prometheus metric name.
    public var prometheusName: String { rawValue }
}

/// The label names cjmd's metrics use; kept here so no call site spells them differently.
public enum CJMMetricLabel {
    /// The configured name of the source an event came from.
    public static let source = "source"
    /// The machine-readable rejection reason (see ``RejectionReason``).
    public static let reason = "reason"
    /// The outcome of a configuration reload (see ``ReloadResult``).
    public static let result = "result"
    /// The HTTP status code an http source answered with.
    public static let status = "status"
}
