import Foundation
import JourneyCore

extension AlertWebhook {
    /// How the webhook delivers: where to, how much it buffers, how hard it retries.
    public struct Settings: Sendable {
        /// Alertmanager's alerts endpoint, e.g. `http://127.0.0.1:9093/api/v2/alerts`
        /// (the configuration's `alerts.webhook`).
        public var url: String
        /// Deliveries waiting or being attempted at most; beyond that the oldest is dropped so
        /// that ingestion never waits for the webhook.
        public var queueCapacity: Int
        /// Attempts per delivery before it is given up (5xx, connection errors, timeouts).
        public var maxAttempts: Int
        /// While an alert fires it is re-posted this often, and posted with `endsAt` four
        /// intervals ahead, so Alertmanager keeps it active without notifying anyone again.
        public var resendInterval: Duration
        /// Limit for one POST, connecting included.
        public var requestTimeout: Duration
        /// Wait before the second attempt; it doubles for each further attempt.
        public var initialBackoff: Duration
        /// The longest wait between two attempts.
        public var maximumBackoff: Duration
        /// At shutdown, how long the queue may still be posted before the rest is given up.
        public var shutdownFlushLimit: Duration

        /// Creates settings; the defaults suit a local Alertmanager.
        public init(
            url: String,
            queueCapacity: Int = 1000,
            maxAttempts: Int = 5,
            resendInterval: Duration = .seconds(60),
            requestTimeout: Duration = .seconds(10),
            initialBackoff: Duration = .milliseconds(500),
            maximumBackoff: Duration = .seconds(30),
            shutdownFlushLimit: Duration = .seconds(5)
        ) {
            self.url = url
            self.queueCapacity = queueCapacity
            self.maxAttempts = maxAttempts
            self.resendInterval = resendInterval
            self.requestTimeout = requestTimeout
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
            self.shutdownFlushLimit = shutdownFlushLimit
        }

        /// How long Alertmanager keeps a firing alert that is not re-posted: four resend
        /// intervals, as Prometheus does, so a few lost posts do not end the alert.
        public var firingTTL: TimeSpan {
            TimeSpan(microseconds: resendInterval.wholeMicroseconds * 4)
        }

        /// Why `url` cannot be posted to, or nil when it looks usable (http or https with a host).
        /// The message says what to change, for `check-config` and the log.
        public static func problem(withURL url: String) -> String? {
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
                return "alerts.webhook \"\(url)\" is not a URL; write it like http://127.0.0.1:9093/api/v2/alerts"
            }
            guard scheme == "http" || scheme == "https" else {
                return "alerts.webhook \"\(url)\" uses \(scheme):; use http:// or https://"
            }
            guard let host = components.host, !host.isEmpty else {
                return "alerts.webhook \"\(url)\" has no host; write it like http://127.0.0.1:9093/api/v2/alerts"
            }
            return nil
        }
    }
}

extension Duration {
    /// The duration in whole microseconds (rounded toward zero), the resolution of `EventTime`.
    var wholeMicroseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
