import Alerting
import JourneyCore
import Logging
import ServiceLifecycle
import Testing

/// The webhook as a ServiceLifecycle service, the way cjmd runs it.
@Suite("Alert webhook in a ServiceGroup")
struct GracefulShutdownTests {
    @Test("graceful shutdown posts the queued alerts, then ends the service")
    func flushesOnGracefulShutdown() async throws {
        let server = try ScriptedHTTPServer { _ in .init(status: 200) }
        defer { server.stop() }
        let logger = LogCollector().logger()
        let webhook = AlertWebhook(settings: .init(url: server.url), logger: logger)
        let group = ServiceGroup(configuration: .init(services: [webhook], logger: logger))
        let running = Task { try await group.run() }
        for index in 0..<3 {
            var alert = Fixtures.firingAlert()
            alert.stageIndex = index
            webhook.send(.fired(alert))
        }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(webhook.deliveredCount == 3)
        #expect(webhook.pendingDeliveries == 0)
        #expect(server.requests.count == 3)
    }
}
