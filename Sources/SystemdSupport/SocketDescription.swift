#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a socket descriptor is, so the daemon can check that a passed descriptor fits the
/// source that claims it (sd_is_socket(3) and friends in one call).
public struct SocketDescription: Sendable, Equatable {
    /// The address family.
    public enum Family: Sendable, Equatable {
        case unix
        case ipv4
        case ipv6
        /// Any other family, by its AF_ number.
        case other(Int32)
    }

    /// The socket type.
    public enum Kind: Sendable, Equatable {
        case stream
        case datagram
        case sequencedPacket
        /// Any other type, by its SOCK_ number.
        case other(Int32)
    }

    /// From getsockname(2).
    public let family: Family
    /// From SO_TYPE.
    public let kind: Kind
    /// From SO_ACCEPTCONN: listen(2) has been called.
    public let isListening: Bool
    /// The bound address: a path, `@name` for abstract sockets, `host:port`, or `[v6]:port`;
    /// empty for an unbound Unix socket.
    public let localAddress: String

    /// True for what cjmd's `unix` and `tcp` sources accept: a listening stream socket.
    public var isListeningStream: Bool { kind == .stream && isListening }

    /// Describes the socket behind `fd`.
    /// - Throws: ``SocketActivationError/notASocket(fd:)`` for anything but a socket,
    ///   ``SocketActivationError/descriptorUnusable(fd:errno:)`` when it cannot be inspected.
    public init(fd: Int32) throws(SocketActivationError) {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .descriptorUnusable(fd: fd, errno: errno) }
        guard status.st_mode & S_IFMT == S_IFSOCK else { throw .notASocket(fd: fd) }

        let type = try Self.integerOption(SO_TYPE, of: fd)
        let accepting = try Self.integerOption(SO_ACCEPTCONN, of: fd)

        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw .descriptorUnusable(fd: fd, errno: errno) }

        kind =
            switch type {
            case streamSocketType: .stream
            case datagramSocketType: .datagram
            case sequencedPacketSocketType: .sequencedPacket
            default: .other(type)
            }
        isListening = accepting != 0
        (family, localAddress) = Self.address(storage, length: Int(length))
    }

    private static func integerOption(_ option: Int32, of fd: Int32) throws(SocketActivationError) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, option, &value, &length) == 0 else {
            throw .descriptorUnusable(fd: fd, errno: errno)
        }
        return value
    }

    private static func address(_ storage: sockaddr_storage, length: Int) -> (Family, String) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_UNIX:
            let path = withUnsafeBytes(of: &storage) { raw -> String in
                let pathLength = max(0, min(length, raw.count) - unixPathOffset)
                let bytes = Array(raw[unixPathOffset..<unixPathOffset + pathLength])
                guard let first = bytes.first else { return "" }
                if first == 0 { return "@" + String(decoding: bytes.dropFirst(), as: UTF8.self) }
                return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            return (.unix, path)
        case AF_INET:
            let (host, port) = withUnsafeBytes(of: &storage) { raw in
                raw.withMemoryRebound(to: sockaddr_in.self) { inet in
                    var address = inet[0].sin_addr
                    let host = withUnsafePointer(to: &address) {
                        numericHost(AF_INET, UnsafeRawPointer($0), capacity: Int(INET_ADDRSTRLEN))
                    }
                    return (host, UInt16(bigEndian: inet[0].sin_port))
                }
            }
            return (.ipv4, "\(host):\(port)")
        case AF_INET6:
            let (host, port) = withUnsafeBytes(of: &storage) { raw in
                raw.withMemoryRebound(to: sockaddr_in6.self) { inet6 in
                    var address = inet6[0].sin6_addr
                    let host = withUnsafePointer(to: &address) {
                        numericHost(AF_INET6, UnsafeRawPointer($0), capacity: Int(INET6_ADDRSTRLEN))
                    }
                    return (host, UInt16(bigEndian: inet6[0].sin6_port))
                }
            }
            return (.ipv6, "[\(host)]:\(port)")
        case let other:
            return (.other(other), "")
        }
    }

    private static func numericHost(_ family: Int32, _ address: UnsafeRawPointer, capacity: Int) -> String {
        var text = [CChar](repeating: 0, count: capacity)
        let converted = inet_ntop(family, address, &text, socklen_t(capacity))
        guard converted != nil else { return "?" }
        return text.withUnsafeBufferPointer { buffer in
            String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
