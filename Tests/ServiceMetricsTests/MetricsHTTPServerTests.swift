import Foundation
import Prometheus
import ServiceMetrics
import Testing

/// The HTTP side: routing, status codes, health, and a clean stop — over real loopback TCP.
@Suite struct MetricsHTTPServerTests {
    @Test func healthzFollowsTheHealthCheck() async throws {
        let health = HealthSwitch(.healthy)
        let healthCheck: MetricsHTTPServer.HealthCheck = { await health.current }
        try await withRunningServer(registry: PrometheusCollectorRegistry(), health: healthCheck) { server in
            let healthy = try await RawHTTPClient.fetch(port: server.port, path: "/healthz")
            #expect(healthy.statusCode == 200)
            #expect(healthy.body == "ok\n")

            await health.set(ServiceHealth(problems: ["database unreachable", "source web not listening"]))
            let unhealthy = try await RawHTTPClient.fetch(port: server.port, path: "/healthz")
            #expect(unhealthy.statusCode == 503)
            #expect(unhealthy.body == "unhealthy: database unreachable; source web not listening\n")
            #expect(unhealthy.headers["connection"] == "close")

            await health.set(ServiceHealth(problems: []))
            let recovered = try await RawHTTPClient.fetch(port: server.port, path: "/healthz")
            #expect(recovered.statusCode == 200)
        }
    }

    @Test func unknownPathsAre404AndOtherMethodsAre405() async throws {
        try await withRunningServer(registry: PrometheusCollectorRegistry()) { server in
            for path in ["/", "/metricsx", "/healthz/extra", "/favicon.ico"] {
                let response = try await RawHTTPClient.fetch(port: server.port, path: path)
                #expect(response.statusCode == 404, "GET \(path)")
            }
            for (method, path) in [
                ("POST", "/metrics"), ("PUT", "/healthz"), ("DELETE", "/metrics"), ("HEAD", "/healthz"),
            ] {
                let response = try await RawHTTPClient.fetch(
                    port: server.port, method: method, path: path, extraHeaders: "Content-Length: 0\r\n")
                #expect(response.statusCode == 405, "\(method) \(path)")
                #expect(response.headers["allow"] == "GET", "\(method) \(path)")
            }
        }
    }

    @Test func aQueryStringDoesNotChangeTheRoute() async throws {
        let (metrics, registry) = CJMMetrics.prometheus()
        metrics.setOpenInstances(9)
        try await withRunningServer(registry: registry) { server in
            let response = try await RawHTTPClient.fetch(port: server.port, path: "/metrics?name[]=cjmd_open_instances")
            #expect(response.statusCode == 200)
            #expect(response.lines.contains("cjmd_open_instances 9.0"))
        }
    }

    @Test func aRequestBodyIsReadAndTheRequestStillAnswered() async throws {
        try await withRunningServer(registry: PrometheusCollectorRegistry()) { server in
            let body = String(repeating: "x", count: 1000)
            let response = try RawHTTPClient.parse(
                try await RawHTTPClient.exchange(
                    port: server.port,
                    request: "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                ))
            #expect(response.statusCode == 200)
        }
    }

    @Test func anOversizedRequestBodyGets413() async throws {
        try await withRunningServer(registry: PrometheusCollectorRegistry()) { server in
            let body = String(repeating: "x", count: 100 * 1024)
            let response = try RawHTTPClient.parse(
                try await RawHTTPClient.exchange(
                    port: server.port,
                    request: "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                ))
            #expect(response.statusCode == 413)
        }
    }

    @Test func malformedRequestsGet400() async throws {
        try await withRunningServer(registry: PrometheusCollectorRegistry()) { server in
            let response = try RawHTTPClient.parse(
                try await RawHTTPClient.exchange(
                    port: server.port, request: "THIS IS NOT HTTP\r\n\r\n"))
            #expect(response.statusCode == 400)
        }
    }

    @Test func httpOnePointZeroClientsAreAnswered() async throws {
        try await withRunningServer(registry: PrometheusCollectorRegistry()) { server in
            let response = try RawHTTPClient.parse(
                try await RawHTTPClient.exchange(
                    port: server.port, request: "GET /healthz HTTP/1.0\r\n\r\n"))
            #expect(response.statusLine.hasPrefix("HTTP/1.0 200"))
            #expect(response.body == "ok\n")
        }
    }

    @Test func aLargePageArrivesWholeAtASlowClient() async throws {
        // A page larger than the server's largest send buffer (4 MiB on Linux), read slowly
        // through a small receive buffer, cannot be absorbed by the kernel at once: this fails
        // if the connection were closed before the response was flushed.
        let (metrics, registry) = CJMMetrics.prometheus(sources: ["web"])
        metrics.recordAccepted(source: "web", count: 77)
        for index in 0..<60_000 {
            // One name per gauge: the registry copies a family's label table on every insert.
            let name = MetricNameDescriptor(
                metricName: "test_padding_gauge_with_a_long_name_that_makes_the_page_many_megabytes_long_\(index)",
                unitName: "", helpText: "")
            registry.makeGauge(descriptor: name).set(to: Double(index))
        }
        try await withRunningServer(registry: registry) { server in
            let bytes = try await RawHTTPClient.exchange(
                port: server.port,
                request: "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                timeoutSeconds: 20,
                readDelay: .milliseconds(500),
                receiveBufferBytes: 4096
            )
            let response = try RawHTTPClient.parse(bytes)
            #expect(response.bodyByteCount > 8 * 1024 * 1024)
            #expect(response.headers["content-length"] == String(response.bodyByteCount))
            // Plain Bools: an expectation on `lines` would print all megabytes when it fails.
            let lines = Set(response.lines)
            let hasCJMDLine = lines.contains(#"cjmd_events_accepted_total{source="web"} 77"#)
            let hasLastPaddingLine = lines.contains(
                "test_padding_gauge_with_a_long_name_that_makes_the_page_many_megabytes_long_59999 59999.0")
            #expect(hasCJMDLine)
            #expect(hasLastPaddingLine)
        }
    }

    @Test func concurrentScrapesAreAllAnswered() async throws {
        let (metrics, registry) = CJMMetrics.prometheus(sources: ["web"])
        try await withRunningServer(registry: registry) { server in
            let port = server.port
            let codes = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<24 {
                    group.addTask {
                        metrics.recordAccepted(source: "web")
                        let path = index.isMultiple(of: 2) ? "/metrics" : "/healthz"
                        return try await RawHTTPClient.fetch(port: port, path: path).statusCode
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(codes.count == 24)
            #expect(codes.allSatisfy { $0 == 200 })
            let final = try await RawHTTPClient.fetch(port: port, path: "/metrics")
            #expect(final.lines.contains(#"cjmd_events_accepted_total{source="web"} 24"#))
        }
    }

    @Test func anIdleConnectionIsClosedAtTheDeadline() async throws {
        let server = try await MetricsHTTPServer.bind(
            address: MetricsListenAddress(host: "127.0.0.1", port: 0),
            registry: PrometheusCollectorRegistry(),
            health: { .healthy },
            connectionDeadline: .milliseconds(200)
        )
        let running = Task { try await server.run() }
        let start = ContinuousClock.now
        // Sends nothing: without the deadline the read would only end at the client's timeout.
        let bytes = try await RawHTTPClient.exchange(port: server.port, request: "", timeoutSeconds: 5)
        let waited = ContinuousClock.now - start
        #expect(bytes.isEmpty)
        #expect(waited < .seconds(3))
        await server.shutdown()
        try await running.value
    }

    @Test func shutdownStopsRunAndFreesThePort() async throws {
        let server = try await MetricsHTTPServer.bind(
            address: MetricsListenAddress(host: "127.0.0.1", port: 0),
            registry: PrometheusCollectorRegistry(),
            health: { .healthy }
        )
        let port = server.port
        #expect(port > 0)
        let running = Task { try await server.run() }
        #expect(try await RawHTTPClient.fetch(port: port, path: "/healthz").statusCode == 200)

        await server.shutdown()
        try await running.value
        await server.shutdown()  // a second call is harmless

        #expect(await RawHTTPClient.canConnect(port: port) == false)
        let again = try await MetricsHTTPServer.bind(
            address: MetricsListenAddress(host: "127.0.0.1", port: port),
            registry: PrometheusCollectorRegistry(),
            health: { .healthy }
        )
        #expect(again.port == port)
        await again.shutdown()
    }

    @Test func cancellingTheRunningTaskStopsTheServerWithoutAnError() async throws {
        let server = try await MetricsHTTPServer.bind(
            address: MetricsListenAddress(host: "127.0.0.1", port: 0),
            registry: PrometheusCollectorRegistry(),
            health: { .healthy }
        )
        let port = server.port
        let running = Task { try await server.run() }
        #expect(try await RawHTTPClient.fetch(port: port, path: "/healthz").statusCode == 200)

        running.cancel()
        try await running.value
        #expect(await RawHTTPClient.canConnect(port: port) == false)
        let again = try await MetricsHTTPServer.bind(
            address: MetricsListenAddress(host: "127.0.0.1", port: port),
            registry: PrometheusCollectorRegistry(),
            health: { .healthy }
        )
        await again.shutdown()
    }

    @Test func aServerRunsOnlyOnce() async throws {
        let server = try await MetricsHTTPServer.bind(
            address: MetricsListenAddress(host: "127.0.0.1", port: 0),
            registry: PrometheusCollectorRegistry(),
            health: { .healthy }
        )
        await server.shutdown()
        try await server.run()  // the socket is closed already, so this returns at once
        await #expect(throws: MetricsServerError.alreadyRunning) {
            try await server.run()
        }
    }

    @Test func aTakenPortFailsBindWithAnErrorThatSaysWhatToDo() async throws {
        let holder = try await MetricsHTTPServer.bind(
            address: MetricsListenAddress(host: "127.0.0.1", port: 0),
            registry: PrometheusCollectorRegistry(),
            health: { .healthy }
        )
        defer { Task { await holder.shutdown() } }
        let taken = MetricsListenAddress(host: "127.0.0.1", port: holder.port)
        do {
            _ = try await MetricsHTTPServer.bind(
                address: taken, registry: PrometheusCollectorRegistry(), health: { .healthy })
            Issue.record("binding a taken port succeeded")
        } catch {
            guard case .bindFailed(let address, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(address == taken)
            #expect(error.description.contains("127.0.0.1:\(holder.port)"))
            #expect(error.description.contains("service.metrics_listen"))
        }
        await holder.shutdown()
    }
}
