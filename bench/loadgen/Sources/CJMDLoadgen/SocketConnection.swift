import Glibc

/// Where `cjmd run` listens: a Unix stream socket or a TCP address.
enum Endpoint: Sendable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: String)

    var description: String {
        switch self {
        case .unix(let path): return "unix:\(path)"
        case .tcp(let host, let port): return "tcp:\(host):\(port)"
        }
    }

    /// Parses `HOST:PORT` (IPv6 in brackets: `[::1]:7410`).
    static func tcp(parsing text: String) throws(LoadgenError) -> Endpoint {
        guard let colon = text.lastIndex(of: ":") else {
            throw .usage("--tcp \(text): expected HOST:PORT")
        }
        var host = String(text[..<colon])
        let port = String(text[text.index(after: colon)...])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, Int(port) != nil else { throw .usage("--tcp \(text): expected HOST:PORT") }
        return .tcp(host: host, port: port)
    }

    /// Opens a blocking stream connection.
    func connect() throws(LoadgenError) -> SocketConnection {
        switch self {
        case .unix(let path): return try Self.connectUnix(path)
        case .tcp(let host, let port): return try connectTCP(host: host, port: port)
        }
    }

    private static func connectUnix(_ path: String) throws(LoadgenError) -> SocketConnection {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw .usage("unix socket path \(path) is longer than 107 bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw .socket(operation: "socket", errno: errno) }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(descriptor)
            throw .connect(endpoint: "unix:\(path)", errno: code)
        }
        return SocketConnection(descriptor: descriptor)
    }

    private func connectTCP(host: String, port: String) throws(LoadgenError) -> SocketConnection {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let lookup = getaddrinfo(host, port, &hints, &list)
        guard lookup == 0, let first = list else {
            throw .usage("cannot resolve \(host):\(port): \(String(cString: gai_strerror(lookup)))")
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = ECONNREFUSED
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let descriptor = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard descriptor >= 0 else { lastError = errno; continue }
            if Glibc.connect(descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                var on: Int32 = 1
                setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
                return SocketConnection(descriptor: descriptor)
            }
            lastError = errno
            close(descriptor)
        }
        throw .connect(endpoint: description, errno: lastError)
    }
}

/// A connected, blocking stream socket. One thread writes while another reads: the two
/// directions of a socket are independent, so that needs no lock.
final class SocketConnection: @unchecked Sendable {
    let descriptor: Int32

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// Writes every byte; blocks while the daemon does not read (its backpressure).
    func writeAll(_ bytes: [UInt8]) throws(LoadgenError) {
        let failure: Int32 = bytes.withUnsafeBytes { raw in
            guard var next = raw.baseAddress else { return 0 }
            var left = raw.count
            while left > 0 {
                let written = Glibc.write(descriptor, next, left)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                left -= written
                next += written
            }
            return 0
        }
        if failure != 0 { throw .socket(operation: "write", errno: failure) }
    }

    /// Reads what is available into `buffer` (blocking until something is); returns the
    /// count, 0 at end of stream.
    func read(into buffer: inout [UInt8]) throws(LoadgenError) -> Int {
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw .socket(operation: "read", errno: errno)
        }
    }

    /// Tells the daemon nothing more comes (it still answers pending acknowledgements).
    func finishWriting() {
        shutdown(descriptor, Int32(SHUT_WR))
    }

    /// Gives up on the connection in both directions, so that a thread blocked reading it
    /// returns (the descriptor itself is closed when the last reference goes).
    func abort() {
        shutdown(descriptor, Int32(SHUT_RDWR))
    }

    deinit {
        close(descriptor)
    }
}
