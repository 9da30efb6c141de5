import Foundation

/// One connection to the daemon that sends lines in chunks, each chunk closed by the line
/// `{"ack": true}`, and reads the `{"acked": N}` replies on a thread of its own.
///
/// The sender does not wait for each reply, but keeps at most `maxOutstanding` requests
/// unanswered: the daemon acknowledges only what is committed, so the window makes
/// its commit rate — not the client — set the pace, and a slow database slows the client
/// (backpressure) instead of piling lines up in socket buffers.
final class AckedStream: @unchecked Sendable {
    private let connection: SocketConnection
    private let maxOutstanding: Int
    private let condition = NSCondition()
    private let readerFinished = DispatchSemaphore(value: 0)
    // Guarded by `condition`:
    /// Line counts of the requests sent and not yet answered, oldest first.
    private var unanswered: [Int] = []
    private var acked = 0
    private var lastAckNanoseconds: UInt64 = 0
    private var failure: LoadgenError?
    private var writingFinished = false
    /// Lines sent so far (the sending thread's own counter).
    private(set) var sent = 0

    init(connection: SocketConnection, maxOutstanding: Int) {
        self.connection = connection
        self.maxOutstanding = max(1, maxOutstanding)
        let reader = Thread { [self] in
            readReplies()
            readerFinished.signal()
        }
        reader.name = "ack-reader"
        reader.start()
    }

    /// Sends `chunk` (`lines` NDJSON lines followed by an ack request), first waiting until
    /// fewer than `maxOutstanding` requests are unanswered.
    func send(_ chunk: [UInt8], lines: Int) throws(LoadgenError) {
        condition.lock()
        while unanswered.count >= maxOutstanding && failure == nil { condition.wait() }
        if let failure {
            condition.unlock()
            throw failure
        }
        sent += lines
        unanswered.append(sent)
        condition.unlock()
        try connection.writeAll(chunk)
    }

    /// Waits until every line sent is acknowledged; returns when the last reply came
    /// (monotonic nanoseconds).
    func waitForAllAcknowledged(timeoutSeconds: Double) throws(LoadgenError) -> UInt64 {
        let deadline = Date(timeIntervalSinceNow: timeoutSeconds)
        condition.lock()
        defer { condition.unlock() }
        while acked < sent && failure == nil {
            if !condition.wait(until: deadline) { break }
        }
        if acked >= sent { return lastAckNanoseconds }
        if let failure { throw failure }
        throw .ackTimeout(sent: sent, acked: acked, seconds: timeoutSeconds)
    }

    /// Lines acknowledged so far.
    var acknowledged: Int {
        condition.lock()
        defer { condition.unlock() }
        return acked
    }

    /// Ends the connection after the last reply.
    func finish() {
        condition.lock()
        writingFinished = true
        condition.unlock()
        connection.finishWriting()
        readerFinished.wait()
    }

    private func readReplies() {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count: Int
            do throws(LoadgenError) {
                count = try connection.read(into: &chunk)
            } catch {
                fail(error)
                return
            }
            if count == 0 {
                condition.lock()
                let expected = writingFinished && acked >= sent
                condition.unlock()
                if !expected { fail(.connectionClosed(detail: "end of stream before every acknowledgement")) }
                return
            }
            pending.append(contentsOf: chunk[0..<count])
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending[..<newline]
                if let number = Self.ackedCount(line) {
                    record(number)
                } else {
                    fail(.connectionClosed(detail: "unexpected reply \(String(decoding: line, as: UTF8.self))"))
                    return
                }
                pending.removeSubrange(...newline)
            }
        }
    }

    private func record(_ number: Int) {
        let now = monotonicNanoseconds()
        condition.lock()
        acked = max(acked, number)
        while let first = unanswered.first, first <= acked { unanswered.removeFirst() }
        lastAckNanoseconds = now
        condition.broadcast()
        condition.unlock()
    }

    private func fail(_ error: LoadgenError) {
        condition.lock()
        if failure == nil { failure = error }
        condition.broadcast()
        condition.unlock()
    }

    /// N of a reply line `{"acked": N}`.
    static func ackedCount(_ line: ArraySlice<UInt8>) -> Int? {
        let text = String(decoding: line, as: UTF8.self)
        guard text.contains("\"acked\""), let colon = text.firstIndex(of: ":") else { return nil }
        let digits = text[text.index(after: colon)...].filter { $0.isNumber }
        return Int(digits)
    }
}
