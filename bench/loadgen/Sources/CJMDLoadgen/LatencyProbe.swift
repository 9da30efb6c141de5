import Foundation

/// Measures "send to visible in the funnel": at a fixed interval it sends, on a connection
/// of its own, one event that opens a brand-new instance (a new customer, a stage-0 event
/// stamped now) and polls PostgreSQL until `cjm.funnel_between(journey, ts, ts + 1 µs)`
/// shows it at stage 0. `cjm.funnel` is that function over all time; the one-microsecond
/// window isolates the probe's own instance (probe times end in microsecond digit 5, load
/// events in 0), where the whole-funnel count would also move with the load.
///
/// Visibility follows event time (the watermark passes events in time order), so only the
/// oldest probe not yet seen is polled; once it shows, the next ones are checked at once.
/// A poll is one round trip through a long-lived psql, every `pollInterval` seconds, so a
/// latency is overstated by at most about that interval plus one query.
final class LatencyProbe: @unchecked Sendable {
    private struct Probe {
        var timestamp: String
        var sentAt: UInt64
    }

    private let endpoint: Endpoint
    private let session: PsqlSession
    private let journey: String
    private let entryEvent: String
    private let prefix: String
    private let interval: Double
    private let pollInterval = 0.01
    private let giveUpSeconds: Double
    private let condition = NSCondition()
    private let done = DispatchGroup()
    // Guarded by `condition`:
    private var waiting: [Probe] = []
    private var latencies: [Double] = []
    private var unresolved = 0
    private var stopSending = false
    private var senderFinished = false
    private var failure: LoadgenError?

    init(endpoint: Endpoint, session: PsqlSession, journey: String, entryEvent: String, prefix: String,
         interval: Double, giveUpSeconds: Double) {
        self.endpoint = endpoint
        self.session = session
        self.journey = journey
        self.entryEvent = entryEvent
        self.prefix = prefix
        self.interval = interval
        self.giveUpSeconds = giveUpSeconds
    }

    /// Starts sending and polling.
    func start() throws(LoadgenError) {
        let connection = try endpoint.connect()
        done.enter()
        Thread { [self] in
            send(on: connection)
            done.leave()
        }.start()
        done.enter()
        Thread { [self] in
            poll()
            done.leave()
        }.start()
    }

    /// Stops sending, waits until every probe sent is visible (or given up), and returns the
    /// latencies in seconds, in sending order, and how many were never seen.
    func finish() throws(LoadgenError) -> (latencies: [Double], unresolved: Int) {
        condition.lock()
        stopSending = true
        condition.broadcast()
        condition.unlock()
        done.wait()
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
        return (latencies, unresolved)
    }

    private func send(on connection: SocketConnection) {
        var clock = WallClockText()
        var number = 0
        let journeyJSON = journey.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        while true {
            condition.lock()
            let stop = stopSending || failure != nil
            condition.unlock()
            if stop { break }
            let timestamp = clock.now(microsecondDigit: 5)
            let id = "\(prefix)-p\(number)"
            let line = #"{"event_id":"\#(id)","customer_id":"\#(id)","event":"\#(entryEvent)","ts":"\#(timestamp)","touchpoint":"web","journey":"\#(journeyJSON)"}"# + "\n"
            number += 1
            condition.lock()
            waiting.append(Probe(timestamp: timestamp, sentAt: monotonicNanoseconds()))
            condition.unlock()
            do throws(LoadgenError) {
                try connection.writeAll(Array(line.utf8))
            } catch {
                record(error)
                break
            }
            condition.lock()
            _ = condition.wait(until: Date(timeIntervalSinceNow: interval))
            condition.unlock()
        }
        connection.finishWriting()
        condition.lock()
        senderFinished = true
        condition.unlock()
    }

    private func poll() {
        let journeyLiteral = "'" + journey.replacingOccurrences(of: "'", with: "''") + "'"
        while true {
            condition.lock()
            let oldest = waiting.first
            let finished = senderFinished && waiting.isEmpty
            let failed = failure != nil
            condition.unlock()
            if finished || failed { return }
            guard let oldest else {
                sleepSeconds(pollInterval)
                continue
            }
            let query = """
                SELECT coalesce((SELECT reached FROM cjm.funnel_between(\(journeyLiteral), \
                '\(oldest.timestamp)', '\(oldest.timestamp)'::timestamptz + interval '1 microsecond') \
                WHERE stage_index = 0), 0)
                """
            let reached: String
            do throws(LoadgenError) {
                reached = try session.value(query)
            } catch {
                record(error)
                return
            }
            let now = monotonicNanoseconds()
            if (Int(reached) ?? 0) > 0 {
                condition.lock()
                waiting.removeFirst()
                latencies.append(Double(now - oldest.sentAt) / 1e9)
                condition.unlock()
            } else if Double(now - oldest.sentAt) / 1e9 > giveUpSeconds {
                condition.lock()
                waiting.removeFirst()
                unresolved += 1
                condition.unlock()
            } else {
                sleepSeconds(pollInterval)
            }
        }
    }

    private func record(_ error: LoadgenError) {
        condition.lock()
        if failure == nil { failure = error }
        condition.broadcast()
        condition.unlock()
    }
}
