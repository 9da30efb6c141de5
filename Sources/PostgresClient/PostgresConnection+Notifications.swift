import CLibPQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A message from `NOTIFY` / `pg_notify` on a channel this connection listens to.
public struct PostgresNotification: Sendable, Hashable {
    /// The channel name as given to NOTIFY.
    public var channel: String
    /// The payload text; empty when none was given.
    public var payload: String
    /// Process ID of the server backend that sent it (equal to this connection's own
    /// backend when it notified itself).
    public var senderProcessID: Int32

    /// Creates a notification value (for tests and fakes).
    public init(channel: String, payload: String, senderProcessID: Int32) {
        self.channel = channel
        self.payload = payload
        self.senderProcessID = senderProcessID
    }
}

extension PostgresConnection {
    /// Starts listening on a channel. Survives `reset()`. Inside a transaction it takes
    /// effect at commit, as in PostgreSQL.
    public func listen(channel: String) throws(PostgresError) {
        try executeScript("LISTEN \(PostgresIdentifier.quote(channel))")
        listenedChannels.insert(channel)
    }

    /// Stops listening on a channel.
    public func unlisten(channel: String) throws(PostgresError) {
        try executeScript("UNLISTEN \(PostgresIdentifier.quote(channel))")
        listenedChannels.remove(channel)
    }

    /// Sends a notification (`pg_notify`, so channel and payload are parameters). Inside a
    /// transaction it is delivered at commit. Payloads must be under 8000 bytes.
    public func notify(channel: String, payload: String = "") throws(PostgresError) {
        try execute("SELECT pg_notify($1, $2)", [.text(channel), .text(payload)])
    }

    /// Returns the next notification, waiting up to `timeout` for one to arrive; nil when
    /// none came in time. Notifications that arrived while other statements ran are
    /// returned first, without waiting.
    ///
    /// - Throws: `PostgresError` of kind `.connectionFailed` when the connection breaks
    ///   while waiting.
    public func waitForNotification(timeout: Duration) throws(PostgresError) -> PostgresNotification? {
        let handle = try requireHandle()
        if let buffered = Self.nextNotification(handle) { return buffered }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            // Reads whatever the server has sent so far, without blocking.
            guard PQconsumeInput(handle) == 1 else {
                throw Self.connectionError(handle, kind: .connectionFailed, sql: nil)
            }
            if let notification = Self.nextNotification(handle) { return notification }
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .zero else { return nil }
            let socket = PQsocket(handle)
            guard socket >= 0 else {
                throw Self.connectionError(handle, kind: .connectionFailed, sql: nil)
            }
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Self.pollMilliseconds(remaining))
            if ready < 0 && errno != EINTR {
                let reason = String(cString: strerror(errno))
                throw PostgresError(
                    kind: .connectionFailed, message: "waiting for notifications failed: \(reason)",
                    connectionWasBad: PQstatus(handle) != CONNECTION_OK)
            }
        }
    }

    private static func nextNotification(_ handle: OpaquePointer) -> PostgresNotification? {
        guard let raw = PQnotifies(handle) else { return nil }
        defer { PQfreemem(raw) }
        let notify = raw.pointee
        return PostgresNotification(
            channel: notify.relname.map { String(cString: $0) } ?? "",
            payload: notify.extra.map { String(cString: $0) } ?? "",
            senderProcessID: notify.be_pid)
    }

    /// Rounds up so a wait of a fraction of a millisecond does not spin.
    private static func pollMilliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: max(milliseconds, 1))
    }
}
