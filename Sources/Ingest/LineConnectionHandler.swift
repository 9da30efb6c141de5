import EventDecoding
import JourneyCore
import JourneyStore
import NIOCore

/// One client connection of a socket source: frames NDJSON lines (bounded memory per
/// connection), decodes them, hands them to the commit queue, and answers `{"ack": true}`
/// with `{"acked": N}` once all N earlier lines of the connection are committed or
/// dead-lettered.
///
/// Reading stops while the commit queue is full (TCP then pushes back on the client) and
/// while the client does not read its acknowledgements (the outbound buffer is over its
/// high-water mark), so neither a slow database nor a client that never reads makes the
/// daemon buffer without bound. A client that completes no line for `idle_timeout` is
/// closed, unless it is waiting for the daemon.
final class LineConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var framer: LineFramer
    private let decoder: EventDecoder
    private let source: String
    private let queue: CommitQueue
    private let clock: @Sendable () -> EventTime
    private let maxLineBytes: Int
    private let idleTimeout: TimeAmount?
    private let idleTimeoutText: String
    private let onIdleClose: @Sendable () -> Void
    /// Lines received on this connection (ack requests excluded).
    private var lines = 0
    /// Ticket of this connection's last submitted line.
    private var lastTicket: Int64 = 0
    private var pending: [PipelineItem] = []
    /// Reading is paused because the commit queue is full (the daemon's doing).
    private var pausedForQueue = false
    /// Reading is paused because the client does not read what the daemon writes.
    private var pausedForWrites = false
    /// Reading is paused because the client asked for too many acknowledgements at once.
    private var pausedForAcks = false
    /// Acknowledgement requests a connection may have outstanding before reading pauses:
    /// each holds a callback in the commit queue until its lines are committed.
    static let maxAcksAwaitingCommit = 1024
    private var readingEnabled = true
    /// Acknowledgement requests whose lines are not committed yet (the daemon's doing).
    private var acksAwaitingCommit = 0
    /// When the client last made progress: a complete line, or the daemon stopped making it wait.
    private var lastProgress = NIODeadline.now()
    private var idleCheck: Scheduled<Void>?

    init(
        source: String, settings: IngestSettings, queue: CommitQueue, clock: @escaping @Sendable () -> EventTime,
        onIdleClose: @escaping @Sendable () -> Void = {}
    ) {
        self.framer = LineFramer(maxLineBytes: settings.maxLineBytes)
        self.decoder = EventDecoder(settings: settings)
        self.source = source
        self.queue = queue
        self.clock = clock
        self.maxLineBytes = settings.maxLineBytes
        self.idleTimeout = settings.idleTimeout > .zero
            ? .microseconds(settings.idleTimeout.microseconds) : nil
        self.idleTimeoutText = settings.idleTimeout.description
        self.onIdleClose = onIdleClose
    }

    func handlerAdded(context: ChannelHandlerContext) {
        lastProgress = .now()
        scheduleIdleCheck(context, at: lastProgress)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let now = clock()
        let channel = context.channel
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        var completedLines = false
        buffer.withUnsafeReadableBytes { bytes in
            framer.append(bytes) { line, _ in
                completedLines = true
                switch line {
                case .line(let text):
                    if EventDecoder.isAckRequest(text) {
                        flush()
                        let count = lines
                        acksAwaitingCommit += 1
                        queue.whenCommitted(through: lastTicket) {
                            // Already committed: answer in this read (flushed at its end), so
                            // unread replies count against the write buffer at once.
                            if channel.eventLoop.inEventLoop {
                                loopBound.value.sendAcknowledgement(count, on: channel, flush: false)
                            } else {
                                channel.eventLoop.execute {
                                    loopBound.value.sendAcknowledgement(count, on: channel, flush: true)
                                }
                            }
                        }
                        return
                    }
                    lines += 1
                    enqueue(text, now: now)
                case .tooLong(let prefix, let length):
                    lines += 1
                    let rejection = Rejection.lineTooLong(length: length, maxLineBytes: maxLineBytes)
                    pending.append(.rejection(RejectedLine(
                        reason: rejection.reason.rawValue, detail: rejection.detail, raw: Array(prefix),
                        source: source, receivedAt: now)))
                }
            }
        }
        if completedLines { lastProgress = .now() }
        if flush() { pauseForQueue(context) }
        if acksAwaitingCommit >= Self.maxAcksAwaitingCommit, !pausedForAcks {
            pausedForAcks = true
            updateReading(channel)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    /// Writes `{"acked": count}`; reading resumes once few acknowledgements are outstanding.
    private func sendAcknowledgement(_ count: Int, on channel: any Channel, flush: Bool) {
        acksAwaitingCommit -= 1
        lastProgress = .now()
        let reply = channel.allocator.buffer(string: "{\"acked\": \(count)}\n")
        if flush {
            channel.writeAndFlush(reply, promise: nil)
        } else {
            channel.write(reply, promise: nil)
        }
        if pausedForAcks, acksAwaitingCommit <= Self.maxAcksAwaitingCommit / 2 {
            pausedForAcks = false
            updateReading(channel)
        }
    }

    /// A connection that ends keeps what it sent: its last partial line is a line too.
    func channelInactive(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
        let now = clock()
        framer.finish { line, _ in
            if case .line(let text) = line, !EventDecoder.isAckRequest(text) {
                enqueue(text, now: now)
            }
        }
        flush()
        context.fireChannelInactive()
    }

    /// The client reads its acknowledgements again, or stopped reading them: reading its
    /// lines follows, so unread replies cannot pile up in the daemon.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        pausedForWrites = !context.channel.isWritable
        if !pausedForWrites { lastProgress = .now() }
        updateReading(context.channel)
        context.fireChannelWritabilityChanged()
    }

    /// Decodes one complete line into the pending items (blank lines carry nothing).
    private func enqueue(_ text: UnsafeRawBufferPointer, now: EventTime) {
        switch decoder.decode(text, now: now) {
        case .event(let event):
            pending.append(.event(AcceptedEvent(event: event, source: source, receivedAt: now)))
        case .rejected(let rejection):
            pending.append(.rejection(RejectedLine(
                reason: rejection.reason.rawValue, detail: rejection.detail,
                raw: Array(text.prefix(maxLineBytes)), source: source, receivedAt: now)))
        case .blank:
            break
        }
    }

    /// Submits what was decoded; returns whether the queue asks producers to pause.
    @discardableResult
    private func flush() -> Bool {
        guard !pending.isEmpty else { return false }
        let (ticket, shouldPause) = queue.submit(pending)
        lastTicket = ticket
        pending.removeAll(keepingCapacity: true)
        return shouldPause
    }

    private func pauseForQueue(_ context: ChannelHandlerContext) {
        guard !pausedForQueue else { return }
        pausedForQueue = true
        let channel = context.channel
        updateReading(channel)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        queue.whenRoom {
            channel.eventLoop.execute {
                let handler = loopBound.value
                handler.pausedForQueue = false
                handler.lastProgress = .now()
                handler.updateReading(channel)
            }
        }
    }

    /// Reads while neither the queue nor the client's unread replies say stop.
    private func updateReading(_ channel: any Channel) {
        let wanted = !pausedForQueue && !pausedForWrites && !pausedForAcks
        guard wanted != readingEnabled else { return }
        readingEnabled = wanted
        channel.setOption(ChannelOptions.autoRead, value: wanted).whenComplete { _ in }
        if wanted { channel.read() }
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
        let now = NIODeadline.now()
        if pausedForQueue || acksAwaitingCommit > 0 {
            lastProgress = now
        }
        guard now - lastProgress >= timeout else {
            scheduleIdleCheck(context, at: lastProgress)
            return
        }
        onIdleClose()
        let reply = context.channel.allocator.buffer(
            string: "{\"error\": \"no complete line for \(idleTimeoutText) (ingest.idle_timeout); closing\"}\n")
        context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
