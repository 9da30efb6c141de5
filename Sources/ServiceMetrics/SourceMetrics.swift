import EventDecoding
import Metrics

/// The per-source series of one configured source, created once and then reused, so
/// recording an event costs an atomic add and no allocation or lookup.
///
/// Get one from ``CJMMetrics/source(_:)`` and keep it where the source is read.
public final class SourceMetrics: Sendable {
    /// The `source` label value of every series here.
    public let source: String
    private let accepted: Counter
    private let forwarded: Counter
    private let duplicate: Counter
    private let late: Counter
    private let ignoredPersonas: Counter
    private let rejected: [RejectionReason: Counter]
    private let connections: Meter
    private let factory: any MetricsFactory
    /// The response counters of an http source, by status; empty for other sources.
    private let responses: [Int: Counter]

    /// The statuses an http source answers with (docs/http.md); others count as `other`.
    public static let httpStatuses = [200, 400, 401, 404, 405, 413, 415, 503]

    init(source: String, factory: any MetricsFactory, answersHTTP: Bool = false) {
        self.factory = factory
        self.source = source
        let sourceLabel = [(CJMMetricLabel.source, source)]
        accepted = Counter(label: CJMMetricName.eventsAccepted.rawValue, dimensions: sourceLabel, factory: factory)
        forwarded = Counter(label: CJMMetricName.eventsForwarded.rawValue, dimensions: sourceLabel, factory: factory)
        duplicate = Counter(label: CJMMetricName.eventsDuplicate.rawValue, dimensions: sourceLabel, factory: factory)
        late = Counter(label: CJMMetricName.eventsLate.rawValue, dimensions: sourceLabel, factory: factory)
        ignoredPersonas = Counter(
            label: CJMMetricName.personaValuesIgnored.rawValue, dimensions: sourceLabel, factory: factory)
        var rejected: [RejectionReason: Counter] = [:]
        for reason in RejectionReason.allCases {
            rejected[reason] = Counter(
                label: CJMMetricName.eventsRejected.rawValue,
                dimensions: sourceLabel + [(CJMMetricLabel.reason, reason.rawValue)],
                factory: factory
            )
        }
        self.rejected = rejected
        connections = Meter(label: CJMMetricName.connections.rawValue, dimensions: sourceLabel, factory: factory)
        var responses: [Int: Counter] = [:]
        for status in answersHTTP ? Self.httpStatuses : [] {
            responses[status] = Self.responseCounter(source: source, status: String(status), factory: factory)
        }
        self.responses = responses
    }

    private static func responseCounter(source: String, status: String, factory: any MetricsFactory) -> Counter {
        Counter(
            label: CJMMetricName.httpResponses.rawValue,
            dimensions: [(CJMMetricLabel.source, source), (CJMMetricLabel.status, status)], factory: factory)
    }

    /// Counts one request this (http) source answered with `status`.
    public func recordHTTPResponse(status: Int) {
        if let counter = responses[status] {
            counter.increment()
        } else {
            // A source that became http by a reload: the factory hands out the same series.
            let label = Self.httpStatuses.contains(status) ? String(status) : "other"
            Self.responseCounter(source: source, status: label, factory: factory).increment()
        }
    }

    /// Counts events accepted into the pipeline. Counts below 1 are ignored, since a
    /// Prometheus counter only grows.
    public func recordAccepted(count: Int = 1) {
        guard count > 0 else { return }
        accepted.increment(by: count)
    }

    /// Counts events published to a bus and acknowledged by it.
    public func recordForwarded(count: Int = 1) {
        guard count > 0 else { return }
        forwarded.increment(by: count)
    }

    /// Counts lines sent to the dead-letter table for `reason`.
    public func recordRejected(reason: RejectionReason, count: Int = 1) {
        guard count > 0, let counter = rejected[reason] else { return }
        counter.increment(by: count)
    }

    /// Counts events that were duplicates of already accepted ones.
    public func recordDuplicate(count: Int = 1) {
        guard count > 0 else { return }
        duplicate.increment(by: count)
    }

    /// Counts events that arrived behind the watermark.
    public func recordLate(count: Int = 1) {
        guard count > 0 else { return }
        late.increment(by: count)
    }

    /// Counts accepted events whose persona path held something other than a persona.
    public func recordIgnoredPersonas(count: Int = 1) {
        guard count > 0 else { return }
        ignoredPersonas.increment(by: count)
    }

    /// Sets the number of open client connections of this source.
    public func setConnections(_ count: Int) {
        connections.set(count)
    }

    /// Adds one open client connection.
    public func connectionOpened() {
        connections.increment()
    }

    /// Removes one open client connection.
    public func connectionClosed() {
        connections.decrement()
    }
}
