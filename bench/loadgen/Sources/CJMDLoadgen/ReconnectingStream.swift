import Foundation

/// One client of the soak. Like ``AckedStream`` it sends chunks of lines, each closed by
/// `{"ack": true}`, with at most `maxOutstanding` unanswered; unlike it, it keeps every chunk
/// until it is acknowledged and survives the daemon closing the connection: it reconnects
/// and sends the unacknowledged chunks again, in order. The daemon de-duplicates by event id,
/// so a line committed but not yet acknowledged when the connection went costs a duplicate,
/// never a loss.
///
/// Lines are numbered from 0 over the stream's whole life, across connections; the first
/// `acknowledged` of them are known to be committed (acknowledgements are cumulative).
final class ReconnectingStream: @unchecked Sendable {
    /// Lines sent together, closed by one acknowledgement request.
    private struct Chunk {
        let bytes: [UInt8]
        let firstLine: Int
        let lines: Int
        /// When it was first sent (monotonic nanoseconds): a re-send must not hide a stall.
        let sentAt: UInt64
        var end: Int { firstLine + lines }
    }

    /// One connection of the stream; its `{"acked": N}` replies count from `firstLine`.
    private final class Session: @unchecked Sendable {
        let connection: SocketConnection
        let firstLine: Int
        let readerFinished = DispatchSemaphore(value: 0)

        init(connection: SocketConnection, firstLine: Int) {
            self.connection = connection
            self.firstLine = firstLine
        }
    }

    /// How long one chunk waited for its acknowledgement, and when it was sent.
    struct AckWait {
        var sentAt: UInt64
        var seconds: Double
    }

    let name: String
    private let endpoint: Endpoint
    private let maxOutstanding: Int
    private let stallSeconds: Double
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var unacknowledged: [Chunk] = []
    private var acked = 0
    private var sent = 0
    private var session: Session?
    private var sessionFailure: LoadgenError?
    private var writingFinished = false
    private var waits: [AckWait] = []
    private var reconnectCount = 0
    private var resentLineCount = 0

    /// - Parameter stallSeconds: how long to wait for room in the window, for the last
    ///   acknowledgements, and for the daemon to accept a new connection, before giving up.
    init(endpoint: Endpoint, name: String, maxOutstanding: Int, stallSeconds: Double) {
        self.endpoint = endpoint
        self.name = name
        self.maxOutstanding = max(1, maxOutstanding)
        self.stallSeconds = stallSeconds
    }

    /// Opens the first connection (once: a daemon that is not there fails the run at once).
    func start() throws(LoadgenError) {
        begin(Session(connection: try endpoint.connect(), firstLine: 0))
    }

    /// Sends `chunk` (`lines` NDJSON lines followed by an ack request) once fewer than
    /// `maxOutstanding` requests are unanswered, reconnecting first if the connection was lost.
    func send(_ chunk: [UInt8], lines: Int) throws(LoadgenError) {
        let deadline = Date(timeIntervalSinceNow: stallSeconds)
        condition.lock()
        while true {
            if sessionFailure != nil || session == nil {
                condition.unlock()
                try reconnect()
                condition.lock()
                continue
            }
            if unacknowledged.count < maxOutstanding { break }
            if !condition.wait(until: deadline) && unacknowledged.count >= maxOutstanding && sessionFailure == nil {
                let (sentNow, ackedNow) = (sent, acked)
                condition.unlock()
                throw .ackTimeout(sent: sentNow, acked: ackedNow, seconds: stallSeconds)
            }
        }
        let current = session
        unacknowledged.append(Chunk(bytes: chunk, firstLine: sent, lines: lines, sentAt: monotonicNanoseconds()))
        sent += lines
        condition.unlock()
        // A failed write leaves the chunk unacknowledged: the next call reconnects and re-sends it.
        if let current { write(chunk, on: current) }
    }

    /// Waits until every line sent is acknowledged, reconnecting and re-sending as needed.
    func waitForAllAcknowledged() throws(LoadgenError) {
        let deadline = Date(timeIntervalSinceNow: stallSeconds)
        condition.lock()
        while !unacknowledged.isEmpty {
            if sessionFailure != nil || session == nil {
                condition.unlock()
                try reconnect()
                condition.lock()
                continue
            }
            if !condition.wait(until: deadline) && !unacknowledged.isEmpty && sessionFailure == nil {
                let (sentNow, ackedNow) = (sent, acked)
                condition.unlock()
                throw .ackTimeout(sent: sentNow, acked: ackedNow, seconds: stallSeconds)
            }
        }
        condition.unlock()
    }

    /// Ends the connection after the last reply.
    func finish() {
        condition.lock()
        writingFinished = true
        let current = session
        condition.unlock()
        guard let current else { return }
        current.connection.finishWriting()
        current.readerFinished.wait()
    }

    /// A consistent reading of the counters, for progress lines and the acked file.
    struct Snapshot {
        var sent: Int
        var acknowledged: Int
        var reconnects: Int
        var resentLines: Int
        /// Seconds the oldest unacknowledged chunk has waited; 0 when none waits.
        var oldestWaitSeconds: Double
    }

    var snapshot: Snapshot {
        let now = monotonicNanoseconds()
        condition.lock()
        defer { condition.unlock() }
        let oldest = unacknowledged.first.map { Double(now - min(now, $0.sentAt)) / 1e9 } ?? 0
        return Snapshot(sent: sent, acknowledged: acked, reconnects: reconnectCount,
                        resentLines: resentLineCount, oldestWaitSeconds: oldest)
    }

    /// Every chunk's wait for its acknowledgement so far.
    var ackWaits: [AckWait] {
        condition.lock()
        defer { condition.unlock() }
        return waits
    }

    // MARK: Connections

    private func begin(_ fresh: Session) {
        condition.lock()
        session = fresh
        sessionFailure = nil
        condition.unlock()
        let reader = Thread { [self] in
            readReplies(on: fresh)
            fresh.readerFinished.signal()
        }
        reader.name = "\(name)-acks"
        reader.start()
    }

    /// Drops the current connection, opens a new one and sends every unacknowledged chunk
    /// again, oldest first; its acknowledgements count from the first of them.
    private func reconnect() throws(LoadgenError) {
        condition.lock()
        let old = session
        let reason = sessionFailure.map { "\($0)" } ?? "closed"
        session = nil
        condition.unlock()
        if let old {
            old.connection.abort()
            old.readerFinished.wait()
            report("\(name): connection lost (\(reason)); reconnecting")
        }
        let connection = try connectWithRetry()
        condition.lock()
        let fresh = Session(connection: connection, firstLine: unacknowledged.first?.firstLine ?? sent)
        let resend = unacknowledged
        reconnectCount += 1
        resentLineCount += resend.reduce(0) { $0 + $1.lines }
        condition.unlock()
        begin(fresh)
        report("\(name): reconnected; sending \(resend.count) unacknowledged chunks again from line \(fresh.firstLine)")
        for chunk in resend { write(chunk.bytes, on: fresh) }
    }

    /// Connects, retrying with backoff while the daemon refuses (e.g. restarting).
    private func connectWithRetry() throws(LoadgenError) -> SocketConnection {
        let deadline = monotonicNanoseconds() + UInt64(stallSeconds * 1e9)
        var backoff = 0.05
        while true {
            do throws(LoadgenError) {
                return try endpoint.connect()
            } catch {
                if monotonicNanoseconds() > deadline { throw error }
                sleepSeconds(backoff)
                backoff = min(backoff * 2, 2)
            }
        }
    }

    private func write(_ bytes: [UInt8], on current: Session) {
        do throws(LoadgenError) {
            try current.connection.writeAll(bytes)
        } catch {
            fail(current, error)
        }
    }

    private func readReplies(on current: Session) {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count: Int
            do throws(LoadgenError) {
                count = try current.connection.read(into: &buffer)
            } catch {
                fail(current, error)
                return
            }
            if count == 0 {
                condition.lock()
                let expected = writingFinished && unacknowledged.isEmpty
                condition.unlock()
                if !expected { fail(current, .connectionClosed(detail: "end of stream before every acknowledgement")) }
                return
            }
            pending.append(contentsOf: buffer[0..<count])
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending[..<newline]
                guard let number = AckedStream.ackedCount(line) else {
                    fail(current, .connectionClosed(detail: "unexpected reply \(String(decoding: line, as: UTF8.self))"))
                    return
                }
                record(number, on: current)
                pending.removeSubrange(...newline)
            }
        }
    }

    private func record(_ number: Int, on current: Session) {
        let now = monotonicNanoseconds()
        condition.lock()
        // Replies of a connection already given up count no more: its chunks are re-sent.
        if session === current {
            acked = max(acked, current.firstLine + number)
            while let first = unacknowledged.first, first.end <= acked {
                waits.append(AckWait(sentAt: first.sentAt, seconds: Double(now - min(now, first.sentAt)) / 1e9))
                unacknowledged.removeFirst()
            }
            condition.broadcast()
        }
        condition.unlock()
    }

    private func fail(_ current: Session, _ error: LoadgenError) {
        condition.lock()
        if session === current && sessionFailure == nil { sessionFailure = error }
        condition.broadcast()
        condition.unlock()
    }
}

/// A line on standard error, for what happens while a long run lasts.
func report(_ text: String) {
    FileHandle.standardError.write(Data("cjmd-loadgen: \(text)\n".utf8))
}
