import Alerting
import Foundation
import JourneyCore
import Testing

/// The webhook against a real Prometheus Alertmanager: what it accepts and how it treats the
/// fired and resolved posts.
@Suite("Real Alertmanager")
struct AlertmanagerIntegrationTests {
    @Test("a fired alert becomes active with our labels; its resolution removes it")
    func firedThenResolved() async throws {
        if ProcessInfo.processInfo.environment["CJM_SKIP_ALERTMANAGER"] == "1" { return }
        guard FileManager.default.isExecutableFile(atPath: AlertmanagerProcess.binary) else {
            Issue.record(
                "\(AlertmanagerProcess.binary) is missing: run `apt-get install prometheus-alertmanager`, or set CJM_SKIP_ALERTMANAGER=1 to skip this test."
            )
            return
        }
        let alertmanager = try AlertmanagerProcess()
        defer { alertmanager.terminate() }
        try #require(await alertmanager.waitUntilReady(), "Alertmanager did not become ready: \(alertmanager.log)")

        let webhook = AlertWebhook(settings: .init(url: alertmanager.alertsURL), logger: LogCollector().logger())
        let loop = Task { try await webhook.run() }
        defer { loop.cancel() }

        let now = Fixtures.wallClockSeconds()
        let alert = Fixtures.firingAlert(firedAt: now - .minutes(2))
        webhook.send(.fired(alert))

        func ours(_ objects: [[String: Any]]) -> [[String: Any]] {
            objects.filter { ($0["labels"] as? [String: String])?["alertname"] == AlertmanagerPayload.alertName }
        }
        var active: [[String: Any]] = []
        let becameActive = await eventually {
            active = ours((try? alertmanager.alerts()) ?? [])
            return active.contains { ($0["status"] as? [String: Any])?["state"] as? String == "active" }
        }
        try #require(becameActive, "the fired alert never became active: \(active) log: \(alertmanager.log)")
        #expect(active.count == 1)
        let shown = try #require(active.first)
        let labels = try #require(shown["labels"] as? [String: String])
        #expect(
            labels == [
                "alertname": "CJMDropOffSpike", "journey": "checkout", "stage": "payment",
                "stage_index": "2", "severity": "warning",
            ])
        let annotations = try #require(shown["annotations"] as? [String: String])
        #expect(annotations["decided"] == "130")
        #expect((shown["startsAt"] as? String).flatMap(RFC3339.parse) == alert.firedAt)
        let endsAt = try #require((shown["endsAt"] as? String).flatMap(RFC3339.parse))
        #expect(endsAt > now)
        // Alertmanager may list the alert before its answer reaches the webhook.
        #expect(await eventually { webhook.deliveredCount == 1 })

        webhook.send(.resolved(Fixtures.resolved(alert, at: now - .seconds(1))))
        var remaining: [[String: Any]] = active
        let disappeared = await eventually {
            remaining = ours((try? alertmanager.alerts()) ?? active)
            return remaining.isEmpty
        }
        #expect(disappeared, "the resolved alert is still listed: \(remaining)")
        #expect(await eventually { webhook.deliveredCount == 2 })
        #expect(webhook.failedAttempts == 0)

        loop.cancel()
        _ = await loop.result
    }
}
