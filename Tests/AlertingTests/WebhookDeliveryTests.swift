import Alerting
import Foundation
import JourneyCore
import Testing

/// Delivery against a scripted local HTTP server: retries, refusals, the queue bound, re-sends.
@Suite("Alert webhook delivery")
struct WebhookDeliveryTests {
    /// Fast retries so that a test with several attempts takes well under a second.
    func settings(url: String, capacity: Int = 1000, maxAttempts: Int = 5, resendInterval: Duration = .seconds(60))
        -> AlertWebhook.Settings
    {
        AlertWebhook.Settings(
            url: url, queueCapacity: capacity, maxAttempts: maxAttempts, resendInterval: resendInterval,
            requestTimeout: .seconds(5), initialBackoff: .milliseconds(50), maximumBackoff: .milliseconds(200),
            shutdownFlushLimit: .seconds(2))
    }

    /// Runs the webhook's loop for the duration of `body`, then cancels it and waits for it.
    func withRunning<T>(_ webhook: AlertWebhook, _ body: () async throws -> T) async throws -> T {
        let loop = Task { try await webhook.run() }
        let result = await Result(catching: body)
        loop.cancel()
        _ = await loop.result
        return try result.get()
    }

    @Test("503 twice, then 200: delivered by the third attempt")
    func retriesServerErrors() async throws {
        let server = try ScriptedHTTPServer { number in
            number < 2 ? .init(status: 503, body: "try later") : .init(status: 200)
        }
        defer { server.stop() }
        let logs = LogCollector()
        let webhook = AlertWebhook(settings: settings(url: server.url), logger: logs.logger())
        try await withRunning(webhook) {
            webhook.send(.fired(Fixtures.firingAlert()))
            #expect(await eventually { webhook.deliveredCount == 1 })
        }
        #expect(webhook.failedAttempts == 2)
        #expect(server.requests.count == 3)
        #expect(server.requests.allSatisfy { $0.method == "POST" && $0.path == "/api/v2/alerts" })
        // Every attempt carried the same alert.
        let journeys = try server.requests.map {
            try jsonObjects($0.body).compactMap { ($0["labels"] as? [String: String])?["stage"] }
        }
        #expect(journeys == [["payment"], ["payment"], ["payment"]])
        // One warning for the outage, one notice when it ends; not one line per attempt.
        let warnings = logs.all.filter { $0.level == .warning }
        #expect(warnings.count == 1)
        #expect(warnings.first?.message.contains("alerts.webhook") == true)
        #expect(logs.all.contains { $0.level == .notice && $0.message.contains("accepts alerts again") })
    }

    @Test("400: logged with the response body and dropped after one attempt")
    func dropsRefusals() async throws {
        let server = try ScriptedHTTPServer { _ in
            .init(status: 400, body: "bad alert: start time must be before end time")
        }
        defer { server.stop() }
        let logs = LogCollector()
        let webhook = AlertWebhook(settings: settings(url: server.url), logger: logs.logger())
        try await withRunning(webhook) {
            webhook.send(.fired(Fixtures.firingAlert()))
            #expect(await eventually { webhook.rejectedDeliveries == 1 })
            #expect(await webhook.flush(timeoutSeconds: 5))
        }
        #expect(server.requests.count == 1)
        #expect(webhook.failedAttempts == 1)
        #expect(webhook.deliveredCount == 0)
        let errors = logs.all.filter { $0.level == .error }
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("HTTP 400") == true)
        #expect(errors.first?.message.contains("start time must be before end time") == true)
    }

    @Test("a delivery is given up after maxAttempts failures")
    func givesUp() async throws {
        let server = try ScriptedHTTPServer { _ in .init(status: 502) }
        defer { server.stop() }
        let logs = LogCollector()
        let webhook = AlertWebhook(settings: settings(url: server.url, maxAttempts: 3), logger: logs.logger())
        try await withRunning(webhook) {
            webhook.send(.fired(Fixtures.firingAlert()))
            #expect(await eventually { webhook.abandonedDeliveries == 1 })
        }
        #expect(server.requests.count == 3)
        #expect(webhook.failedAttempts == 3)
        #expect(logs.all.contains { $0.level == .error && $0.message.contains("after 3 attempts") })
    }

    @Test("unreachable endpoint, capacity 3: ten sends never block and drop the seven oldest")
    func boundedQueue() async throws {
        let port = try LoopbackSockets.unusedPort()
        let logs = LogCollector()
        let webhook = AlertWebhook(
            settings: settings(url: "http://127.0.0.1:\(port)/api/v2/alerts", capacity: 3, maxAttempts: 1000),
            logger: logs.logger())
        try await withRunning(webhook) {
            let started = ContinuousClock.now
            for index in 0..<10 {
                var alert = Fixtures.firingAlert()
                alert.stageIndex = index
                webhook.send(.fired(alert))
            }
            #expect(ContinuousClock.now - started < .seconds(1))
            #expect(webhook.droppedDeliveries == 7)
            #expect(webhook.pendingDeliveries == 3)
        }
        #expect(logs.all.filter { $0.message.contains("queue is full") }.count == 1)
    }

    @Test("without a running loop the queue keeps the newest deliveries and flush reports it did not drain")
    func boundedQueueWithoutLoop() async {
        let webhook = AlertWebhook(
            settings: settings(url: "http://127.0.0.1:9/api/v2/alerts", capacity: 3), logger: LogCollector().logger())
        for _ in 0..<10 { webhook.send(.fired(Fixtures.firingAlert())) }
        #expect(webhook.droppedDeliveries == 7)
        #expect(await webhook.flush(timeoutSeconds: 0.05) == false)
    }

    @Test("a firing alert is re-posted every resendInterval until its resolution is posted")
    func resendsWhileFiring() async throws {
        let server = try ScriptedHTTPServer { _ in .init(status: 200) }
        defer { server.stop() }
        let now = EventTime(seconds: 1_777_630_000)
        let webhook = AlertWebhook(
            settings: settings(url: server.url, resendInterval: .milliseconds(200)), logger: LogCollector().logger(),
            clock: { now })
        let alert = Fixtures.firingAlert()
        let resolvedAt = alert.firedAt + .minutes(30)
        try await withRunning(webhook) {
            webhook.send(.fired(alert))
            // A re-post is counted once its reply arrives, which is after the server has
            // recorded the request: wait for the count itself.
            #expect(await eventually { webhook.resentCount >= 2 })
            #expect(server.requests.count >= 3)
            webhook.send(.resolved(Fixtures.resolved(alert, at: resolvedAt)))
            #expect(await webhook.flush(timeoutSeconds: 10))
            let countAfterResolution = server.requests.count
            // Absence cannot be polled for: give it five resend intervals.
            try await Task.sleep(for: .seconds(1))
            #expect(server.requests.count == countAfterResolution)
        }
        let endsAts = try server.requests.map { request -> EventTime? in
            let object = try jsonObjects(request.body).first
            return (object?["endsAt"] as? String).flatMap(RFC3339.parse)
        }
        // Firing posts keep it alive for four intervals; the last post resolves it.
        #expect(endsAts.dropLast().allSatisfy { $0 == now + .milliseconds(800) })
        #expect(endsAts.last == resolvedAt)
    }

    @Test("alerts firing at startup are posted and re-posted")
    func resumesFiringAlerts() async throws {
        let server = try ScriptedHTTPServer { _ in .init(status: 200) }
        defer { server.stop() }
        let webhook = AlertWebhook(
            settings: settings(url: server.url, resendInterval: .milliseconds(200)), logger: LogCollector().logger())
        var other = Fixtures.firingAlert()
        other.stageIndex = 0
        other.stageName = "cart"
        let resolvedLongAgo = Fixtures.resolved(Fixtures.firingAlert(), at: Fixtures.firingAlert().firedAt + .hours(1))
        webhook.resume(firing: [Fixtures.firingAlert(), other, resolvedLongAgo])
        try await withRunning(webhook) {
            #expect(await eventually { server.requests.count >= 2 })
        }
        for request in server.requests.prefix(2) {
            let stages = try jsonObjects(request.body).compactMap { ($0["labels"] as? [String: String])?["stage"] }
            #expect(Set(stages) == ["payment", "cart"])
        }
    }

    @Test("stop() posts what is queued, then run() returns")
    func finalFlush() async throws {
        let server = try ScriptedHTTPServer { _ in .init(status: 200) }
        defer { server.stop() }
        let webhook = AlertWebhook(settings: settings(url: server.url), logger: LogCollector().logger())
        for index in 0..<3 {
            var alert = Fixtures.firingAlert()
            alert.stageIndex = index
            webhook.send(.fired(alert))
        }
        webhook.stop()
        try await webhook.run()
        #expect(webhook.deliveredCount == 3)
        #expect(server.requests.count == 3)
    }

    @Test("the final flush gives up after shutdownFlushLimit when Alertmanager keeps failing")
    func boundedFinalFlush() async throws {
        let server = try ScriptedHTTPServer { _ in .init(status: 503) }
        defer { server.stop() }
        var bounded = settings(url: server.url, maxAttempts: 1000)
        bounded.shutdownFlushLimit = .milliseconds(300)
        let logs = LogCollector()
        let webhook = AlertWebhook(settings: bounded, logger: logs.logger())
        webhook.send(.fired(Fixtures.firingAlert()))
        webhook.stop()
        let started = ContinuousClock.now
        try await webhook.run()
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(webhook.pendingDeliveries == 1)
        #expect(server.requests.count >= 1)
        #expect(logs.all.contains { $0.message.contains("undelivered") })
    }

    @Test("an unusable URL is reported and its deliveries dropped without network traffic")
    func unusableURL() async throws {
        #expect(AlertWebhook.Settings.problem(withURL: "ftp://example.org/alerts")?.contains("http://") == true)
        #expect(AlertWebhook.Settings.problem(withURL: "127.0.0.1:9093")?.contains("alerts.webhook") == true)
        #expect(AlertWebhook.Settings.problem(withURL: "http://127.0.0.1:9093/api/v2/alerts") == nil)
        let logs = LogCollector()
        let webhook = AlertWebhook(settings: settings(url: "ftp://example.org/alerts"), logger: logs.logger())
        try await withRunning(webhook) {
            webhook.send(.fired(Fixtures.firingAlert()))
            #expect(await eventually { webhook.rejectedDeliveries == 1 })
        }
        #expect(logs.all.contains { $0.level == .error && $0.message.contains("alerts.webhook") })
    }
}
