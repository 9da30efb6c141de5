import Foundation
import JourneyCore

#if canImport(Glibc)
    import Glibc
#endif

/// Sends simulated lines to a running daemon's Unix socket at the pace of their arrival
/// times, asking for an acknowledgement about once a second — what an application does.
///
/// Blocking POSIX calls on purpose: one connection, one thread, and the command does
/// nothing else meanwhile. (`cjmd simulate --send-to`; the quickstart's live traffic.)
final class LiveLineSender {
    struct SendError: Error, CustomStringConvertible {
        var description: String
    }

    private let fd: Int32
    private let path: String
    private var pending: [UInt8] = []
    private var reply: [UInt8] = []
    private(set) var sentLines = 0
    private(set) var acknowledgedLines = 0
    private var lastAck = Date()

    init(unixSocketPath path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else {
            throw SendError(description: "cannot create a socket: \(String(cString: strerror(errno)))")
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw SendError(description: "\(path): a socket path has at most 107 bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw SendError(description: "cannot connect to \(path): \(reason); is `cjmd run` listening there?")
        }
    }

    deinit { close(fd) }

    /// Waits until `arrival` (wall clock), then sends the line; acknowledges about once a second.
    func send(_ line: [UInt8], arrival: EventTime) throws {
        let wait = Double(arrival.microseconds - CommandSupport.now().microseconds) / 1e6
        if wait > 0 {
            try flush()
            Thread.sleep(forTimeInterval: wait)
        }
        pending.append(contentsOf: line)
        sentLines += 1
        if pending.count >= 64 * 1024 { try flush() }
        if Date().timeIntervalSince(lastAck) >= 1 { try acknowledge() }
    }

    /// Sends `{"ack": true}` after everything so far and waits for `{"acked": N}`.
    func acknowledge() throws {
        pending.append(contentsOf: Array("{\"ack\": true}\n".utf8))
        try flush()
        acknowledgedLines = try readAcknowledgement()
        lastAck = Date()
    }

    private func flush() throws {
        var offset = 0
        while offset < pending.count {
            let n = pending[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else {
                throw SendError(description: "sending to \(path) failed: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
        pending.removeAll(keepingCapacity: true)
    }

    private func readAcknowledgement() throws -> Int {
        while true {
            if let newline = reply.firstIndex(of: 0x0A) {
                let line = String(decoding: reply[..<newline], as: UTF8.self)
                reply.removeFirst(newline + 1)
                guard line.hasPrefix("{\"acked\": "), let n = Int(line.dropFirst(10).dropLast()) else {
                    throw SendError(description: "the daemon answered: \(line)")
                }
                return n
            }
            var chunk = [UInt8](repeating: 0, count: 512)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw SendError(description: "the daemon closed the connection") }
            reply += chunk[..<n]
        }
    }
}
