import Metrics
import Prometheus

extension CJMMetrics {
    /// A Prometheus factory over `registry` that gives cjmd's histograms their buckets
    /// (``CJMHistogramBuckets``) instead of swift-prometheus' defaults.
    ///
    /// Does not touch the global `MetricsSystem`, so tests may call it as often as they like.
    public static func makePrometheusFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[CJMMetricName.batchCommitSeconds.rawValue] = CJMHistogramBuckets.commitDuration
        factory.valueHistogramBuckets[CJMMetricName.batchEvents.rawValue] = CJMHistogramBuckets.batchEvents
        return factory
    }

    /// Creates cjmd's metrics over a fresh Prometheus registry.
    ///
    /// - Parameter sources: The configured source names; their series start at zero.
    /// - Returns: The metrics, and the registry that ``MetricsHTTPServer`` serves.
    public static func prometheus(
        sources: some Sequence<String> = [String](), httpSources: Set<String> = []
    ) -> (metrics: CJMMetrics, registry: PrometheusCollectorRegistry) {
        let registry = PrometheusCollectorRegistry()
        return (
            CJMMetrics(
                factory: makePrometheusFactory(registry: registry), sources: sources, httpSources: httpSources),
            registry
        )
    }

    /// Makes `registry` the process-wide swift-metrics backend, so metrics of libraries that
    /// use `MetricsSystem.factory` are exported alongside cjmd's.
    ///
    /// - Important: Call this once, from the executable's start-up, before anything records
    ///   metrics. swift-metrics stops the process if the global system is bootstrapped twice,
    ///   which is why library code and tests never call it.
    /// - Returns: The factory that was installed; pass it to ``init(factory:sources:)``.
    @discardableResult
    public static func bootstrapPrometheus(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        let factory = makePrometheusFactory(registry: registry)
        MetricsSystem.bootstrap(factory)
        return factory
    }
}
