import Prometheus
import ServiceMetrics
import Testing

/// A `/healthz` answer that a test can change while the server runs.
actor HealthSwitch {
    private(set) var current: ServiceHealth
    init(_ initial: ServiceHealth) { current = initial }
    func set(_ health: ServiceHealth) { current = health }
}

/// Binds a server on 127.0.0.1 port 0, runs it while `body` runs, then shuts it down and
/// checks that `run()` ended without an error.
func withRunningServer<Result>(
    registry: PrometheusCollectorRegistry,
    health: @escaping MetricsHTTPServer.HealthCheck = { .healthy },
    _ body: (MetricsHTTPServer) async throws -> Result
) async throws -> Result {
    let server = try await MetricsHTTPServer.bind(
        address: MetricsListenAddress(host: "127.0.0.1", port: 0),
        registry: registry,
        health: health
    )
    let running = Task { try await server.run() }
    do {
        let result = try await body(server)
        await server.shutdown()
        try await running.value
        return result
    } catch {
        await server.shutdown()
        _ = try? await running.value
        throw error
    }
}
