import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A response as it came off the wire.
struct RawHTTPResponse {
    var statusCode: Int
    var statusLine: String
    /// Header names lower-cased.
    var headers: [String: String]
    var body: String
    var bodyByteCount: Int

    var lines: [Substring] { body.split(separator: "\n", omittingEmptySubsequences: false) }
}

enum RawHTTPClientError: Error, CustomStringConvertible {
    case socket(String, errno: Int32)
    case malformedResponse(String)

    var description: String {
        switch self {
        case .socket(let call, let code): return "\(call) failed: \(String(cString: strerror(code)))"
        case .malformedResponse(let text): return "malformed HTTP response: \(text.prefix(200))"
        }
    }
}

/// A client written straight on POSIX sockets, independent of the NIO code under test, so a
/// bug in the server's HTTP handling cannot be hidden by the same bug in the client.
///
/// The blocking calls run on a thread of their own: neither the Swift concurrency pool nor
/// Dispatch's global queues (on Linux both draw on the same few threads), which the server's
/// connection tasks need.
enum RawHTTPClient {
    /// Sends `request` verbatim to 127.0.0.1:`port` and reads until the server closes.
    /// - Parameters:
    ///   - readDelay: How long to wait after sending before reading, as a slow client.
    ///   - receiveBufferBytes: A small socket receive buffer, so the kernel cannot absorb a
    ///     large response on the client's behalf.
    static func exchange(
        port: Int, request: String, timeoutSeconds: Int = 5, readDelay: Duration = .zero,
        receiveBufferBytes: Int32? = nil
    ) async throws -> [UInt8] {
        try await onOwnThread {
            try blockingExchange(
                port: port, request: request, timeoutSeconds: timeoutSeconds,
                readDelay: readDelay, receiveBufferBytes: receiveBufferBytes
            )
        }
    }

    /// Sends a request line with a Host header, and parses the answer.
    static func fetch(port: Int, method: String = "GET", path: String, extraHeaders: String = "") async throws
        -> RawHTTPResponse
    {
        let request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\(extraHeaders)\r\n"
        return try parse(try await exchange(port: port, request: request))
    }

    /// Whether a TCP connection to 127.0.0.1:`port` is accepted.
    static func canConnect(port: Int) async -> Bool {
        let connected = try? await onOwnThread { () throws -> Bool in
            close(try connectedSocket(port: port, timeoutSeconds: 2))
            return true
        }
        return connected ?? false
    }

    private static func onOwnThread<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws
        -> Value
    {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    static func parse(_ bytes: [UInt8]) throws -> RawHTTPResponse {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let split = firstRange(of: separator, in: bytes) else {
            throw RawHTTPClientError.malformedResponse(String(decoding: bytes, as: UTF8.self))
        }
        let headText = String(decoding: bytes[..<split], as: UTF8.self)
        let bodyBytes = bytes[(split + separator.count)...]
        var headLines = headText.components(separatedBy: "\r\n")
        let statusLine = headLines.removeFirst()
        let statusParts = statusLine.split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, let code = Int(statusParts[1]) else {
            throw RawHTTPClientError.malformedResponse(statusLine)
        }
        var headers: [String: String] = [:]
        for line in headLines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return RawHTTPResponse(
            statusCode: code,
            statusLine: statusLine,
            headers: headers,
            body: String(decoding: bodyBytes, as: UTF8.self),
            bodyByteCount: bodyBytes.count
        )
    }

    private static func firstRange(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count)
        where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }

    private static func connectedSocket(port: Int, timeoutSeconds: Int, receiveBufferBytes: Int32? = nil) throws
        -> Int32
    {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw RawHTTPClientError.socket("socket", errno: errno) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if var size = receiveBufferBytes {
            // Before connect, so the advertised window is small from the start.
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw RawHTTPClientError.socket("connect", errno: code)
        }
        return fd
    }

    private static func blockingExchange(
        port: Int, request: String, timeoutSeconds: Int, readDelay: Duration, receiveBufferBytes: Int32?
    ) throws -> [UInt8] {
        let fd = try connectedSocket(port: port, timeoutSeconds: timeoutSeconds, receiveBufferBytes: receiveBufferBytes)
        defer { close(fd) }
        let requestBytes = Array(request.utf8)
        var sent = 0
        while sent < requestBytes.count {
            let count = requestBytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw RawHTTPClientError.socket("send", errno: errno) }
            sent += count
        }
        if readDelay > .zero {
            let (seconds, attoseconds) = readDelay.components
            Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return received }
            guard count > 0 else { throw RawHTTPClientError.socket("recv", errno: errno) }
            received.append(contentsOf: chunk[..<count])
        }
    }
}
