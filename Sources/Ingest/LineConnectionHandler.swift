import EventDecoding
import IngestEnvelope
import JourneyCore
import NIOCore

/// One client connection of a socket source: frames NDJSON lines (bounded memory per
/// connection), decodes them, hands them to the commit queue, and answers `{"ack": true}`
/// with `{"acked": N}` once all N earlier lines of the connection are committed or
/// dead-lettered.
///
/// Flow control lives in ``LineConnectionState``: reading stops while the commit queue is
/// full, while the client does not read its acknowledgements, or while it has too many
/// outstanding; a client that completes no line for `idle_timeout` is closed, unless it is
/// waiting for the daemon. The end of the client's input (a half-close, as `nc -N` does)
/// ends its lines — a last line without a newline counts — and the connection closes once
/// every acknowledgement asked for before it is written. The channel must allow remote
/// half-closure for that (``SocketSources`` sets it); without it, the end of input closes
/// the connection at once and what was received is still committed.
final class LineConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var framer: LineFramer
    private let decoder: RecordDecoder
    private let queue: CommitQueue
    private let clock: @Sendable () -> EventTime
    private let now: @Sendable () -> NIODeadline
    private let idleTimeout: TimeAmount?
    private let idleTimeoutText: String
    private let onIdleClose: @Sendable () -> Void
    /// Lines received on this connection (ack requests excluded).
    private var lines = 0
    /// Ticket of this connection's last submitted line.
    private var lastTicket: Int64 = 0
    private var pending: [PipelineItem] = []
    private var state: LineConnectionState
    private var idleCheck: Scheduled<Void>?

    /// - Parameter now: the time the idle timeout is measured in (injected by tests).
    init(
        source: String, settings: IngestSettings, queue: CommitQueue, clock: @escaping @Sendable () -> EventTime,
        now: @escaping @Sendable () -> NIODeadline = { .now() },
        maxAcksAwaitingCommit: Int = 1024, forwards: Bool = false,
        onIdleClose: @escaping @Sendable () -> Void = {}
    ) {
        self.framer = LineFramer(maxLineBytes: settings.maxLineBytes)
        self.decoder = RecordDecoder(source: source, settings: settings, keepsLines: forwards)
        self.queue = queue
        self.clock = clock
        self.now = now
        self.idleTimeout =
            settings.idleTimeout > .zero
            ? .microseconds(settings.idleTimeout.microseconds) : nil
        self.idleTimeoutText = settings.idleTimeout.description
        self.onIdleClose = onIdleClose
        self.state = LineConnectionState(now: now(), maxAcksAwaitingCommit: maxAcksAwaitingCommit)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        state.linesCompleted(at: now())
        scheduleIdleCheck(context, at: state.lastProgress)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let receivedAt = clock()
        var completedLines = false
        buffer.withUnsafeReadableBytes { bytes in
            framer.append(bytes) { line, _ in
                completedLines = true
                handle(line, receivedAt: receivedAt, context: context)
            }
        }
        if completedLines { state.linesCompleted(at: now()) }
        submitPending(context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    /// The client closed its sending side (the channel allows half-closure): its last
    /// partial line is a line, and the conversation ends once its acknowledgements are out.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            finishInput(context)
            context.flush()
            perform(state.inputClosed(), context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// A connection that ends keeps what it sent: its last partial line is a line too.
    func channelInactive(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
        state.channelClosed()
        finishInput(context)
        context.fireChannelInactive()
    }

    /// The client reads its acknowledgements again, or stopped reading them: reading its
    /// lines follows, so unread replies cannot pile up in the daemon.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        perform(state.writabilityChanged(isWritable: context.channel.isWritable, at: now()), context)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        state.channelClosed()
        context.close(promise: nil)
    }

    /// Hands on the rest of the input: a last line without a newline counts.
    private func finishInput(_ context: ChannelHandlerContext) {
        let receivedAt = clock()
        framer.finish { line, _ in handle(line, receivedAt: receivedAt, context: context) }
        submitPending(context)
    }

    /// One framed line: an acknowledgement request, or a line for the record decoder.
    private func handle(_ line: FramedLine, receivedAt: EventTime, context: ChannelHandlerContext) {
        if case .line(let text) = line, EventDecoder.isAckRequest(text) {
            requestAcknowledgement(context)
            return
        }
        lines += 1
        if let item = PipelineItem(decoder.decode(line, receivedAt: receivedAt)) { pending.append(item) }
    }

    /// Asks the queue to answer once this connection's lines so far are committed.
    private func requestAcknowledgement(_ context: ChannelHandlerContext) {
        submitPending(context)
        let count = lines
        perform(state.ackRequested(), context)
        if queue.isCommitted(through: lastTicket) {
            // Answer in this read (flushed at its end), so unread replies count against the
            // write buffer at once.
            sendAcknowledgement(count, context, flush: false)
            return
        }
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        queue.whenCommitted(through: lastTicket) {
            eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.sendAcknowledgement(count, context, flush: true)
            }
        }
    }

    /// Writes `{"acked": count}` and does what the state says follows.
    private func sendAcknowledgement(_ count: Int, _ context: ChannelHandlerContext, flush: Bool) {
        guard context.channel.isActive else {
            _ = state.ackSent(at: now())
            return
        }
        let reply = context.channel.allocator.buffer(string: "{\"acked\": \(count)}\n")
        context.write(wrapOutboundOut(reply), promise: nil)
        if flush { context.flush() }
        perform(state.ackSent(at: now()), context)
    }

    /// Submits what was decoded; pauses reading when the queue asks producers to.
    private func submitPending(_ context: ChannelHandlerContext) {
        guard !pending.isEmpty else { return }
        let (ticket, shouldPause) = queue.submit(pending)
        lastTicket = ticket
        pending.removeAll(keepingCapacity: true)
        guard shouldPause else { return }
        let (action, awaitRoom) = state.queueFull()
        perform(action, context)
        guard awaitRoom else { return }
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        queue.whenRoom {
            eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.perform(handler.state.queueHasRoom(at: handler.now()), context)
            }
        }
    }

    /// Carries out what the state decided.
    private func perform(_ action: LineConnectionState.Action, _ context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .startReading:
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            context.read()
        case .stopReading:
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        case .close:
            // After what was written: the last acknowledgement goes out before the close.
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
                channel.close(promise: nil)
            }
            // A client that reads none of its last replies is idle: it does not hold the
            // connection open past the idle timeout.
            if let idleTimeout {
                let deadline = context.eventLoop.scheduleTask(in: idleTimeout) { channel.close(promise: nil) }
                channel.closeFuture.whenComplete { _ in deadline.cancel() }
            }
        }
    }

    /// Closes the connection once it has made no progress for the idle timeout, counting
    /// only time the client, not the daemon, is responsible for.
    private func scheduleIdleCheck(_ context: ChannelHandlerContext, at start: NIODeadline) {
        guard let idleTimeout else { return }
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        idleCheck = context.eventLoop.scheduleTask(deadline: start + idleTimeout) {
            let (handler, context) = loopBound.value
            handler.checkIdle(context, timeout: idleTimeout)
        }
    }

    private func checkIdle(_ context: ChannelHandlerContext, timeout: TimeAmount) {
        idleCheck = nil
        guard context.channel.isActive else { return }
        switch state.idleCheck(at: now(), timeout: timeout) {
        case .stop:
            return
        case .checkAgain(let deadline):
            scheduleIdleCheck(context, at: deadline - timeout)
        case .closeIdle:
            onIdleClose()
            let reply = context.channel.allocator.buffer(
                string: "{\"error\": \"no complete line for \(idleTimeoutText) (ingest.idle_timeout); closing\"}\n")
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
            context.close(promise: nil)
        }
    }
}
