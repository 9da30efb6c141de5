import NIOCore

/// The flow control of one client connection, as a plain value that returns what to do:
/// when to stop and resume reading, when the client is idle, and when the conversation is
/// over. ``LineConnectionHandler`` feeds it what happens on the channel and carries out the
/// actions; tests feed it directly.
///
/// Reading stops for any of three reasons and resumes when none is left:
/// - the commit queue is full (the daemon's doing: TCP then pushes back on the client);
/// - the client does not read what the daemon writes (the outbound buffer is over its
///   high-water mark);
/// - the client has ``maxAcksAwaitingCommit`` acknowledgement requests outstanding.
///
/// The end of the client's input (a half-close) ends its lines, not the conversation: the
/// acknowledgements it asked for are still written, and the connection closes once the last
/// one is out.
struct LineConnectionState {
    /// What the handler does next.
    enum Action: Equatable {
        case none
        case startReading
        case stopReading
        /// The conversation is over: write what is pending, then close.
        case close
    }

    /// What an idle check decides.
    enum IdleDecision: Equatable {
        /// The client made no progress for the idle timeout: tell it and close.
        case closeIdle
        /// Check again at this time.
        case checkAgain(at: NIODeadline)
        /// Nothing left to watch (the connection is closing).
        case stop
    }

    /// Acknowledgement requests a connection may have outstanding before reading pauses:
    /// each holds a callback in the commit queue until its lines are committed.
    let maxAcksAwaitingCommit: Int

    private(set) var pausedForQueue = false
    private(set) var pausedForWrites = false
    private(set) var pausedForAcks = false
    /// Whether the channel reads (the last start or stop returned).
    private(set) var isReading = true
    /// Acknowledgement requests whose lines are not committed yet (the daemon's doing).
    private(set) var acksAwaitingCommit = 0
    /// The client closed its sending side: no more lines will come.
    private(set) var inputEnded = false
    /// The connection is closing (or closed): nothing more to do.
    private(set) var isClosing = false
    /// When the client last made progress: a complete line, or the daemon stopped making it wait.
    private(set) var lastProgress: NIODeadline

    init(now: NIODeadline, maxAcksAwaitingCommit: Int = 1024) {
        self.lastProgress = now
        self.maxAcksAwaitingCommit = max(maxAcksAwaitingCommit, 2)
    }

    /// The client completed one or more lines.
    mutating func linesCompleted(at now: NIODeadline) {
        lastProgress = now
    }

    /// The client asked for an acknowledgement of its lines so far.
    mutating func ackRequested() -> Action {
        acksAwaitingCommit += 1
        guard acksAwaitingCommit >= maxAcksAwaitingCommit, !pausedForAcks else { return .none }
        pausedForAcks = true
        return readingAction()
    }

    /// An acknowledgement was written. After the end of the input, the last one ends the
    /// conversation.
    mutating func ackSent(at now: NIODeadline) -> Action {
        acksAwaitingCommit -= 1
        lastProgress = now
        if inputEnded { return closeIfAnswered() }
        guard pausedForAcks, acksAwaitingCommit <= maxAcksAwaitingCommit / 2 else { return .none }
        pausedForAcks = false
        return readingAction()
    }

    /// The commit queue asked producers to pause. Returns whether the handler should ask the
    /// queue for a call when it has room (once per pause), and what to do now.
    mutating func queueFull() -> (action: Action, awaitRoom: Bool) {
        guard !pausedForQueue else { return (.none, false) }
        pausedForQueue = true
        return (readingAction(), true)
    }

    /// The commit queue has room again.
    mutating func queueHasRoom(at now: NIODeadline) -> Action {
        pausedForQueue = false
        lastProgress = now
        return readingAction()
    }

    /// The channel's writability changed: the client reads its replies again, or stopped.
    mutating func writabilityChanged(isWritable: Bool, at now: NIODeadline) -> Action {
        pausedForWrites = !isWritable
        if isWritable { lastProgress = now }
        return readingAction()
    }

    /// The client closed its sending side; its last lines are already handed on.
    mutating func inputClosed() -> Action {
        guard !inputEnded else { return .none }
        inputEnded = true
        return closeIfAnswered()
    }

    /// The channel is gone.
    mutating func channelClosed() {
        isClosing = true
    }

    /// Whether the client has been idle for `timeout` at `now`. Time the daemon makes the
    /// client wait (a full queue, acknowledgements not yet committed) does not count.
    mutating func idleCheck(at now: NIODeadline, timeout: TimeAmount) -> IdleDecision {
        guard !isClosing else { return .stop }
        if pausedForQueue || acksAwaitingCommit > 0 { lastProgress = now }
        guard now - lastProgress >= timeout else { return .checkAgain(at: lastProgress + timeout) }
        isClosing = true
        return .closeIdle
    }

    private mutating func closeIfAnswered() -> Action {
        guard acksAwaitingCommit == 0, !isClosing else { return .none }
        isClosing = true
        return .close
    }

    /// Reads while neither the queue nor the client's unread replies say stop, and not after
    /// the input ended.
    private mutating func readingAction() -> Action {
        let wanted = !pausedForQueue && !pausedForWrites && !pausedForAcks && !inputEnded && !isClosing
        guard wanted != isReading else { return .none }
        isReading = wanted
        return wanted ? .startReading : .stopReading
    }
}
