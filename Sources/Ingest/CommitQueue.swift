import Foundation
import NIOConcurrencyHelpers

/// The hand-over point between sources (event-loop threads) and the committing thread.
///
/// Every submitted item gets a *ticket*, a global sequence number. The committing thread takes
/// items in ticket order and, after each commit, advances `committedTicket`; a source that owes
/// a client an acknowledgement waits for the ticket of the client's last line. The queue is
/// bounded: past `capacity` items, sources are told to stop reading (backpressure) and are
/// called back once it drains below half of that.
final class CommitQueue: Sendable {
    struct Taken {
        var items: [PipelineItem]
        var lastTicket: Int64
    }

    private struct State {
        var items: [PipelineItem] = []
        var head = 0
        var nextTicket: Int64 = 1
        var committedTicket: Int64 = 0
        var takenTicket: Int64 = 0
        /// The last ticket a client waits on synchronously (``submit(_:clientWaits:)``).
        var waitedOnTicket: Int64 = 0
        var oldestSubmittedAt: UInt64? = nil
        /// `releasedByAbandon`: a shutdown's wait, also released by ``abandon()`` (an
        /// acknowledgement never is: it would claim a commit that did not happen).
        var ackWaiters: [(ticket: Int64, releasedByAbandon: Bool, callback: @Sendable () -> Void)] = []
        var abandoned = false
        var resumeWaiters: [@Sendable () -> Void] = []
        var closed = false

        var count: Int { items.count - head }
    }

    let capacity: Int
    private let state = NIOLockedValueBox(State())
    private let wakeUp = DispatchSemaphore(value: 0)

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    /// Adds items; returns the ticket of the last one (0 when `items` is empty: nothing to wait
    /// for) and whether the producer should pause reading.
    ///
    /// `clientWaits`: a client does nothing until these items are committed (an HTTP request
    /// waits for its answer), so the commit loop takes them at once instead of letting them
    /// wait `batch_max_delay` for company. Requests arriving while a commit runs are taken
    /// together by the next one: the batches grow with the load (group commit).
    func submit(_ items: [PipelineItem], clientWaits: Bool = false) -> (lastTicket: Int64, shouldPause: Bool) {
        guard !items.isEmpty else { return (state.withLockedValue { $0.nextTicket - 1 }, false) }
        let result: (Int64, Bool) = state.withLockedValue { s in
            if s.count == 0 { s.oldestSubmittedAt = DispatchTime.now().uptimeNanoseconds }
            s.items.append(contentsOf: items)
            s.nextTicket += Int64(items.count)
            if clientWaits { s.waitedOnTicket = s.nextTicket - 1 }
            return (s.nextTicket - 1, s.count >= capacity)
        }
        wakeUp.signal()
        return result
    }

    /// The ticket of the last item submitted so far.
    var lastSubmittedTicket: Int64 { state.withLockedValue { $0.nextTicket - 1 } }

    /// Whether every item up to `ticket` is committed.
    func isCommitted(through ticket: Int64) -> Bool {
        state.withLockedValue { ticket <= $0.committedTicket }
    }

    /// Calls `callback` once every item up to `ticket` is committed (at once if it already is).
    func whenCommitted(through ticket: Int64, _ callback: @escaping @Sendable () -> Void) {
        let now: Bool = state.withLockedValue { s in
            if ticket <= s.committedTicket { return true }
            s.ackWaiters.append((ticket, false, callback))
            return false
        }
        if now { callback() }
    }

    /// As ``whenCommitted(through:_:)``, or once the pipeline gives up on what is left
    /// (``abandon()``): for shutdown, which must end either way.
    func whenCommittedOrAbandoned(through ticket: Int64, _ callback: @escaping @Sendable () -> Void) {
        let now: Bool = state.withLockedValue { s in
            if ticket <= s.committedTicket || s.abandoned { return true }
            s.ackWaiters.append((ticket, true, callback))
            return false
        }
        if now { callback() }
    }

    /// Whether ``abandon()`` was called.
    var isAbandoned: Bool { state.withLockedValue { $0.abandoned } }

    /// The pipeline stops without committing what is queued (a shutdown during an outage):
    /// releases the shutdown waits of ``whenCommittedOrAbandoned(through:_:)``, not the
    /// acknowledgements.
    func abandon() {
        let released: [@Sendable () -> Void] = state.withLockedValue { s in
            s.abandoned = true
            var due: [@Sendable () -> Void] = []
            s.ackWaiters.removeAll { waiter in
                guard waiter.releasedByAbandon else { return false }
                due.append(waiter.callback)
                return true
            }
            return due
        }
        released.forEach { $0() }
    }

    /// Calls `callback` once the queue has room again (at once if it has).
    func whenRoom(_ callback: @escaping @Sendable () -> Void) {
        let now: Bool = state.withLockedValue { s in
            if s.count < capacity / 2 || s.closed { return true }
            s.resumeWaiters.append(callback)
            return false
        }
        if now { callback() }
    }

    /// Items waiting to be committed.
    var depth: Int { state.withLockedValue { $0.count } }

    /// Whether producers are asked to pause (socket sources stop reading).
    var isFull: Bool { state.withLockedValue { $0.count >= capacity } }

    /// Waits until there is work: `maxItems` items, or items older than `maxDelay`, or items
    /// a client waits on, or the queue was closed, or `idle` passed. Returns up to `maxItems` items (possibly none).
    func take(maxItems: Int, maxDelay: TimeInterval, idle: TimeInterval) -> Taken {
        let start = DispatchTime.now().uptimeNanoseconds
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            let decision: (ready: Bool, wait: TimeInterval) = state.withLockedValue { s in
                if s.count >= maxItems || s.closed { return (true, 0) }
                if s.count > 0, s.waitedOnTicket > s.takenTicket { return (true, 0) }
                if let oldest = s.oldestSubmittedAt, s.count > 0 {
                    let age = Double(now - oldest) / 1e9
                    return age >= maxDelay ? (true, 0) : (false, maxDelay - age)
                }
                let waited = Double(now - start) / 1e9
                return waited >= idle ? (true, 0) : (false, idle - waited)
            }
            if decision.ready { break }
            _ = wakeUp.wait(timeout: .now() + decision.wait)
        }
        return state.withLockedValue { s in
            let n = min(maxItems, s.count)
            let items = Array(s.items[s.head..<(s.head + n)])
            s.head += n
            if s.head > 4096 && s.head * 2 > s.items.count {
                s.items.removeFirst(s.head)
                s.head = 0
            }
            s.oldestSubmittedAt = s.count > 0 ? DispatchTime.now().uptimeNanoseconds : nil
            s.takenTicket += Int64(n)
            return Taken(items: items, lastTicket: s.takenTicket)
        }
    }

    /// Records that every item up to `ticket` is committed and runs the callbacks now due.
    func markCommitted(through ticket: Int64) {
        let (acks, resumes): ([@Sendable () -> Void], [@Sendable () -> Void]) = state.withLockedValue { s in
            s.committedTicket = max(s.committedTicket, ticket)
            var due: [@Sendable () -> Void] = []
            s.ackWaiters.removeAll { waiter in
                guard waiter.ticket <= s.committedTicket else { return false }
                due.append(waiter.callback)
                return true
            }
            var resume: [@Sendable () -> Void] = []
            if s.count < capacity / 2 {
                resume = s.resumeWaiters
                s.resumeWaiters = []
            }
            return (due, resume)
        }
        acks.forEach { $0() }
        resumes.forEach { $0() }
    }

    /// No more input will come: `take` returns at once from now on.
    func close() {
        let resumes = state.withLockedValue { s in
            s.closed = true
            defer { s.resumeWaiters = [] }
            return s.resumeWaiters
        }
        wakeUp.signal()
        resumes.forEach { $0() }
    }

    var isClosed: Bool { state.withLockedValue { $0.closed } }
}
