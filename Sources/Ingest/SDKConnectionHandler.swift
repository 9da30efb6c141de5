import DaemonSettings
import EventDecoding
import JourneyCore
import NIOCore
import NIOHTTP1

/// One HTTP connection of an `http` source (docs/http.md): reads each request's body (at
/// most `max_body_bytes`), turns it into events and dead letters (``SDKRequestReader``),
/// submits them to the commit queue and answers `200` once they are committed — never
/// before, so an SDK that got its `200` can forget the batch. NIO's HTTP server pipeline
/// answers pipelined requests in order and holds the next request until this one is
/// answered, so a client waiting for its commit sends nothing more meanwhile.
///
/// A request not complete within `ingest.idle_timeout` of its head closes the connection,
/// as a socket client that completes no line does; so does a connection that sends nothing
/// for that long between requests.
///
/// While the database is away or the commit queue is full the answer is `503` with
/// `Retry-After`, and nothing of the request is kept. A request whose commit takes longer
/// than ``commitWait`` is answered `503` too: its events stay queued and are committed, and
/// the SDK's retry is counted as a duplicate.
final class SDKConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// How long a request waits for its commit (the SDKs time out after 10 to 15 s).
    static let commitWait: TimeAmount = .seconds(8)

    private let reader: SDKRequestReader
    private let queue: CommitQueue
    private let databaseAvailable: @Sendable () -> Bool
    private let clock: @Sendable () -> EventTime
    private var head: HTTPRequestHead?
    private var route: SDKRoute?
    private var body: ByteBuffer?
    /// A request answered before its end (too large, unknown path): the rest is ignored and
    /// the connection closes.
    private var discarding = false
    /// Increases with every answered request, so a late commit callback of an answered
    /// (timed-out) request writes nothing.
    private var requestNumber = 0
    /// How long a request may take from its head to its end (`ingest.idle_timeout`; nil:
    /// unbounded), so that a client trickling its body cannot hold a connection for good.
    private let requestDeadline: TimeAmount?
    private var requestTimer: Scheduled<Void>?
    /// Told the status of every answer (metrics).
    private let onResponse: @Sendable (Int) -> Void

    init(
        reader: SDKRequestReader, queue: CommitQueue, databaseAvailable: @escaping @Sendable () -> Bool,
        clock: @escaping @Sendable () -> EventTime, requestDeadline: TimeAmount? = nil,
        onResponse: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.onResponse = onResponse
        self.requestDeadline = requestDeadline
        self.reader = reader
        self.queue = queue
        self.databaseAvailable = databaseAvailable
        self.clock = clock
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = nil
            discarding = false
            requestTimer?.cancel()
            if let requestDeadline {
                let channel = context.channel
                requestTimer = context.eventLoop.scheduleTask(in: requestDeadline) { channel.close(promise: nil) }
            }
            switch SDKRequestReader.route(of: requestHead) {
            case .failure(let error):
                answer(context, error.response.closingConnection)
                discarding = true
                return
            case .success(let requestRoute):
                route = requestRoute
            }
            if let length = requestHead.headers["Content-Length"].first.flatMap({ Int($0) }),
                length > reader.settings.maxBodyBytes
            {
                answer(context, .tooLarge(reader.settings.maxBodyBytes, what: "request"))
                discarding = true
                return
            }
            if requestHead.headers["Expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                let interim = HTTPResponseHead(version: requestHead.version, status: .continue)
                context.writeAndFlush(wrapOutboundOut(.head(interim)), promise: nil)
            }
        case .body(var chunk):
            guard !discarding else { return }
            if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
            if body!.readableBytes > reader.settings.maxBodyBytes {
                answer(context, .tooLarge(reader.settings.maxBodyBytes, what: "request"))
                discarding = true
                body = nil
            }
        case .end:
            requestTimer?.cancel()
            requestTimer = nil
            guard !discarding, let head, let route else { return }
            let received = body ?? context.channel.allocator.buffer(capacity: 0)
            body = nil
            handle(context, head: head, route: route, body: received)
        }
    }

    private func handle(_ context: ChannelHandlerContext, head: HTTPRequestHead, route: SDKRoute, body: ByteBuffer) {
        switch reader.read(head: head, route: route, body: body, receivedAt: clock()) {
        case .reply(let response):
            answer(context, response)
        case .submit(let items, let route):
            guard databaseAvailable() else {
                answer(
                    context,
                    .error(
                        .serviceUnavailable, code: "database_unavailable",
                        message: "the database is unavailable; nothing was stored, send the batch again",
                        retryAfterSeconds: 5))
                return
            }
            guard !queue.isFull, !queue.isClosed else {
                answer(
                    context,
                    .error(
                        .serviceUnavailable, code: "busy",
                        message: queue.isClosed
                            ? "cjmd is shutting down; nothing was stored, send the batch again"
                            : "the commit queue is full; nothing was stored, send the batch again",
                        retryAfterSeconds: 1))
                return
            }
            let ticket = queue.submit(items, clientWaits: true).lastTicket
            let number = requestNumber
            let loop = context.eventLoop
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
            let timeout = loop.scheduleTask(in: Self.commitWait) {
                let (handler, context) = bound.value
                guard handler.requestNumber == number else { return }
                handler.answer(
                    context,
                    .error(
                        .serviceUnavailable, code: "commit_pending",
                        message: "the events are accepted and not committed yet; send the batch again to learn "
                            + "the outcome (a repeat is a duplicate and changes nothing)",
                        retryAfterSeconds: 5))
            }
            queue.whenCommitted(through: ticket) {
                loop.execute {
                    let (handler, context) = bound.value
                    guard handler.requestNumber == number else { return }
                    timeout.cancel()
                    handler.answer(context, .success(route))
                }
            }
        }
    }

    /// Writes the response to the current request; closes the connection when the response
    /// says so or the client asked for it.
    private func answer(_ context: ChannelHandlerContext, _ response: SDKResponse) {
        requestNumber += 1
        onResponse(Int(response.status.code))
        let version = head?.version ?? .http1_1
        let keepAlive = (head?.isKeepAlive ?? false) && !response.closesConnection
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(response.body.utf8.count))
        if let retryAfter = response.retryAfterSeconds { headers.add(name: "Retry-After", value: String(retryAfter)) }
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: headers))),
            promise: nil)
        context.write(
            wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: response.body)))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        requestTimer?.cancel()
        requestTimer = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension SDKResponse {
    /// The same answer, closing the connection after it.
    var closingConnection: SDKResponse {
        var copy = self
        copy.closesConnection = true
        return copy
    }
}
