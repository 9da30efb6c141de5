import EventDecoding
import Metrics
import NIOConcurrencyHelpers

/// Every metric cjmd exports, behind typed methods, created over a swift-metrics factory.
///
/// Handles are created once (at init for the configured sources, on first use for a
/// source added by a reload) and cached, so the hot path never allocates. Use one instance
/// per process; a second instance over the same factory shares the same series.
///
/// Label cardinality is bounded: sources come from the configuration and are capped at
/// ``maximumSourceCount`` (further names are counted under ``overflowSourceLabel``);
/// reasons and reload results are fixed enums.
public final class CJMMetrics: Sendable {
    /// The most distinct `source` label values; protects Prometheus if a caller passes
    /// something unbounded (a client address, say) by mistake.
    public static let maximumSourceCount = 256
    /// The `source` label used for names beyond ``maximumSourceCount``.
    public static let overflowSourceLabel = "_other"

    private let factory: any MetricsFactory
    private let sources: NIOLockedValueBox<[String: SourceMetrics]>
    private let commitDuration: Metrics.Timer
    private let batchEvents: Recorder
    private let bufferEvents: Meter
    private let reorderBufferEvents: Meter
    private let databaseUp: Meter
    private let openInstances: Meter
    private let alertsFiring: Meter
    private let databaseBytes: Meter
    private let watermark: Meter
    private let backpressure: Meter
    private let reloads: [ReloadResult: Counter]

    /// Creates every series, so each is exported (at zero) before anything happens.
    ///
    /// - Parameters:
    ///   - factory: Where the handles come from. For Prometheus, use a factory from
    ///     ``makePrometheusFactory(registry:)`` so the histograms get cjmd's buckets.
    ///   - sources: The configured source names; their series start at zero.
    ///   - httpSources: The names among `sources` of http sources; their response counters
    ///     start at zero too.
    public init(
        factory: any MetricsFactory, sources: some Sequence<String> = [String](),
        httpSources: Set<String> = []
    ) {
        self.factory = factory
        var bySource: [String: SourceMetrics] = [:]
        for name in sources where bySource[name] == nil && bySource.count < Self.maximumSourceCount {
            bySource[name] = SourceMetrics(source: name, factory: factory, answersHTTP: httpSources.contains(name))
        }
        self.sources = NIOLockedValueBox(bySource)

        func gauge(_ name: CJMMetricName) -> Meter {
            Meter(label: name.rawValue, dimensions: [], factory: factory)
        }
        commitDuration = Metrics.Timer(
            label: CJMMetricName.batchCommitSeconds.rawValue, dimensions: [], factory: factory)
        batchEvents = Recorder(
            label: CJMMetricName.batchEvents.rawValue, dimensions: [], aggregate: true, factory: factory)
        bufferEvents = gauge(.bufferEvents)
        reorderBufferEvents = gauge(.reorderBufferEvents)
        databaseUp = gauge(.databaseUp)
        openInstances = gauge(.openInstances)
        alertsFiring = gauge(.alertsFiring)
        databaseBytes = gauge(.databaseBytes)
        watermark = gauge(.watermarkSeconds)
        backpressure = gauge(.backpressure)
        var reloads: [ReloadResult: Counter] = [:]
        for result in ReloadResult.allCases {
            reloads[result] = Counter(
                label: CJMMetricName.reloads.rawValue,
                dimensions: [(CJMMetricLabel.result, result.rawValue)],
                factory: factory
            )
        }
        self.reloads = reloads
    }

    /// The cached series of source `name`, created on first use (e.g. after a reload added
    /// the source). Keep the result to skip the lookup on every event.
    public func source(_ name: String) -> SourceMetrics {
        sources.withLockedValue { bySource in
            if let existing = bySource[name] { return existing }
            let label = bySource.count < Self.maximumSourceCount ? name : Self.overflowSourceLabel
            if let overflow = bySource[label] { return overflow }
            let created = SourceMetrics(source: label, factory: factory)
            bySource[label] = created
            return created
        }
    }

    // MARK: Events by source

    /// Counts events of `source` accepted into the pipeline.
    public func recordAccepted(source: String, count: Int = 1) {
        self.source(source).recordAccepted(count: count)
    }

    /// Counts events of `source` published to a bus and acknowledged by it.
    public func recordForwarded(source: String, count: Int = 1) {
        self.source(source).recordForwarded(count: count)
    }

    /// Counts lines of `source` sent to the dead-letter table for `reason`.
    public func recordRejected(source: String, reason: RejectionReason, count: Int = 1) {
        self.source(source).recordRejected(reason: reason, count: count)
    }

    /// Counts events of `source` that were duplicates of already accepted ones.
    public func recordDuplicate(source: String, count: Int = 1) {
        self.source(source).recordDuplicate(count: count)
    }

    /// Counts events of `source` that arrived behind the watermark.
    public func recordLate(source: String, count: Int = 1) {
        self.source(source).recordLate(count: count)
    }

    /// Counts accepted events of `source` whose persona path held something other than a persona.
    public func recordIgnoredPersonas(source: String, count: Int = 1) {
        self.source(source).recordIgnoredPersonas(count: count)
    }

    /// Counts one request http source `source` answered with `status`.
    public func recordHTTPResponse(source: String, status: Int) {
        self.source(source).recordHTTPResponse(status: status)
    }

    /// Sets the number of open client connections of socket or http source `source`.
    public func setConnections(source: String, count: Int) {
        self.source(source).setConnections(count)
    }

    // MARK: Batches

    /// Records one committed batch: how long its transaction took and how many events it held.
    public func observeCommit(duration: Duration, events: Int) {
        commitDuration.record(duration: duration)
        batchEvents.record(events)
    }

    /// Records one committed batch, its duration given in seconds.
    public func observeCommit(seconds: Double, events: Int) {
        commitDuration.recordSeconds(seconds)
        batchEvents.record(events)
    }

    // MARK: State gauges

    /// Sets the number of events accepted but not yet committed.
    public func setBufferDepth(_ events: Int) {
        bufferEvents.set(events)
    }

    /// Sets the number of events waiting in the reorder buffer for the watermark.
    public func setReorderBufferDepth(_ events: Int) {
        reorderBufferEvents.set(events)
    }

    /// Sets whether PostgreSQL is reachable (exported as 1 or 0).
    public func setDatabaseUp(_ up: Bool) {
        databaseUp.set(up ? 1 : 0)
    }

    /// Sets the number of open journey instances.
    public func setOpenInstances(_ count: Int) {
        openInstances.set(count)
    }

    /// Sets the number of drop-off alerts currently firing.
    public func setAlertsFiring(_ count: Int) {
        alertsFiring.set(count)
    }

    /// Sets the bytes schema `cjm` takes on disk.
    public func setDatabaseBytes(_ bytes: Int64) {
        databaseBytes.set(Double(bytes))
    }

    /// Sets the engine watermark from microseconds since the Unix epoch (`EventTime`'s unit);
    /// nil, before the engine has a watermark, exports 0.
    public func setWatermark(microsecondsSinceEpoch: Int64?) {
        guard let microseconds = microsecondsSinceEpoch else {
            watermark.set(0)
            return
        }
        watermark.set(Double(microseconds) / 1_000_000)
    }

    /// Sets whether input is paused because the commit buffer is full (exported as 1 or 0).
    public func setBackpressure(_ active: Bool) {
        backpressure.set(active ? 1 : 0)
    }

    /// Counts one configuration reload and its outcome.
    public func recordReload(_ result: ReloadResult) {
        reloads[result]?.increment()
    }
}
