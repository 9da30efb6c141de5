import AsyncHTTPClient
import Foundation
import JourneyCore
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Delivers drop-off alert transitions to Prometheus Alertmanager (`POST /api/v2/alerts`)
/// without ever making ingestion wait.
///
/// ``send(_:)`` only queues (bounded; when full the oldest delivery is dropped). ``run()``
/// posts the queue in order, retrying 5xx answers, connection errors and timeouts with
/// exponential backoff, and re-posts firing alerts every `resendInterval`: Alertmanager
/// forgets an alert whose `endsAt` passes, and it deduplicates by labels, so a re-post keeps
/// the alert active without notifying anyone again. A resolved transition posts the alert
/// with `endsAt` = `resolvedAt` and ends its re-posting.
///
/// Run it once, as a `Service` in a `ServiceGroup` (graceful shutdown ends it after a final
/// flush of at most `shutdownFlushLimit`) or on its own and end it with ``stop()``.
public final class AlertWebhook: Service, Sendable {
    /// The configured behaviour.
    public let settings: Settings

    private let logger: Logger
    private let clock: @Sendable () -> EventTime
    private let poster: AlertmanagerPoster
    private let ledger: NIOLockedValueBox<DeliveryLedger>
    /// Rung when work arrives or stopping begins.
    private let workBell = Doorbell()
    /// Rung once when stopping begins; starts the clock on the final flush.
    private let stopBell = Doorbell()

    /// Creates the webhook; nothing is posted before ``run()``.
    ///
    /// - Parameters:
    ///   - settings: Where to post and how.
    ///   - logger: Receives what an operator must know (and act on).
    ///   - clock: The wall clock, for `endsAt` of firing alerts; tests substitute their own.
    public init(
        settings: Settings,
        logger: Logger,
        clock: @escaping @Sendable () -> EventTime = AlertWebhook.wallClock
    ) {
        self.settings = settings
        self.logger = logger
        self.clock = clock
        self.poster = AlertmanagerPoster(url: settings.url, requestTimeout: settings.requestTimeout)
        self.ledger = NIOLockedValueBox(
            DeliveryLedger(capacity: settings.queueCapacity, resendInterval: settings.resendInterval))
    }

    /// The current wall-clock time.
    @Sendable public static func wallClock() -> EventTime {
        EventTime(microseconds: Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()))
    }

    // MARK: Feeding

    /// Queues the transition's POST and returns at once; never blocks.
    ///
    /// When the queue is full the oldest delivery is dropped (counted in
    /// ``droppedDeliveries``, one warning per episode of overflow).
    public func send(_ transition: AlertTransition) {
        let result = ledger.withLockedValue { $0.record(transition, now: .now) }
        workBell.ring()
        reportQueueing(result)
    }

    /// Adopts the alerts that were firing when the daemon last stopped (read from
    /// `cjm.alerts`): they are posted again and re-posted while they fire.
    public func resume(firing alerts: [DropOffAlert]) {
        let result = ledger.withLockedValue { $0.resume(firing: alerts, now: .now) }
        workBell.ring()
        reportQueueing(result)
    }

    private func reportQueueing(_ result: DeliveryLedger.QueueingResult) {
        guard result.overflowBegan else { return }
        logger.warning(
            "Alert webhook queue is full (\(settings.queueCapacity) deliveries): dropping the oldest alert posts until Alertmanager catches up. Check that Alertmanager is running and that alerts.webhook (\(settings.url)) points at it; the alerts stay in cjm.alerts."
        )
    }

    // MARK: Observing

    /// Deliveries (transitions and resumed alerts) that Alertmanager accepted.
    public var deliveredCount: Int { ledger.withLockedValue { $0.delivered } }
    /// Periodic re-posts of firing alerts that Alertmanager accepted.
    public var resentCount: Int { ledger.withLockedValue { $0.resent } }
    /// POSTs that did not succeed, retried or not.
    public var failedAttempts: Int { ledger.withLockedValue { $0.failedAttempts } }
    /// Deliveries dropped because the queue was full.
    public var droppedDeliveries: Int { ledger.withLockedValue { $0.dropped } }
    /// Deliveries Alertmanager refused (4xx) or that an unusable URL made impossible.
    public var rejectedDeliveries: Int { ledger.withLockedValue { $0.rejected } }
    /// Deliveries given up after `maxAttempts` failed attempts.
    public var abandonedDeliveries: Int { ledger.withLockedValue { $0.abandoned } }
    /// Deliveries queued or being attempted.
    public var pendingDeliveries: Int { ledger.withLockedValue { $0.queue.count } }

    /// Waits until no delivery is pending (for example before `replay` exits).
    ///
    /// Needs ``run()`` to be running. Returns true when the queue drained in time.
    public func flush(timeoutSeconds: Double) async -> Bool {
        let limit = Duration.milliseconds(Int64((max(0, timeoutSeconds) * 1000).rounded()))
        let deadline = ContinuousClock.now + limit
        // Called once, at exit: polling is simpler than a second wake-up path and costs nothing.
        while pendingDeliveries > 0 {
            guard ContinuousClock.now < deadline, !Task.isCancelled else { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    // MARK: Running

    /// Starts the final flush and ends ``run()`` afterwards, as a graceful shutdown does.
    public func stop() {
        ledger.withLockedValue { $0.beginStopping() }
        workBell.ring()
        stopBell.ring()
    }

    /// The delivery loop. Ends on graceful shutdown or ``stop()`` once the queue is empty or
    /// `shutdownFlushLimit` has passed, and at once on cancellation.
    public func run() async throws {
        let alreadyRunning = ledger.withLockedValue { ledger -> Bool in
            defer { ledger.running = true }
            return ledger.running
        }
        guard !alreadyRunning else {
            logger.error(
                "AlertWebhook.run() was called twice; the second call returns at once (a bug in cjmd, please report it)."
            )
            return
        }
        if let problem = poster.urlProblem {
            logger.error(
                "Alert webhook disabled: \(problem). Alerts are still stored in cjm.alerts and sent by pg_notify.")
        }
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(
            connect: settings.requestTimeout.timeAmount, read: settings.requestTimeout.timeAmount)
        configuration.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)

        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withGracefulShutdownHandler {
                    await self.deliverUntilStopped(using: client)
                } onGracefulShutdown: {
                    self.stop()
                }
            }
            group.addTask {
                // Bounds the final flush: past this the delivery loop is cancelled.
                await self.stopBell.wait(until: nil)
                guard !Task.isCancelled else { return }
                try? await Task.sleep(for: self.settings.shutdownFlushLimit)
            }
            await group.next()
            group.cancelAll()
        }

        let left = pendingDeliveries
        if left > 0 {
            logger.warning(
                "Alert webhook stopped with \(left) alert post(s) undelivered. Firing alerts are posted again at the next start; resolved ones expire in Alertmanager within four resend intervals. The alerts are in cjm.alerts."
            )
        }
        do {
            try await client.shutdown()
        } catch {
            logger.debug("Alert webhook HTTP client shut down with an error: \(error)")
        }
    }

    private func deliverUntilStopped(using client: HTTPClient) async {
        while !Task.isCancelled {
            let step = ledger.withLockedValue { $0.nextStep(now: .now) }
            switch step {
            case .finish:
                return
            case .wait(let deadline):
                await workBell.wait(until: deadline)
            case .resend(let alerts):
                await resend(alerts, using: client)
            case .deliver(let delivery):
                await deliver(delivery, using: client)
            }
        }
    }

    private func payload(_ alerts: [DropOffAlert]) -> [UInt8] {
        AlertmanagerPayload.encode(alerts, now: clock(), firingTTL: settings.firingTTL)
    }

    /// Re-posts the firing alerts once; a failure waits for the next interval.
    private func resend(_ alerts: [DropOffAlert], using client: HTTPClient) async {
        // An unusable URL was reported at startup and with every transition; once a minute more says nothing.
        guard poster.urlProblem == nil else { return }
        let outcome = await poster.post(payload(alerts), using: client)
        switch outcome {
        case .cancelled:
            return
        case .delivered:
            let recovered = ledger.withLockedValue { ledger -> Bool in
                ledger.countResend()
                return ledger.markSucceeded()
            }
            if recovered { reportRecovery() }
        case .rejected, .misconfigured, .retryable:
            let firstFailure = ledger.withLockedValue { $0.countFailedAttempt() }
            if firstFailure {
                report(outcome, of: "re-send of \(alerts.count) firing alert(s)", attempts: 1, willRetry: true)
            } else {
                logger.debug("Re-send of firing alerts to \(settings.url) failed again: \(outcome)")
            }
        }
    }

    /// Posts one queued delivery, retrying with backoff, until it succeeds, is refused, runs
    /// out of attempts, or is dropped from the queue meanwhile.
    private func deliver(_ delivery: DeliveryLedger.Delivery, using client: HTTPClient) async {
        let maxAttempts = max(1, settings.maxAttempts)
        let what = "\(delivery.alerts.count) alert(s)"
        var attempt = 1
        while ledger.withLockedValue({ $0.isQueued(delivery.id) }) {
            let outcome = await poster.post(payload(delivery.alerts), using: client)
            switch outcome {
            case .cancelled:
                return
            case .delivered:
                let (overflowDropped, recovered) = ledger.withLockedValue { ledger in
                    (ledger.complete(delivery.id, as: .delivered), ledger.markSucceeded())
                }
                if recovered { reportRecovery() }
                reportOverflowEnd(overflowDropped)
                return
            case .rejected, .misconfigured:
                let overflowDropped = ledger.withLockedValue { ledger in
                    _ = ledger.countFailedAttempt()
                    return ledger.complete(delivery.id, as: .rejected)
                }
                // Always reported: each refusal loses a transition for Alertmanager.
                report(outcome, of: what, attempts: attempt, willRetry: false)
                reportOverflowEnd(overflowDropped)
                return
            case .retryable:
                let willRetry = attempt < maxAttempts
                let (firstFailure, overflowDropped) = ledger.withLockedValue { ledger in
                    (ledger.countFailedAttempt(), willRetry ? nil : ledger.complete(delivery.id, as: .abandoned))
                }
                if firstFailure || !willRetry {
                    report(outcome, of: what, attempts: attempt, willRetry: willRetry)
                } else {
                    logger.debug("Alert post to \(settings.url) failed again (attempt \(attempt)): \(outcome)")
                }
                reportOverflowEnd(overflowDropped)
                guard willRetry else { return }
                do {
                    try await Task.sleep(for: backoff(afterAttempt: attempt))
                } catch {
                    return
                }
                attempt += 1
            }
        }
    }

    /// `initialBackoff` doubled for every attempt after the first, at most `maximumBackoff`.
    func backoff(afterAttempt attempt: Int) -> Duration {
        var delay = settings.initialBackoff
        for _ in 1..<max(1, attempt) where delay < settings.maximumBackoff {
            delay *= 2
        }
        return min(delay, settings.maximumBackoff)
    }

    // MARK: Logging

    /// One log line about a failed post of `what`, saying what happens next and what to check.
    private func report(_ outcome: AlertmanagerPoster.Outcome, of what: String, attempts: Int, willRetry: Bool) {
        let url = settings.url
        switch outcome {
        case .delivered, .cancelled:
            return
        case .rejected(let status, let bodyPrefix):
            let body = bodyPrefix.isEmpty ? "(empty body)" : bodyPrefix
            logger.error(
                "Alertmanager at \(url) refused the \(what) with HTTP \(status): \(body). Not retried; check that alerts.webhook points at Alertmanager's /api/v2/alerts. The alerts are in cjm.alerts."
            )
        case .misconfigured(let problem):
            logger.error("Alert webhook cannot post the \(what): \(problem). The alerts are in cjm.alerts.")
        case .retryable(let reason):
            if willRetry {
                logger.warning(
                    "Cannot post the \(what) to Alertmanager at \(url) (\(reason)); retrying. Check that Alertmanager is running and that alerts.webhook is right."
                )
            } else {
                logger.error(
                    "Gave up posting the \(what) to Alertmanager at \(url) after \(attempts) attempts (last: \(reason)). The alerts are in cjm.alerts; check that Alertmanager is running and that alerts.webhook is right."
                )
            }
        }
    }

    private func reportRecovery() {
        logger.notice("Alertmanager at \(settings.url) accepts alerts again.")
    }

    private func reportOverflowEnd(_ dropped: Int?) {
        guard let dropped else { return }
        logger.notice(
            "Alert webhook queue drained after dropping \(dropped) alert post(s); firing alerts reach Alertmanager with the next re-send."
        )
    }
}
