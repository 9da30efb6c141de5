import Foundation

/// Per-connection totals, summed across threads, and the streams, for sampling the
/// acknowledged count while they run.
final class Totals: @unchecked Sendable {
    private let lock = NSLock()
    private var streams: [AckedStream] = []
    private var finishedLines = 0
    private var latestAck: UInt64 = 0

    func register(_ stream: AckedStream) {
        lock.lock()
        streams.append(stream)
        lock.unlock()
    }

    func add(lines: Int, lastAck: UInt64) {
        lock.lock()
        finishedLines += lines
        latestAck = max(latestAck, lastAck)
        lock.unlock()
    }

    /// Lines of finished connections.
    var lines: Int {
        lock.lock()
        defer { lock.unlock() }
        return finishedLines
    }

    /// When the last acknowledgement of any connection came (monotonic nanoseconds).
    var lastAck: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return latestAck
    }

    /// Lines acknowledged so far over every connection.
    var acknowledgedNow: Int {
        lock.lock()
        let current = streams
        lock.unlock()
        return current.reduce(0) { $0 + $1.acknowledged }
    }
}
