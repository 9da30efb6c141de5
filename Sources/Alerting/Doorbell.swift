import NIOConcurrencyHelpers

/// Wakes one waiting task: the delivery loop sleeps on it until there is work, a deadline
/// passes, or it is cancelled.
///
/// A ring while nobody waits is remembered (once), so work queued just before the loop goes
/// to sleep is never missed. Ringing never blocks and may come from any thread, which is what
/// lets `AlertWebhook.send` stay cheap on the ingestion path.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = NIOLockedValueBox(State())

    /// Wakes the waiter, or the next one to wait.
    func ring() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns after a ring, at `deadline` (nil: no deadline), or when the task is cancelled.
    func wait(until deadline: ContinuousClock.Instant?) async {
        guard let deadline else {
            await waitForRing()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForRing() }
            group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForRing() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLockedValue { state -> Bool in
                    // Checked under the lock: a cancellation handler that ran before the waiter
                    // was stored found nothing to resume, so it must be noticed here instead.
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
