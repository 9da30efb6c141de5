import JourneyCore
import Testing

@testable import Alerting

/// The bookkeeping rules on their own, without network or timing.
@Suite("Delivery ledger and backoff")
struct DeliveryLedgerTests {
    let start = ContinuousClock.now

    @Test("default backoff: 0.5 s doubling, capped at 30 s")
    func defaultBackoff() {
        let webhook = AlertWebhook(
            settings: .init(url: "http://127.0.0.1:9093/api/v2/alerts"), logger: LogCollector().logger())
        let delays = (1...8).map { webhook.backoff(afterAttempt: $0) }
        #expect(
            delays == [
                .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30),
                .seconds(30),
            ])
        #expect(webhook.backoff(afterAttempt: 10_000) == .seconds(30))
        #expect(webhook.settings.firingTTL == .minutes(4))
    }

    @Test("firing alerts are re-sent after each interval; resolving the last one stops it")
    func resendSchedule() throws {
        var ledger = DeliveryLedger(capacity: 10, resendInterval: .seconds(60))
        let alert = Fixtures.firingAlert()
        _ = ledger.record(.fired(alert), now: start)
        guard case .deliver(let delivery) = ledger.nextStep(now: start) else {
            Issue.record("the fired transition should be delivered first")
            return
        }
        _ = ledger.complete(delivery.id, as: .delivered)
        guard case .wait(let until) = ledger.nextStep(now: start) else {
            Issue.record("nothing is due right after the post")
            return
        }
        #expect(until == start + .seconds(60))
        guard case .resend(let alerts) = ledger.nextStep(now: start + .seconds(61)) else {
            Issue.record("the re-send is due after an interval")
            return
        }
        #expect(alerts == [alert])
        _ = ledger.record(
            .resolved(Fixtures.resolved(alert, at: alert.firedAt + .minutes(5))), now: start + .seconds(62))
        guard case .deliver(let resolution) = ledger.nextStep(now: start + .seconds(62)) else {
            Issue.record("the resolution should be delivered")
            return
        }
        _ = ledger.complete(resolution.id, as: .delivered)
        guard case .wait(let after) = ledger.nextStep(now: start + .seconds(500)) else {
            Issue.record("nothing fires any more")
            return
        }
        #expect(after == nil)
        #expect(ledger.delivered == 2)
    }

    @Test("overflow drops the oldest, even the one being attempted; draining ends the episode")
    func overflowEpisode() {
        var ledger = DeliveryLedger(capacity: 2, resendInterval: .seconds(60))
        let alert = Fixtures.firingAlert()
        _ = ledger.record(.fired(alert), now: start)
        guard case .deliver(let inFlight) = ledger.nextStep(now: start) else {
            Issue.record("expected a delivery")
            return
        }
        #expect(ledger.record(.fired(alert), now: start).droppedOne == false)
        let firstDrop = ledger.record(.fired(alert), now: start)
        #expect(firstDrop.droppedOne && firstDrop.overflowBegan)
        let secondDrop = ledger.record(.fired(alert), now: start)
        #expect(secondDrop.droppedOne && !secondDrop.overflowBegan)
        #expect(!ledger.isQueued(inFlight.id))
        // The abandoned attempt's completion changes nothing.
        #expect(ledger.complete(inFlight.id, as: .delivered) == nil)
        #expect(ledger.delivered == 0)
        var endedEpisode: Int?
        while case .deliver(let next) = ledger.nextStep(now: start) {
            endedEpisode = ledger.complete(next.id, as: .delivered)
        }
        #expect(endedEpisode == 2)
        #expect(ledger.dropped == 2)
        #expect(ledger.record(.fired(alert), now: start).overflowBegan == false)
    }

    @Test("stopping finishes once the queue is empty, without re-sending")
    func stopping() {
        var ledger = DeliveryLedger(capacity: 10, resendInterval: .seconds(1))
        _ = ledger.resume(firing: [Fixtures.firingAlert()], now: start)
        ledger.beginStopping()
        guard case .deliver(let delivery) = ledger.nextStep(now: start + .seconds(5)) else {
            Issue.record("the queue is flushed first")
            return
        }
        _ = ledger.complete(delivery.id, as: .delivered)
        guard case .finish = ledger.nextStep(now: start + .seconds(5)) else {
            Issue.record("expected to finish rather than re-send")
            return
        }
    }

    @Test("readable numbers round half away from zero and keep trailing zeros")
    func readableNumbers() {
        #expect(ReadableNumbers.percent(0.12) == "12.0%")
        #expect(ReadableNumbers.percent(55.0 / 130.0) == "42.3%")
        #expect(ReadableNumbers.fixed(5.125, decimals: 2) == "5.13")
        #expect(ReadableNumbers.fixed(-0.004, decimals: 2) == "0.00")
        #expect(ReadableNumbers.fixed(-1.5, decimals: 0) == "-2")
        #expect(ReadableNumbers.fixed(3.05, decimals: 2) == "3.05")
        #expect(ReadableNumbers.fixed(.infinity, decimals: 2) == "inf")
    }
}
