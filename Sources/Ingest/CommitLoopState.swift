import DaemonSettings

/// What the live commit loop does after each attempt to commit a batch, as a plain value:
/// fed what happened and when, it returns the decision, and ``LivePipeline`` carries it out.
///
/// - A lost connection (or none yet) is an outage: logged once when it begins and once when
///   it ends, retried with a backoff of 0.25 s doubling to 5 s. Should the connection have
///   been lost during the attempt, the batch may have committed: ``outcomeUnknown`` says to
///   check its token before storing it again.
/// - A batch PostgreSQL refuses, with the connection fine, has its events committed one by
///   one, the refused ones dead-lettered; a refusal with no event left to isolate (dead
///   letters or file positions) is retried with backoff.
/// - Once shutdown has begun, failures are retried for at most the drain timeout, counted
///   from the first failure after the last commit; then the loop gives up.
struct CommitLoopState {
    /// What went wrong with an attempt.
    enum Failure: Equatable {
        /// No connection, or it was lost during the attempt.
        case connection(duringAttempt: Bool)
        /// The database refused the batch; the connection is fine.
        case refused(batchHasEvents: Bool)
    }

    /// What the loop does next with the same batch.
    enum Decision: Equatable {
        /// Commit the events one by one, dead-lettering those refused; no wait.
        case isolateRefusedEvents
        /// Wait this many seconds, then try again.
        case retry(after: Double)
        /// Stop: the drain timeout passed during shutdown.
        case giveUp
    }

    /// What a reload of the configuration does to the session (connection and journey state).
    enum ReloadDecision: Equatable {
        /// Keep it: nothing it depends on changed (journeys, alerts, lateness, database).
        case keepSession
        /// Write the derived rows that wait under the old journeys, then drop it: the next
        /// attempt opens a session restored from the database under the new configuration.
        case replaceSession
        /// There is none (the database is away): the next one is made for the new configuration.
        case noSession
    }

    /// Whether a session made for `old` serves `new` as one made for it would: the sink and
    /// its engine depend on the journeys, the alert settings, the allowed lateness, retention
    /// and the database, not on sources, batching or connection limits.
    static func session(madeFor old: CJMConfiguration, serves new: CJMConfiguration) -> Bool {
        old.journeys == new.journeys && old.alerts == new.alerts && old.database == new.database
            && old.ingest.allowedLateness == new.ingest.allowedLateness && old.retention == new.retention
    }

    /// The decision for a reload, given whether there is a session and whether it serves
    /// the new configuration as one made for it would.
    static func afterReload(hasSession: Bool, sessionServesNewConfiguration: Bool) -> ReloadDecision {
        guard hasSession else { return .noSession }
        return sessionServesNewConfiguration ? .keepSession : .replaceSession
    }

    /// How long a shutdown keeps retrying, in seconds.
    let drainTimeout: Double
    static let firstBackoff = 0.25
    static let longestBackoff = 5.0

    private(set) var backoff = firstBackoff
    /// The current batch's last attempt lost its connection: it may have committed.
    private(set) var outcomeUnknown = false
    /// When the database became unavailable (nil: it is available).
    private(set) var outageSince: Double?
    /// When commits began failing after shutdown began (nil: they have not).
    private(set) var failingSinceShutdown: Double?

    init(drainTimeout: Double) {
        self.drainTimeout = drainTimeout
    }

    /// A new batch is taken.
    mutating func batchStarted() {
        backoff = Self.firstBackoff
        outcomeUnknown = false
    }

    /// An attempt failed at `now` (seconds on a monotonic clock). `outageBegan` is true for
    /// the first failure of an outage (log it then, not at every retry).
    mutating func failed(_ failure: Failure, shuttingDown: Bool, now: Double) -> (decision: Decision, outageBegan: Bool)
    {
        var outageBegan = false
        switch failure {
        case .connection(let duringAttempt):
            if duringAttempt { outcomeUnknown = true }
            if outageSince == nil {
                outageSince = now
                outageBegan = true
            }
        case .refused(batchHasEvents: true):
            return (.isolateRefusedEvents, false)
        case .refused(batchHasEvents: false):
            break
        }
        if shuttingDown {
            let since = failingSinceShutdown ?? now
            failingSinceShutdown = since
            if now - since >= drainTimeout { return (.giveUp, outageBegan) }
        }
        let wait = backoff
        backoff = min(backoff * 2, Self.longestBackoff)
        return (.retry(after: wait), outageBegan)
    }

    /// The batch committed (or was found committed) at `now`. Returns how long the outage
    /// that this ends lasted, if one did.
    mutating func committed(now: Double) -> Double? {
        failingSinceShutdown = nil
        outcomeUnknown = false
        guard let since = outageSince else { return nil }
        outageSince = nil
        return now - since
    }
}
