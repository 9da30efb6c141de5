#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Sends sd_notify(3) state messages to the service manager.
///
/// `NOTIFY_SOCKET` is read once, at creation. Each message opens a fresh datagram socket,
/// sends, and closes it, exactly as libsystemd does; the notifier therefore holds no mutable
/// state and can be used from any thread or task at the same time.
///
/// Unlike libsystemd, a send waits at most ``sendTimeout``: a datagram socket blocks while the
/// receiver's queue is full (only 10 datagrams by default, net.unix.max_dgram_qlen), and a
/// busy or wedged service manager must not stall one of Swift's few cooperative threads forever.
public struct SystemdNotifier: Sendable {
    /// The variable systemd sets for `Type=notify` services.
    public static let environmentKey = "NOTIFY_SOCKET"

    /// Where messages go, or `nil` when not started by a service manager that listens.
    public let address: NotifySocketAddress?

    /// The longest a single message may wait for room in the receiver's queue.
    public let sendTimeout: Duration

    private let debugLog: (@Sendable (String) -> Void)?

    /// Reads `NOTIFY_SOCKET` from `environment` (the process environment when `nil`).
    ///
    /// - Parameters:
    ///   - unsetEnvironment: also remove `NOTIFY_SOCKET` from the process environment so child
    ///     processes do not notify in cjmd's name. Only do this during single-threaded startup.
    ///   - sendTimeout: the longest one message may wait while the receiver's queue is full.
    ///   - debugLog: receives a sentence for every failed send; failures never throw, because a
    ///     missing service manager must not stop the daemon.
    /// - Throws: ``NotifySocketError`` when the variable is set to an address this type cannot use.
    public init(
        environment: [String: String]? = nil,
        unsetEnvironment: Bool = false,
        sendTimeout: Duration = .seconds(5),
        debugLog: (@Sendable (String) -> Void)? = nil
    ) throws(NotifySocketError) {
        let values = environment ?? ProcessEnvironment.values(for: [Self.environmentKey])
        if unsetEnvironment { ProcessEnvironment.remove([Self.environmentKey]) }
        self.sendTimeout = sendTimeout
        self.debugLog = debugLog
        if let value = values[Self.environmentKey], !value.isEmpty {
            address = try NotifySocketAddress(parsing: value)
        } else {
            address = nil
        }
    }

    /// A notifier that sends to `address` (or nowhere when `nil`), for tests and tools.
    public init(
        address: NotifySocketAddress?,
        sendTimeout: Duration = .seconds(5),
        debugLog: (@Sendable (String) -> Void)? = nil
    ) {
        self.address = address
        self.sendTimeout = sendTimeout
        self.debugLog = debugLog
    }

    /// True when a service manager asked for notifications.
    public var isEnabled: Bool { address != nil }

    /// Sends `state` (newline-separated `KEY=VALUE` assignments) as one datagram.
    @discardableResult
    public func notify(_ state: String) -> NotifyOutcome {
        guard let address else { return .notConfigured }
        let socketDescriptor = socket(AF_UNIX, datagramSocketType | closeOnExecSocketFlag, 0)
        guard socketDescriptor >= 0 else { return failed(state, address, errno: errno, step: "open a socket") }
        defer { close(socketDescriptor) }
        var timeout = Self.socketTimeout(sendTimeout)
        guard
            setsockopt(socketDescriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) == 0
        else {
            return failed(state, address, errno: errno, step: "set the send timeout")
        }

        let payload = Array(state.utf8)
        while true {
            let sent = payload.withUnsafeBytes { bytes in
                address.withSocketAddress { socketAddress, length in
                    sendto(socketDescriptor, bytes.baseAddress, bytes.count, noSignalSendFlag, socketAddress, length)
                }
            }
            if sent == payload.count { return .sent }
            if sent >= 0 { return failed(state, address, errno: EMSGSIZE, step: "send the whole message") }
            let code = errno
            if code == EINTR { continue }
            return failed(state, address, errno: code, step: "send")
        }
    }

    private static func socketTimeout(_ duration: Duration) -> timeval {
        let (seconds, attoseconds) = duration.components
        // A zero timeval would mean "wait forever", the opposite of a short timeout.
        let microseconds = max(seconds > 0 ? 0 : 1, Int(attoseconds / 1_000_000_000_000))
        #if canImport(Darwin)
            return timeval(tv_sec: Int(max(seconds, 0)), tv_usec: Int32(microseconds))
        #else
            return timeval(tv_sec: Int(max(seconds, 0)), tv_usec: microseconds)
        #endif
    }

    private func failed(_ state: String, _ address: NotifySocketAddress, errno code: Int32, step: String)
        -> NotifyOutcome
    {
        let failure = NotifyFailure(errno: code, socket: address.environmentValue, step: step)
        let firstLine = state.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? state
        debugLog?("sd_notify \(firstLine): \(failure)")
        return .failed(failure)
    }
}

/// What happened to one notification.
public enum NotifyOutcome: Sendable, Equatable {
    /// The datagram was handed to the kernel in full.
    case sent
    /// `NOTIFY_SOCKET` was not set; nothing was sent.
    case notConfigured
    /// The send failed (for example ENOENT or ECONNREFUSED when the manager has gone away).
    case failed(NotifyFailure)
}

/// A failed send, with the errno that explains it.
public struct NotifyFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The errno value.
    public let errno: Int32
    /// The `NOTIFY_SOCKET` value the message was for.
    public let socket: String
    /// What was being attempted: "open a socket", "send", ...
    public let step: String

    /// A failure of `step` towards `socket` with `errno`.
    public init(errno: Int32, socket: String, step: String) {
        self.errno = errno
        self.socket = socket
        self.step = step
    }

    public var description: String {
        "could not \(step) to \(socket): \(errnoDescription(errno))"
    }
}
