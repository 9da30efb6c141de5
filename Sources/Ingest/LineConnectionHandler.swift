import EventDecoding
import JourneyCore
import JourneyStore
import NIOCore

/// One client connection of a socket source: frames NDJSON lines (bounded memory per
/// connection), decodes them, hands them to the commit queue, and answers `{"ack": true}`
/// with `{"acked": N}` once all N earlier lines of the connection are committed or
/// dead-lettered. When the queue is full it stops reading, so TCP pushes back on the client.
final class LineConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var framer: LineFramer
    private let decoder: EventDecoder
    private let source: String
    private let queue: CommitQueue
    private let clock: @Sendable () -> EventTime
    private let maxLineBytes: Int
    /// Lines received on this connection (ack requests excluded).
    private var lines = 0
    /// Ticket of this connection's last submitted line.
    private var lastTicket: Int64 = 0
    private var pending: [PipelineItem] = []
    private var paused = false

    init(source: String, settings: IngestSettings, queue: CommitQueue, clock: @escaping @Sendable () -> EventTime) {
        self.framer = LineFramer(maxLineBytes: settings.maxLineBytes)
        self.decoder = EventDecoder(settings: settings)
        self.source = source
        self.queue = queue
        self.clock = clock
        self.maxLineBytes = settings.maxLineBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let now = clock()
        let channel = context.channel
        buffer.withUnsafeReadableBytes { bytes in
            framer.append(bytes) { line, _ in
                switch line {
                case .line(let text):
                    if EventDecoder.isAckRequest(text) {
                        flush()
                        let count = lines
                        queue.whenCommitted(through: lastTicket) {
                            channel.eventLoop.execute {
                                let reply = channel.allocator.buffer(string: "{\"acked\": \(count)}\n")
                                channel.writeAndFlush(reply, promise: nil)
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
        if flush() { pause(context) }
    }

    /// A connection that ends keeps what it sent: its last partial line is a line too.
    func channelInactive(context: ChannelHandlerContext) {
        let now = clock()
        framer.finish { line, _ in
            if case .line(let text) = line, !EventDecoder.isAckRequest(text) {
                enqueue(text, now: now)
            }
        }
        flush()
        context.fireChannelInactive()
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

    private func pause(_ context: ChannelHandlerContext) {
        guard !paused else { return }
        paused = true
        let channel = context.channel
        channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        queue.whenRoom {
            channel.eventLoop.execute {
                loopBound.value.paused = false
                channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
                channel.read()
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
