import JourneyCore

/// Everything the webhook owes Alertmanager, kept under one lock by `AlertWebhook`: the queue
/// of posts still to make, the alerts that fire (to re-post them), counters and the state of
/// the episodes worth one log line each (overflow, failing endpoint).
///
/// Pure bookkeeping without I/O or clocks of its own, so every rule is in one place.
struct DeliveryLedger {
    /// One POST owed: a transition, or the firing alerts found at startup.
    struct Delivery: Sendable {
        let id: UInt64
        let alerts: [DropOffAlert]
    }

    /// What identifies an alert to Alertmanager: at most one episode per stage and persona
    /// fires at a time.
    struct StageKey: Hashable, Comparable {
        let journey: Int
        let stageIndex: Int
        let persona: String

        init(_ alert: DropOffAlert) {
            journey = alert.journey
            stageIndex = alert.stageIndex
            persona = alert.persona
        }

        static func < (lhs: StageKey, rhs: StageKey) -> Bool {
            if (lhs.journey, lhs.stageIndex) != (rhs.journey, rhs.stageIndex) {
                return (lhs.journey, lhs.stageIndex) < (rhs.journey, rhs.stageIndex)
            }
            return lhs.persona.utf8.lexicographicallyPrecedes(rhs.persona.utf8)
        }
    }

    /// What the delivery loop should do next.
    enum Step {
        case deliver(Delivery)
        /// Re-post these firing alerts so Alertmanager keeps them active.
        case resend([DropOffAlert])
        /// Nothing to do before this instant (nil: until woken).
        case wait(until: ContinuousClock.Instant?)
        /// Stopping and nothing is left to deliver.
        case finish
    }

    /// How a queued delivery ended.
    enum Completion {
        case delivered
        /// Alertmanager refused it (4xx) or the URL is unusable; retrying cannot help.
        case rejected
        /// Every attempt failed.
        case abandoned
    }

    let capacity: Int
    let resendInterval: Duration

    /// Oldest first. The head may be in flight; it stays here until it completes, so that the
    /// bound covers it and dropping the oldest can abandon it too.
    private(set) var queue: [Delivery] = []
    private var lastID: UInt64 = 0
    private(set) var firing: [StageKey: DropOffAlert] = [:]
    private(set) var nextResendAt: ContinuousClock.Instant?
    private(set) var stopping = false
    var running = false

    private(set) var delivered = 0
    private(set) var resent = 0
    private(set) var failedAttempts = 0
    private(set) var dropped = 0
    private(set) var rejected = 0
    private(set) var abandoned = 0

    /// Deliveries dropped since the queue last ran over; 0 while it is not overflowing.
    private var droppedThisOverflow = 0
    private var failing = false

    init(capacity: Int, resendInterval: Duration) {
        self.capacity = max(1, capacity)
        self.resendInterval = resendInterval
    }

    /// Result of queueing: whether this drop started an overflow episode (log it once).
    struct QueueingResult {
        var droppedOne = false
        var overflowBegan = false
    }

    /// Records a transition and queues its POST.
    mutating func record(_ transition: AlertTransition, now: ContinuousClock.Instant) -> QueueingResult {
        let alert = transition.alert
        switch transition {
        case .fired:
            if firing.isEmpty { nextResendAt = now + resendInterval }
            firing[StageKey(alert)] = alert
        case .resolved:
            firing[StageKey(alert)] = nil
            if firing.isEmpty { nextResendAt = nil }
        }
        return enqueue([alert])
    }

    /// Adopts alerts that were firing before a restart and queues one POST for all of them.
    mutating func resume(firing alerts: [DropOffAlert], now: ContinuousClock.Instant) -> QueueingResult {
        let stillFiring = alerts.filter(\.isFiring)
        guard !stillFiring.isEmpty else { return QueueingResult() }
        if firing.isEmpty { nextResendAt = now + resendInterval }
        for alert in stillFiring { firing[StageKey(alert)] = alert }
        return enqueue(stillFiring)
    }

    private mutating func enqueue(_ alerts: [DropOffAlert]) -> QueueingResult {
        var result = QueueingResult()
        if queue.count >= capacity {
            // Alertmanager shows the newest state best; the oldest post is the least useful.
            queue.removeFirst()
            dropped += 1
            droppedThisOverflow += 1
            result.droppedOne = true
            result.overflowBegan = droppedThisOverflow == 1
        }
        lastID += 1
        queue.append(Delivery(id: lastID, alerts: alerts))
        return result
    }

    /// Whether the delivery is still owed (it was not dropped while being attempted).
    func isQueued(_ id: UInt64) -> Bool {
        queue.contains { $0.id == id }
    }

    /// Chooses the next thing to do at `now`.
    mutating func nextStep(now: ContinuousClock.Instant) -> Step {
        if let head = queue.first { return .deliver(head) }
        if stopping { return .finish }
        guard let due = nextResendAt, !firing.isEmpty else { return .wait(until: nil) }
        guard now >= due else { return .wait(until: due) }
        // Scheduled before posting: a failed re-send is simply tried again an interval later,
        // well within the four intervals Alertmanager keeps the alert.
        nextResendAt = now + resendInterval
        return .resend(firing.sorted { $0.key < $1.key }.map(\.value))
    }

    /// Removes a finished delivery. Returns how many deliveries the overflow episode dropped
    /// when this completion ends one (the queue is empty again), for a single log line.
    mutating func complete(_ id: UInt64, as completion: Completion) -> Int? {
        guard let index = queue.firstIndex(where: { $0.id == id }) else { return nil }
        queue.remove(at: index)
        switch completion {
        case .delivered: delivered += 1
        case .rejected: rejected += 1
        case .abandoned: abandoned += 1
        }
        guard queue.isEmpty, droppedThisOverflow > 0 else { return nil }
        defer { droppedThisOverflow = 0 }
        return droppedThisOverflow
    }

    mutating func countResend() { resent += 1 }

    /// Counts a failed POST; true when it starts an episode of a failing endpoint (the one
    /// failure of the episode worth a warning).
    mutating func countFailedAttempt() -> Bool {
        failedAttempts += 1
        defer { failing = true }
        return !failing
    }

    /// Notes a successful POST; true when it ends an episode of a failing endpoint.
    mutating func markSucceeded() -> Bool {
        defer { failing = false }
        return failing
    }

    /// From now on the loop only empties the queue, then finishes.
    mutating func beginStopping() { stopping = true }
}
