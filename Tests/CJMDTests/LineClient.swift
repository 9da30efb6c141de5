import Foundation
import NATSTestServer

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking NDJSON client over TCP or a Unix socket, as an application would write one.
///
/// Sends and receives give up after ``timeout`` with ``TimedOut`` (not a ``Failure``, so a
/// test expecting the daemon to close the connection does not pass on a daemon that hangs),
/// so that a daemon that stops answering fails the test instead of hanging the run.
final class LineClient {
    let fd: Int32
    private var buffer: [UInt8] = []

    enum Failure: Error {
        case connect(Int32)
        case send(Int32)
        case closed
    }
    /// No byte moved for ``timeout``.
    struct TimedOut: Error {}
    /// Longer than any test waits for the daemon on a slow machine.
    static let timeout = 300

    init(tcpPort port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let e = errno
            close(fd)
            throw Failure.connect(e)
        }
        setTimeouts()
    }

    init(unixPath path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            for (i, b) in bytes.enumerated() where i < raw.count - 1 { raw[i] = b }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let e = errno
            close(fd)
            throw Failure.connect(e)
        }
        setTimeouts()
    }

    deinit { close(fd) }

    private func setTimeouts() {
        var limit = timeval(tv_sec: Self.timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    private static func failure(_ error: Int32) -> any Error {
        error == EAGAIN || error == EWOULDBLOCK ? TimedOut() : Failure.send(error)
    }

    func send(_ text: String) throws {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard n > 0 else { throw Self.failure(errno) }
            offset += n
        }
    }

    /// Sends raw bytes (any content, lines or not).
    func send(bytes: ArraySlice<UInt8>) throws {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Self.failure(errno) }
            offset += n
        }
    }

    /// Reads one line (without the newline); throws when the server closed the connection.
    func readLine() throws -> String {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeFirst(newline + 1)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { throw TimedOut() }
            guard n > 0 else { throw Failure.closed }
            buffer += chunk[..<n]
        }
    }

    /// Closes the sending side (`shutdown(SHUT_WR)`), as `nc -N` does at the end of its input.
    func shutdownSending() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Whether the server has written nothing so far (a read would block), without waiting.
    func nothingToRead() -> Bool {
        guard buffer.isEmpty else { return false }
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK))
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
    }

    /// Reads until the server closes the connection; returns what came (without waiting past
    /// ``timeout``).
    func readToEnd() throws -> String {
        var text = String(decoding: buffer, as: UTF8.self)
        buffer.removeAll()
        while true {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { throw TimedOut() }
            if n < 0, errno == ECONNRESET { return text }
            guard n > 0 else { return text }
            text += String(decoding: chunk[..<n], as: UTF8.self)
        }
    }

    /// Sends `{"ack": true}` and returns N from `{"acked": N}`.
    func ack() throws -> Int {
        try send("{\"ack\": true}\n")
        let line = try readLine()
        guard let data = line.data(using: .utf8),
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let n = object["acked"] as? Int
        else { throw Failure.closed }
        return n
    }
}

/// A free TCP port on loopback (bound and released; good enough for tests).
func freeTCPPort() -> Int { freeLoopbackPort() }
