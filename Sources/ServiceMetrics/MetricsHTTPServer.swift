import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// A minimal HTTP/1.1 server for Prometheus and health probes:
/// `GET /metrics` (text exposition), `GET /healthz` (200 `ok` or 503 with the reason),
/// 405 for other methods on those paths, 404 elsewhere. Each connection carries one
/// request and is then closed.
///
/// Lifecycle: ``bind(address:registry:health:connectionDeadline:group:logger:)`` opens the
/// socket (so a busy port fails start-up, before the daemon reports ready), ``run()`` serves
/// until its task is cancelled or ``shutdown()`` is called, then waits for requests in flight.
public final class MetricsHTTPServer: Sendable {
    /// Reports whether cjmd can do its job (database reachable, sources listening).
    /// Called on every `/healthz` request, off the event loop; keep it quick.
    public typealias HealthCheck = @Sendable () async -> ServiceHealth

    /// A page beside `/metrics` and `/healthz` (the journey map): given the method, the path
    /// and the query, the answer, or nil when the path is not the handler's (404).
    public typealias PageHandler =
        @Sendable (_ method: HTTPMethod, _ path: Substring, _ query: Substring?) async ->
        Page?

    /// An answer of a ``PageHandler``.
    public struct Page: Sendable {
        public var status: Int
        public var contentType: String
        public var body: [UInt8]
        public var headers: [(String, String)]

        public init(status: Int, contentType: String, body: [UInt8], headers: [(String, String)] = []) {
            self.status = status
            self.contentType = contentType
            self.body = body
            self.headers = headers
        }
    }

    /// How long one connection may take from accept to response by default, so an idle or
    /// slow client cannot hold a connection (and a task) forever.
    public static let defaultConnectionDeadline: TimeAmount = .seconds(10)
    /// The largest request body read (and discarded) before answering 413.
    static let maximumRequestBodyBytes = 64 * 1024

    private typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, Never>
    private enum State { case bound, running, finished }

    /// The address the socket is bound to, with the real port when 0 was asked for.
    public let boundAddress: MetricsListenAddress
    private let listener: NIOAsyncChannel<Connection, Never>
    private let responder: MetricsHTTPResponder
    private let logger: Logger
    private let state = NIOLockedValueBox(State.bound)

    /// The TCP port the server listens on.
    public var port: Int { boundAddress.port }

    private init(
        boundAddress: MetricsListenAddress,
        listener: NIOAsyncChannel<Connection, Never>,
        responder: MetricsHTTPResponder,
        logger: Logger
    ) {
        self.boundAddress = boundAddress
        self.listener = listener
        self.responder = responder
        self.logger = logger
    }

    /// Opens the listening socket.
    ///
    /// - Parameters:
    ///   - address: Where to listen; port 0 picks a free port (see ``port``).
    ///   - registry: The registry whose metrics `/metrics` exposes.
    ///   - health: Decides the `/healthz` answer.
    ///   - pages: Answers other paths (`/map`); nil: 404.
    ///   - connectionDeadline: How long a connection may stay open before it is closed,
    ///     answered or not.
    ///   - group: The event loops for the sockets; NIO's shared singleton by default.
    ///   - logger: For connection errors (debug) and the listening address (info).
    /// - Throws: ``MetricsServerError/bindFailed(address:underlying:)`` when the address is
    ///   taken or cannot be resolved.
    public static func bind(
        address: MetricsListenAddress = .default,
        registry: PrometheusCollectorRegistry,
        health: @escaping HealthCheck,
        pages: PageHandler? = nil,
        connectionDeadline: TimeAmount = defaultConnectionDeadline,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "cjmd.metrics")
    ) async throws(MetricsServerError) -> MetricsHTTPServer {
        let listener: NIOAsyncChannel<Connection, Never>
        do {
            listener = try await ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .bind(host: address.host, port: address.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        Self.closeAfterDeadline(channel, deadline: connectionDeadline)
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw .bindFailed(address: address, underlying: String(describing: error))
        }
        let boundPort = listener.channel.localAddress?.port ?? address.port
        let bound = MetricsListenAddress(host: address.host, port: boundPort)
        logger.info("serving /metrics and /healthz", metadata: ["address": "\(bound)"])
        return MetricsHTTPServer(
            boundAddress: bound,
            listener: listener,
            responder: MetricsHTTPResponder(registry: registry, health: health, pages: pages),
            logger: logger
        )
    }

    /// Serves requests until the calling task is cancelled or ``shutdown()`` is called, then
    /// closes the socket and returns once the requests in flight are answered.
    ///
    /// - Throws: ``MetricsServerError/alreadyRunning`` on a second call; errors of the
    ///   listening socket itself. Cancellation is a normal end and does not throw.
    public func run() async throws {
        let mayRun = state.withLockedValue { state in
            guard state == .bound else { return false }
            state = .running
            return true
        }
        guard mayRun else { throw MetricsServerError.alreadyRunning }
        defer { state.withLockedValue { $0 = .finished } }

        let responder = self.responder
        let logger = self.logger
        do {
            try await listener.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in connections {
                        group.addTask {
                            await Self.serve(connection, responder: responder, logger: logger)
                        }
                    }
                }
            }
        } catch is CancellationError {
            // Cancellation is how a service manager stops us; it is not a failure.
        }
        logger.info("metrics endpoint stopped", metadata: ["address": "\(boundAddress)"])
    }

    /// Stops accepting connections and closes the listening socket; a running ``run()``
    /// returns after answering the requests in flight. Safe to call more than once, and
    /// also for a server that never ran (which releases its port).
    public func shutdown() async {
        do {
            try await listener.channel.close()
        } catch ChannelError.alreadyClosed {
            // Closed already, by an earlier shutdown or by run() ending.
        } catch {
            logger.debug("closing the metrics socket failed", metadata: ["error": "\(error)"])
        }
    }

    /// Reads one request, answers it and lets `executeThenClose` close the connection.
    private static func serve(_ connection: Connection, responder: MetricsHTTPResponder, logger: Logger) async {
        do {
            try await connection.executeThenClose { parts in
                var head: HTTPRequestHead?
                var bodyBytes = 0
                for try await part in parts {
                    switch part {
                    case .head(let requestHead):
                        head = requestHead
                    case .body(let chunk):
                        bodyBytes += chunk.readableBytes
                        if bodyBytes > maximumRequestBodyBytes, let requestHead = head {
                            let tooLarge = MetricsHTTPResponder.text(.payloadTooLarge, "request body too large\n")
                            try await write(tooLarge, version: requestHead.version, to: connection.channel)
                            return
                        }
                    case .end:
                        guard let requestHead = head else { return }
                        let response = await responder.respond(method: requestHead.method, uri: requestHead.uri)
                        try await write(response, version: requestHead.version, to: connection.channel)
                        return
                    }
                }
            }
        } catch {
            // A client that hangs up early is routine for a scrape endpoint.
            logger.debug("metrics connection ended with an error", metadata: ["error": "\(error)"])
        }
    }

    /// Writes through the channel itself rather than the async writer, so the await ends
    /// only when the response has reached the socket; closing earlier could drop the tail
    /// of a large `/metrics` page.
    private static func write(_ response: MetricsHTTPResponse, version: HTTPVersion, to channel: any Channel)
        async throws
    {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Connection", value: "close")
        for (name, value) in response.extraHeaders {
            headers.add(name: name, value: value)
        }
        let head = HTTPResponseHead(version: version, status: response.status, headers: headers)
        let body = channel.allocator.buffer(bytes: response.body)
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(body)), promise: nil)
        try await channel.writeAndFlush(HTTPServerResponsePart.end(nil))
    }

    /// Closes `channel` when the deadline passes unless it closed first.
    private static func closeAfterDeadline(_ channel: any Channel, deadline: TimeAmount) {
        let timeout = channel.eventLoop.scheduleTask(in: deadline) {
            channel.close(promise: nil)
        }
        channel.closeFuture.whenComplete { _ in timeout.cancel() }
    }
}
