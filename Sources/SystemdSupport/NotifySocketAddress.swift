#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The AF_UNIX address named by `NOTIFY_SOCKET`.
///
/// systemd passes a file-system path (`/run/systemd/notify`) or, when the value starts with
/// `@`, a name in Linux's abstract socket namespace. vsock addresses (`vsock:CID:PORT`, used
/// for virtual machines) are not supported.
public enum NotifySocketAddress: Sendable, Equatable {
    /// A socket bound to this absolute path.
    case path(String)
    /// An abstract-namespace socket; the name is stored without the leading `@`.
    case abstract(String)

    /// Parses a `NOTIFY_SOCKET` value.
    public init(parsing value: String) throws(NotifySocketError) {
        if value.utf8.contains(0) { throw .unsupportedAddress(value) }
        if value.hasPrefix("/") {
            // A path address carries its terminating NUL, so it needs one byte more than its length.
            guard value.utf8.count < unixPathCapacity else { throw .addressTooLong(value) }
            self = .path(value)
        } else if value.hasPrefix("@") {
            let name = String(value.dropFirst())
            guard !name.isEmpty else { throw .unsupportedAddress(value) }
            // The leading NUL takes the place of '@'; the name is not NUL-terminated.
            guard value.utf8.count <= unixPathCapacity else { throw .addressTooLong(value) }
            self = .abstract(name)
        } else {
            throw .unsupportedAddress(value)
        }
    }

    /// The value as systemd spells it in `NOTIFY_SOCKET`.
    public var environmentValue: String {
        switch self {
        case .path(let path): path
        case .abstract(let name): "@" + name
        }
    }

    /// Calls `body` with a `sockaddr_un` for this address and its exact length, the way
    /// sd_notify computes it: path addresses include the NUL, abstract ones do not.
    func withSocketAddress<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes: [UInt8]
        let length: Int
        switch self {
        case .path(let path):
            pathBytes = Array(path.utf8) + [0]
            length = unixPathOffset + pathBytes.count
        case .abstract(let name):
            pathBytes = [0] + Array(name.utf8)
            length = unixPathOffset + pathBytes.count
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: pathBytes.prefix(buffer.count))
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(length)) }
        }
    }
}

/// Why `NOTIFY_SOCKET` cannot be used.
public enum NotifySocketError: Error, Equatable, CustomStringConvertible {
    /// The value is neither an absolute path nor `@name`.
    case unsupportedAddress(String)
    /// The value does not fit in `sockaddr_un`.
    case addressTooLong(String)

    public var description: String {
        switch self {
        case .unsupportedAddress(let value):
            "NOTIFY_SOCKET=\(value) is not an AF_UNIX address (an absolute path or @name); "
                + "cjmd cannot report readiness to it: run it with Type=simple or fix the service manager's setting"
        case .addressTooLong(let value):
            "NOTIFY_SOCKET=\(value) is longer than an AF_UNIX socket address allows (\(unixPathCapacity - 1) bytes); "
                + "use a shorter socket path"
        }
    }
}
