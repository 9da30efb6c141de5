import Dispatch
import Foundation
import IngestEnvelope
import JourneyCore
import Testing

@testable import Ingest

/// What the commit loop takes, and when: items a client waits on are taken without waiting
/// for `batch_max_delay`; others wait for company.
@Suite struct CommitQueueTests {
    static func items(_ count: Int) -> [PipelineItem] {
        (0..<count).map { index in
            .event(
                AcceptedEvent(
                    event: TouchpointEvent(
                        eventID: "e\(index)", customerID: "c", name: "n", time: EventTime(seconds: 1_777_636_800)),
                    source: "s", receivedAt: EventTime(seconds: 1_777_636_800)))
        }
    }

    /// Takes on another thread; returns what was taken, or nil if nothing came back in `seconds`.
    static func take(_ queue: CommitQueue, maxDelay: TimeInterval, idle: TimeInterval, within seconds: Double)
        -> CommitQueue.Taken?
    {
        let done = DispatchSemaphore(value: 0)
        let box = TakenBox()
        Thread.detachNewThread {
            box.taken = queue.take(maxItems: 1000, maxDelay: maxDelay, idle: idle)
            done.signal()
        }
        return done.wait(timeout: .now() + seconds) == .success ? box.taken : nil
    }

    final class TakenBox: @unchecked Sendable { var taken: CommitQueue.Taken? }

    @Test func itemsAClientWaitsOnAreTakenAtOnce() {
        let queue = CommitQueue(capacity: 10_000)
        _ = queue.submit(Self.items(3))
        _ = queue.submit(Self.items(2), clientWaits: true)
        // An hour's delay would keep them waiting: the waiting client makes the take immediate,
        // and the earlier items go with them, in order.
        let taken = Self.take(queue, maxDelay: 3600, idle: 3600, within: 30)
        #expect(taken?.items.count == 5)
        #expect(taken?.lastTicket == 5)
    }

    @Test func otherItemsWaitForTheirDelay() {
        let queue = CommitQueue(capacity: 10_000)
        _ = queue.submit(Self.items(3))
        // With an hour's delay and no client waiting, the take is still waiting half a second later.
        let early = Self.take(queue, maxDelay: 3600, idle: 3600, within: 0.5)
        #expect(early == nil)
        queue.close()  // releases the waiting take
    }
}
