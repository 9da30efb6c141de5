import DaemonSettings
import JourneyCore
import Testing

@testable import Ingest

/// The commit loop's decisions after failed attempts, fed directly with times.
@Suite struct CommitLoopStateTests {
    @Test func anOutageIsRetriedWithADoublingBackoffAndLoggedOnce() {
        var state = CommitLoopState(drainTimeout: 30)
        state.batchStarted()
        let first = state.failed(.connection(duringAttempt: false), shuttingDown: false, now: 100)
        #expect(first.decision == .retry(after: 0.25) && first.outageBegan)
        var waits: [Double] = []
        for step in 1...6 {
            let next = state.failed(.connection(duringAttempt: false), shuttingDown: false, now: 100 + Double(step))
            #expect(!next.outageBegan, "logged once, not per retry")
            if case .retry(let seconds) = next.decision { waits.append(seconds) }
        }
        #expect(waits == [0.5, 1, 2, 4, 5, 5])
        #expect(state.committed(now: 112) == 12, "the outage's length, for the log")
        #expect(state.outageSince == nil)
        #expect(state.committed(now: 113) == nil, "nothing more to report")
    }

    @Test func aConnectionLostDuringAnAttemptLeavesTheOutcomeUnknownUntilCommitted() {
        var state = CommitLoopState(drainTimeout: 30)
        state.batchStarted()
        _ = state.failed(.connection(duringAttempt: true), shuttingDown: false, now: 1)
        #expect(state.outcomeUnknown, "the batch may have committed: check its token")
        _ = state.failed(.connection(duringAttempt: false), shuttingDown: false, now: 2)
        #expect(state.outcomeUnknown, "a failed reconnect does not settle it")
        _ = state.committed(now: 3)
        #expect(!state.outcomeUnknown)
        _ = state.failed(.connection(duringAttempt: true), shuttingDown: false, now: 4)
        state.batchStarted()
        #expect(!state.outcomeUnknown && state.backoff == CommitLoopState.firstBackoff, "each batch starts afresh")
    }

    @Test func aRefusedBatchWithEventsIsIsolatedAtOnceAndOneWithoutIsRetried() {
        var state = CommitLoopState(drainTimeout: 30)
        state.batchStarted()
        let withEvents = state.failed(.refused(batchHasEvents: true), shuttingDown: true, now: 1)
        #expect(withEvents.decision == .isolateRefusedEvents && !withEvents.outageBegan)
        #expect(state.failingSinceShutdown == nil, "isolating is progress, not a failure to wait out")
        let without = state.failed(.refused(batchHasEvents: false), shuttingDown: false, now: 2)
        #expect(without.decision == .retry(after: 0.25) && !without.outageBegan)
        #expect(state.outageSince == nil, "a refusal is not an outage")
    }

    @Test func aShutdownGivesUpAfterTheDrainTimeoutCountedFromItsFirstFailure() {
        var state = CommitLoopState(drainTimeout: 10)
        state.batchStarted()
        // Failing before the shutdown does not count against it.
        _ = state.failed(.connection(duringAttempt: false), shuttingDown: false, now: 0)
        #expect(state.failed(.connection(duringAttempt: false), shuttingDown: true, now: 50).decision != .giveUp)
        #expect(state.failed(.connection(duringAttempt: false), shuttingDown: true, now: 59.9).decision != .giveUp)
        #expect(state.failed(.connection(duringAttempt: false), shuttingDown: true, now: 60).decision == .giveUp)
    }

    @Test func aCommitDuringTheDrainRestartsItsClock() {
        var state = CommitLoopState(drainTimeout: 10)
        state.batchStarted()
        _ = state.failed(.connection(duringAttempt: false), shuttingDown: true, now: 0)
        _ = state.committed(now: 8)
        state.batchStarted()
        #expect(state.failed(.connection(duringAttempt: false), shuttingDown: true, now: 12).decision != .giveUp)
        #expect(state.failed(.connection(duringAttempt: false), shuttingDown: true, now: 21).decision != .giveUp)
        #expect(state.failed(.connection(duringAttempt: false), shuttingDown: true, now: 22).decision == .giveUp)
    }

    @Test func aZeroDrainTimeoutGivesUpAtTheFirstFailureOfAShutdown() {
        var state = CommitLoopState(drainTimeout: 0)
        state.batchStarted()
        #expect(state.failed(.connection(duringAttempt: false), shuttingDown: true, now: 5).decision == .giveUp)
    }
}

/// What a reload does to the commit loop's session.
@Suite struct CommitLoopReloadTests {
    @Test func aReloadKeepsTheSessionOnlyWhenItServesTheNewConfiguration() {
        #expect(CommitLoopState.afterReload(hasSession: true, sessionServesNewConfiguration: true) == .keepSession)
        #expect(CommitLoopState.afterReload(hasSession: true, sessionServesNewConfiguration: false) == .replaceSession)
        #expect(CommitLoopState.afterReload(hasSession: false, sessionServesNewConfiguration: false) == .noSession)
    }
}

extension CommitLoopReloadTests {
    @Test func whatASessionDependsOn() {
        let journey = JourneyDefinition(
            name: "shop", conversionWindow: .seconds(3600),
            stages: [
                StageDefinition(name: "visit", events: [EventPattern("visit")]),
                StageDefinition(name: "buy", events: [EventPattern("buy")]),
            ])
        let old = CJMConfiguration(journeys: [journey])
        var sources = old
        sources.sources = [SourceSettings(kind: .tcp(host: "127.0.0.1", port: 7410))]
        sources.ingest.batchMaxEvents = 100
        sources.ingest.maxConnections = 3
        #expect(CommitLoopState.session(madeFor: old, serves: sources), "sources, batching and limits")
        var journeys = old
        journeys.journeys[0].conversionWindow = .seconds(60)
        var alerts = old
        alerts.alerts.minDecided = 10
        var database = old
        database.database.url = "postgresql:///other"
        var lateness = old
        lateness.ingest.allowedLateness = .seconds(1)
        var retention = old
        retention.retention.events = .days(30)
        for changed in [journeys, alerts, database, lateness, retention] {
            #expect(!CommitLoopState.session(madeFor: old, serves: changed))
        }
    }
}
