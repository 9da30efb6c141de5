import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A one-thread HTTP/1.1 server on 127.0.0.1 that records every request and answers each
/// from a script (by the request's 0-based number), closing the connection after each answer.
final class ScriptedHTTPServer: Sendable {
    struct Request: Sendable {
        let method: String
        let path: String
        let body: [UInt8]
    }

    struct Answer: Sendable {
        var status: Int
        var body: String = ""
    }

    let port: UInt16
    private let listenFD: Int32
    private let answer: @Sendable (Int) -> Answer
    private let recorded = Mutex<[Request]>([])
    private let stopRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(answer: @escaping @Sendable (_ requestNumber: Int) -> Answer) throws {
        (listenFD, port) = try LoopbackSockets.listen()
        self.answer = answer
        Thread.detachNewThread { [self] in serve() }
    }

    /// The requests received so far, in order.
    var requests: [Request] { recorded.withLock { $0 } }

    var url: String { "http://127.0.0.1:\(port)/api/v2/alerts" }

    /// Stops accepting and waits for the serving thread to end.
    func stop() {
        guard !stopRequested.exchange(true, ordering: .sequentiallyConsistent) else { return }
        finished.wait()
    }

    private func serve() {
        defer {
            close(listenFD)
            finished.signal()
        }
        while !stopRequested.load(ordering: .sequentiallyConsistent) {
            // Polls so that stop() is noticed within 50 ms without closing a socket under accept().
            var poller = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let connection = accept(listenFD, nil, nil)
            guard connection >= 0 else { continue }
            handle(connection)
            close(connection)
        }
    }

    private func handle(_ connection: Int32) {
        LoopbackSockets.setReceiveTimeout(connection, seconds: 5)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var headerEnd: Int?
        var expectedLength = 0
        while true {
            if headerEnd == nil, let end = HTTPMessage.headerEnd(in: received) {
                headerEnd = end
                expectedLength = HTTPMessage.contentLength(inHeader: String(decoding: received[..<end], as: UTF8.self))
            }
            if let end = headerEnd, received.count >= end + 4 + expectedLength { break }
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            received.append(contentsOf: buffer[0..<count])
        }
        guard let end = headerEnd else { return }
        let requestLine = String(decoding: received[..<end], as: UTF8.self).split(separator: "\r\n").first ?? ""
        let parts = requestLine.split(separator: " ")
        let request = Request(
            method: parts.first.map(String.init) ?? "",
            path: parts.count > 1 ? String(parts[1]) : "",
            body: Array(received[(end + 4)..<(end + 4 + expectedLength)]))
        let number = recorded.withLock { requests -> Int in
            requests.append(request)
            return requests.count - 1
        }
        let reply = answer(number)
        let body = Array(reply.body.utf8)
        let head =
            "HTTP/1.1 \(reply.status) Scripted\r\nContent-Type: text/plain\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        _ = LoopbackSockets.writeAll(connection, Array(head.utf8) + body)
    }
}
