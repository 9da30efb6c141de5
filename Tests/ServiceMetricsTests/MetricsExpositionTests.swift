import EventDecoding
import Metrics
import Prometheus
import ServiceMetrics
import Testing

/// What Prometheus sees on `/metrics`, fetched over real loopback HTTP.
@Suite struct MetricsExpositionTests {
    @Test func recordedValuesAppearWithTheirLabels() async throws {
        let (metrics, registry) = CJMMetrics.prometheus(sources: ["web", "tail"])
        metrics.recordAccepted(source: "web", count: 3)
        metrics.recordAccepted(source: "web")
        metrics.recordRejected(source: "web", reason: .invalidJSON, count: 2)
        metrics.recordRejected(source: "tail", reason: .lineTooLong)
        metrics.recordDuplicate(source: "tail", count: 5)
        metrics.recordLate(source: "web", count: 6)
        metrics.setBufferDepth(42)
        metrics.setReorderBufferDepth(17)
        metrics.setDatabaseUp(true)
        metrics.setOpenInstances(1234)
        metrics.setAlertsFiring(2)
        metrics.setConnections(source: "web", count: 3)
        metrics.setWatermark(microsecondsSinceEpoch: 1_700_000_000_250_000)
        metrics.setBackpressure(true)
        metrics.recordReload(.success)
        metrics.recordReload(.failure)
        metrics.recordReload(.success)

        let page = try await withRunningServer(registry: registry) { server in
            try await RawHTTPClient.fetch(port: server.port, path: "/metrics")
        }

        #expect(page.statusCode == 200)
        #expect(page.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(page.headers["content-length"] == String(page.bodyByteCount))
        let lines = Set(page.lines.map(String.init))
        let expected = [
            #"cjmd_events_accepted_total{source="web"} 4"#,
            #"cjmd_events_accepted_total{source="tail"} 0"#,
            #"cjmd_events_rejected_total{source="web",reason="invalid_json"} 2"#,
            #"cjmd_events_rejected_total{source="web",reason="missing_field"} 0"#,
            #"cjmd_events_rejected_total{source="tail",reason="line_too_long"} 1"#,
            #"cjmd_events_duplicate_total{source="tail"} 5"#,
            #"cjmd_events_duplicate_total{source="web"} 0"#,
            #"cjmd_events_late_total{source="web"} 6"#,
            "cjmd_buffer_events 42.0",
            "cjmd_reorder_buffer_events 17.0",
            "cjmd_database_up 1.0",
            "cjmd_open_instances 1234.0",
            "cjmd_alerts_firing 2.0",
            #"cjmd_connections{source="web"} 3.0"#,
            #"cjmd_connections{source="tail"} 0.0"#,
            "cjmd_watermark_seconds 1700000000.25",
            "cjmd_backpressure 1.0",
            #"cjmd_reloads_total{result="success"} 2"#,
            #"cjmd_reloads_total{result="failure"} 1"#,
            "# TYPE cjmd_events_accepted_total counter",
            "# TYPE cjmd_database_up gauge",
            "# TYPE cjmd_batch_commit_seconds histogram",
        ]
        for line in expected {
            #expect(lines.contains(line), "missing line: \(line)")
        }
    }

    @Test func commitHistogramsHaveEveryBucketFromOneMillisecondToTenSeconds() async throws {
        let (metrics, registry) = CJMMetrics.prometheus()
        metrics.observeCommit(seconds: 0.003, events: 120)
        metrics.observeCommit(duration: .milliseconds(700), events: 5000)
        metrics.observeCommit(duration: .seconds(12), events: 1)

        let page = try await withRunningServer(registry: registry) { server in
            try await RawHTTPClient.fetch(port: server.port, path: "/metrics")
        }
        let lines = Set(page.lines.map(String.init))
        let commitBuckets = [
            ("0.001", 0), ("0.0025", 0), ("0.005", 1), ("0.01", 1), ("0.025", 1), ("0.05", 1),
            ("0.1", 1), ("0.25", 1), ("0.5", 1), ("1.0", 2), ("2.5", 2), ("5.0", 2), ("10.0", 2), ("+Inf", 3),
        ]
        for (bound, count) in commitBuckets {
            let line = #"cjmd_batch_commit_seconds_bucket{le="\#(bound)"} \#(count)"#
            #expect(lines.contains(line), "missing line: \(line)")
        }
        #expect(lines.contains("cjmd_batch_commit_seconds_count 3"))
        #expect(lines.contains("cjmd_batch_commit_seconds_sum 12.703"))
        let bucketLines = lines.filter { $0.hasPrefix("cjmd_batch_commit_seconds_bucket{") }
        #expect(bucketLines.count == commitBuckets.count)

        for (bound, count) in [("1.0", 1), ("100.0", 1), ("250.0", 2), ("2500.0", 2), ("5000.0", 3), ("+Inf", 3)] {
            let line = #"cjmd_batch_events_bucket{le="\#(bound)"} \#(count)"#
            #expect(lines.contains(line), "missing line: \(line)")
        }
        #expect(lines.contains("cjmd_batch_events_sum 5121.0"))
        #expect(lines.contains("# TYPE cjmd_batch_events histogram"))
    }

    @Test func everyNamedMetricIsExportedWithItsTypeBeforeAnythingHappens() {
        let (_, registry) = CJMMetrics.prometheus(sources: ["web", "sdk"], httpSources: ["sdk"])
        let page = registry.emitToString()
        #expect(page.contains(#"cjmd_http_responses_total{source="sdk",status="413"} 0"#))
        #expect(!page.contains(#"cjmd_http_responses_total{source="web""#))
        let histograms: Set<CJMMetricName> = [.batchCommitSeconds, .batchEvents]
        for name in CJMMetricName.allCases {
            let type = histograms.contains(name) ? "histogram" : name.rawValue.hasSuffix("_total") ? "counter" : "gauge"
            #expect(page.contains("# TYPE \(name.rawValue) \(type)\n"), "\(name.rawValue) is not exported as a \(type)")
        }
        #expect(page.contains("cjmd_database_up 0.0\n"))
        #expect(page.contains("cjmd_watermark_seconds 0.0\n"))
    }

    @Test func everyMetricNameFollowsPrometheusConventions() {
        let names = CJMMetricName.allCases.map(\.rawValue)
        #expect(Set(names).count == names.count)
        for name in names {
            #expect(name.hasPrefix("cjmd_"))
            #expect(name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }, "\(name)")
        }
    }

    @Test func rejectReasonsAreTheEightOfTheDocs() {
        // docs/events.md lists the reasons; a new one must be added here and to the dashboards.
        let spec: Set = [
            "invalid_utf8", "invalid_json", "not_an_object", "missing_field", "invalid_field",
            "ts_out_of_range", "line_too_long", "behind_retention",
        ]
        #expect(Set(RejectionReason.allCases.map(\.rawValue)) == spec)
    }

    @Test func gaugesFollowChangesAndFlagsExportZeroWhenOff() {
        let (metrics, registry) = CJMMetrics.prometheus(sources: ["sock"])
        metrics.setDatabaseUp(true)
        metrics.setDatabaseUp(false)
        metrics.setBackpressure(true)
        metrics.setBackpressure(false)
        metrics.setWatermark(microsecondsSinceEpoch: 5_000_000)
        metrics.setWatermark(microsecondsSinceEpoch: nil)
        let sock = metrics.source("sock")
        sock.connectionOpened()
        sock.connectionOpened()
        sock.connectionOpened()
        sock.connectionClosed()
        let page = registry.emitToString()
        #expect(page.contains("cjmd_database_up 0.0\n"))
        #expect(page.contains("cjmd_backpressure 0.0\n"))
        #expect(page.contains("cjmd_watermark_seconds 0.0\n"))
        #expect(page.contains(#"cjmd_connections{source="sock"} 2.0"# + "\n"))
    }

    @Test func countsBelowOneAreIgnoredSinceCountersOnlyGrow() {
        let (metrics, registry) = CJMMetrics.prometheus(sources: ["web"])
        metrics.recordAccepted(source: "web", count: 2)
        metrics.recordAccepted(source: "web", count: 0)
        metrics.recordAccepted(source: "web", count: -5)
        metrics.recordRejected(source: "web", reason: .notAnObject, count: -1)
        let page = registry.emitToString()
        #expect(page.contains(#"cjmd_events_accepted_total{source="web"} 2"# + "\n"))
        #expect(page.contains(#"cjmd_events_rejected_total{source="web",reason="not_an_object"} 0"# + "\n"))
    }

    @Test func aSourceAddedLaterGetsItsOwnCachedSeries() {
        let (metrics, registry) = CJMMetrics.prometheus(sources: ["web"])
        let added = metrics.source("added-by-reload")
        #expect(metrics.source("added-by-reload") === added)
        metrics.recordLate(source: "added-by-reload", count: 3)
        #expect(registry.emitToString().contains(#"cjmd_events_late_total{source="added-by-reload"} 3"# + "\n"))
    }

    @Test func sourceLabelsAreCappedSoAMistakeCannotFloodPrometheus() {
        let (metrics, registry) = CJMMetrics.prometheus()
        let extra = 10
        for index in 0..<(CJMMetrics.maximumSourceCount + extra) {
            metrics.recordAccepted(source: "s\(index)")
        }
        let acceptedLines = registry.emitToString()
            .split(separator: "\n")
            .filter { $0.hasPrefix("cjmd_events_accepted_total{") }
        #expect(acceptedLines.count == CJMMetrics.maximumSourceCount + 1)
        let overflow = #"cjmd_events_accepted_total{source="\#(CJMMetrics.overflowSourceLabel)"} \#(extra)"#
        #expect(acceptedLines.contains { $0 == overflow })
    }

    @Test func twoMetricsObjectsOverOneRegistryShareTheirSeries() {
        let registry = PrometheusCollectorRegistry()
        let factory = CJMMetrics.makePrometheusFactory(registry: registry)
        let first = CJMMetrics(factory: factory, sources: ["web"])
        let second = CJMMetrics(factory: factory, sources: ["web"])
        first.recordAccepted(source: "web", count: 2)
        second.recordAccepted(source: "web", count: 3)
        #expect(registry.emitToString().contains(#"cjmd_events_accepted_total{source="web"} 5"# + "\n"))
    }
}
