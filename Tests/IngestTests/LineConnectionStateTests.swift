import NIOCore
import Testing

@testable import Ingest

/// The connection's flow control, fed directly with injected time.
@Suite struct LineConnectionStateTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func tooManyOutstandingAcknowledgementsPauseReadingUntilHalfAreAnswered() {
        var state = LineConnectionState(now: start, maxAcksAwaitingCommit: 4)
        #expect(state.ackRequested() == .none)
        #expect(state.ackRequested() == .none)
        #expect(state.ackRequested() == .none)
        #expect(state.ackRequested() == .stopReading, "the fourth outstanding request reaches the limit")
        #expect(state.acksAwaitingCommit == 4)
        #expect(state.ackSent(at: start) == .none, "three left: more than half")
        #expect(state.ackSent(at: start) == .startReading, "two left: half")
        #expect(state.isReading)
    }

    @Test func readingResumesOnlyWhenEveryReasonToPauseIsGone() {
        var state = LineConnectionState(now: start)
        let full = state.queueFull()
        #expect(full.action == .stopReading && full.awaitRoom)
        let again = state.queueFull()
        #expect(again.action == .none && !again.awaitRoom, "one wait for room per pause")
        #expect(state.writabilityChanged(isWritable: false, at: start) == .none, "already stopped")
        #expect(state.queueHasRoom(at: start) == .none, "the client still reads no replies")
        #expect(!state.isReading)
        #expect(state.writabilityChanged(isWritable: true, at: start) == .startReading)
    }

    @Test func endOfInputWithNothingToAnswerClosesAtOnce() {
        var state = LineConnectionState(now: start)
        #expect(state.inputClosed() == .close)
        #expect(state.isClosing)
        #expect(state.inputClosed() == .none, "a second end of input changes nothing")
    }

    @Test func endOfInputWaitsForEveryAcknowledgementAskedBefore() {
        var state = LineConnectionState(now: start)
        _ = state.ackRequested()
        _ = state.ackRequested()
        #expect(state.inputClosed() == .none, "two acknowledgements are owed")
        #expect(state.inputEnded && !state.isClosing)
        #expect(state.ackSent(at: start) == .none)
        #expect(state.ackSent(at: start) == .close, "the last one ends the conversation")
    }

    @Test func readingNeverResumesAfterTheInputEnded() {
        var state = LineConnectionState(now: start, maxAcksAwaitingCommit: 2)
        _ = state.ackRequested()
        #expect(state.ackRequested() == .stopReading)
        _ = state.inputClosed()
        #expect(state.writabilityChanged(isWritable: true, at: start) == .none)
        #expect(state.queueHasRoom(at: start) == .none)
        #expect(state.ackSent(at: start) == .none)
        #expect(!state.isReading)
        #expect(state.ackSent(at: start) == .close)
    }

    @Test func anIdleClientIsClosedAfterTheTimeout() {
        var state = LineConnectionState(now: start)
        let timeout = TimeAmount.seconds(10)
        #expect(state.idleCheck(at: start + .seconds(4), timeout: timeout) == .checkAgain(at: start + timeout))
        state.linesCompleted(at: start + .seconds(6))
        #expect(state.idleCheck(at: start + .seconds(10), timeout: timeout) == .checkAgain(at: start + .seconds(16)))
        #expect(state.idleCheck(at: start + .seconds(16), timeout: timeout) == .closeIdle)
        #expect(state.idleCheck(at: start + .seconds(30), timeout: timeout) == .stop)
    }

    @Test func timeTheDaemonMakesTheClientWaitIsNotIdleness() {
        let timeout = TimeAmount.seconds(10)
        var waitingForCommit = LineConnectionState(now: start)
        _ = waitingForCommit.ackRequested()
        _ = waitingForCommit.inputClosed()
        #expect(
            waitingForCommit.idleCheck(at: start + .seconds(60), timeout: timeout)
                == .checkAgain(at: start + .seconds(70)), "a half-closed client waiting for its acknowledgement")
        #expect(waitingForCommit.ackSent(at: start + .seconds(61)) == .close)

        var waitingForRoom = LineConnectionState(now: start)
        _ = waitingForRoom.queueFull()
        #expect(
            waitingForRoom.idleCheck(at: start + .seconds(60), timeout: timeout)
                == .checkAgain(at: start + .seconds(70)))
        _ = waitingForRoom.queueHasRoom(at: start + .seconds(65))
        #expect(
            waitingForRoom.idleCheck(at: start + .seconds(74), timeout: timeout)
                == .checkAgain(at: start + .seconds(75)))
        #expect(waitingForRoom.idleCheck(at: start + .seconds(75), timeout: timeout) == .closeIdle)
    }
}
