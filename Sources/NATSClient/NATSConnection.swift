import CNATS

#if canImport(Glibc)
    import Glibc
#endif

/// A connection to a NATS cluster through nats.c (Debian's `libnats-dev`).
///
/// nats.c does what no Swift package here does — the NATS protocol with reconnects across a
/// cluster's servers, and JetStream's publish acknowledgements and pull consumers — so cjmd
/// wraps it thinly, as it wraps libpq. Its calls block: callers keep them off event loops.
/// nats.c's connection is safe to use from several threads at once, hence `@unchecked Sendable`.
public final class NATSConnection: @unchecked Sendable {
    let handle: OpaquePointer

    /// Connects to the first reachable of `servers` (e.g. `nats://127.0.0.1:4222`); after a
    /// loss, nats.c reconnects to any of them (and to servers the cluster announces) for ever,
    /// holding what is published meanwhile in a buffer of its own.
    /// - Parameters:
    ///   - name: how the connection shows in the server's monitoring (`connz`).
    ///   - timeoutMilliseconds: for each connect attempt.
    public init(servers: [String], name: String, timeoutMilliseconds: Int64 = 5_000) throws(NATSError) {
        var options: OpaquePointer?
        try NATSError.check(natsOptions_Create(&options), "creating connection options")
        defer { natsOptions_Destroy(options) }
        var cStrings = servers.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        let serversStatus = cStrings.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                natsOptions_SetServers(options, $0, Int32(buffer.count))
            }
        }
        try NATSError.check(serversStatus, "setting servers \(servers.joined(separator: ", "))")
        try NATSError.check(natsOptions_SetName(options, name), "naming the connection")
        try NATSError.check(natsOptions_SetTimeout(options, timeoutMilliseconds), "setting the connect timeout")
        try NATSError.check(natsOptions_SetMaxReconnect(options, -1), "setting reconnects")
        try NATSError.check(natsOptions_SetReconnectWait(options, 250), "setting the reconnect wait")
        try NATSError.check(natsOptions_SetNoRandomize(options, true), "keeping the server order")
        var connection: OpaquePointer?
        try NATSError.check(
            natsConnection_Connect(&connection, options), "connecting to \(servers.joined(separator: ", "))")
        handle = connection!
    }

    deinit { natsConnection_Destroy(handle) }

    /// Closes the connection (further calls fail with `NATS_CONNECTION_CLOSED`).
    public func close() { natsConnection_Close(handle) }

    /// Publishes `payload` on `subject`, fire and forget (core NATS: no acknowledgement).
    public func publish(subject: String, payload: [UInt8]) throws(NATSError) {
        let status = payload.withUnsafeBytes {
            natsConnection_Publish(handle, subject, $0.baseAddress, Int32($0.count))
        }
        try NATSError.check(status, "publishing to \(subject)")
    }

    /// Waits until the server has processed everything published so far.
    public func flush(timeoutMilliseconds: Int64 = 5_000) throws(NATSError) {
        try NATSError.check(natsConnection_FlushTimeout(handle, timeoutMilliseconds), "flushing")
    }

    /// A synchronous subscription to `subject` (wildcards allowed).
    public func subscribe(subject: String) throws(NATSError) -> NATSSubscription {
        var subscription: OpaquePointer?
        try NATSError.check(natsConnection_SubscribeSync(&subscription, handle, subject), "subscribing to \(subject)")
        return NATSSubscription(handle: subscription!, connection: self)
    }

    /// The URL of the server the connection is on now, nil while disconnected.
    public var connectedURL: String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard natsConnection_GetConnectedUrl(handle, &buffer, buffer.count) == NATS_OK, buffer[0] != 0 else {
            return nil
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A JetStream context on this connection; `timeoutMilliseconds` bounds each API call
    /// and each publish's wait for its acknowledgement.
    public func jetStream(timeoutMilliseconds: Int64 = 5_000) throws(NATSError) -> JetStream {
        var options = jsOptions()
        try NATSError.check(jsOptions_Init(&options), "initialising JetStream options")
        options.Wait = timeoutMilliseconds
        var context: OpaquePointer?
        try NATSError.check(natsConnection_JetStream(&context, handle, &options), "opening JetStream")
        return JetStream(handle: context!, connection: self)
    }
}

/// A core NATS subscription read synchronously.
public final class NATSSubscription: @unchecked Sendable {
    let handle: OpaquePointer
    /// Kept alive while the subscription is.
    let connection: NATSConnection

    init(handle: OpaquePointer, connection: NATSConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit { natsSubscription_Destroy(handle) }

    /// The next message, or nil when none came within `timeoutMilliseconds`.
    public func next(timeoutMilliseconds: Int64) throws(NATSError) -> NATSMessage? {
        var message: OpaquePointer?
        let status = natsSubscription_NextMsg(&message, handle, timeoutMilliseconds)
        if status == NATS_TIMEOUT { return nil }
        try NATSError.check(status, "reading a message")
        return NATSMessage(taking: message!)
    }
}
