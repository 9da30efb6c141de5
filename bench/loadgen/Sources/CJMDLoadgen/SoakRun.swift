import Foundation
import Glibc

/// The soak (bench/soak): a steady, paced load of synthetic journeys for `seconds` over
/// `connections` Unix-socket and `tcpConnections` TCP clients, each with acknowledgements,
/// each reconnecting and re-sending what was not acknowledged if the daemon closes it.
///
/// Event ids are `TAG-uI-eN` (Unix client I) and `TAG-tI-eN` (TCP client I), N counting that
/// client's lines from 0. The acked file lists per client `PREFIX ACKED SENT`: lines
/// `PREFIX-e0` … `PREFIX-e(ACKED-1)` were acknowledged, so they must be in the database. It
/// is rewritten at every progress line and at the end, also when the run fails, so that what
/// was acknowledged can always be checked.
struct SoakRun {
    let options: Options

    private struct Client {
        var prefix: String
        var stream: ReconnectingStream
    }

    func run() throws(LoadgenError) {
        let options = self.options
        var clients: [Client] = []
        if let unix = options.unixEndpoint {
            for index in 0..<options.connections {
                clients.append(Client(prefix: "\(options.tag)-u\(index)", stream: ReconnectingStream(
                    endpoint: unix, name: "unix-\(index)", maxOutstanding: options.maxOutstanding,
                    stallSeconds: options.stallSeconds)))
            }
        }
        if let tcp = options.tcpEndpoint {
            for index in 0..<options.tcpConnections {
                clients.append(Client(prefix: "\(options.tag)-t\(index)", stream: ReconnectingStream(
                    endpoint: tcp, name: "tcp-\(index)", maxOutstanding: options.maxOutstanding,
                    stallSeconds: options.stallSeconds)))
            }
        }
        for client in clients { try client.stream.start() }

        let started = monotonicNanoseconds()
        let stopSendingAt = started + UInt64(options.seconds * 1e9)
        let progress = SoakProgress(clients: clients.map { ($0.prefix, $0.stream) }, started: started,
                                    interval: options.progressSeconds, ackedFile: options.ackedFile)
        // Seconds between two chunks of one client: together they offer `rate` lines a second.
        // A client held up (a full window) catches up afterwards, so the offered total holds.
        let chunkInterval = Double(options.ackEvery * clients.count) / Double(options.rate)
        let allClients = clients
        var failure: LoadgenError?
        do throws(LoadgenError) {
            try ConnectionWorkers.run(count: allClients.count) { index throws(LoadgenError) in
                let client = allClients[index]
                var journeys = SyntheticJourneys(vocabulary: options.vocabulary, prefix: client.prefix,
                                                 seed: UInt64(index + 1), population: options.customerPopulation)
                var chunk: [UInt8] = []
                chunk.reserveCapacity(options.ackEvery * 200 + 16)
                var nextChunkAt = Double(started) / 1e9 + chunkInterval * Double(index) / Double(allClients.count)
                while monotonicNanoseconds() < stopSendingAt {
                    let wait = nextChunkAt - Double(monotonicNanoseconds()) / 1e9
                    if wait > 0 { sleepSeconds(wait) }
                    nextChunkAt += chunkInterval
                    chunk.removeAll(keepingCapacity: true)
                    for _ in 0..<options.ackEvery { journeys.appendLine(to: &chunk) }
                    chunk.appendText("{\"ack\": true}\n")
                    try client.stream.send(chunk, lines: options.ackEvery)
                }
                try client.stream.waitForAllAcknowledged()
                client.stream.finish()
            }
        } catch {
            failure = error
        }
        let finished = monotonicNanoseconds()
        progress.stop()
        if let failure { throw failure }

        let snapshots = clients.map(\.stream.snapshot)
        let waits = clients.flatMap(\.stream.ackWaits)
        let seconds = waits.map(\.seconds)
        print("connections_unix=\(options.unixEndpoint == nil ? 0 : options.connections)")
        print("connections_tcp=\(options.tcpEndpoint == nil ? 0 : options.tcpConnections)")
        print("offered_rate=\(options.rate)")
        print("seconds=\(String(format: "%.3f", Double(finished - started) / 1e9))")
        print("events_sent=\(snapshots.reduce(0) { $0 + $1.sent })")
        print("events_acked=\(snapshots.reduce(0) { $0 + $1.acknowledged })")
        print("reconnects=\(snapshots.reduce(0) { $0 + $1.reconnects })")
        print("resent_lines=\(snapshots.reduce(0) { $0 + $1.resentLines })")
        print("acks=\(waits.count)")
        for (name, q) in [("p50", 0.5), ("p99", 0.99), ("max", 1.0)] {
            print("ack_wait_\(name)_seconds=\(seconds.nearestRank(q).map { String(format: "%.3f", $0) } ?? "nan")")
        }
        // Stalls: per second of the run in which some chunk was sent that waited over a
        // second, the longest wait ("second:wait").
        var stalls: [Int: Double] = [:]
        for wait in waits where wait.seconds > 1 {
            let second = Int(Double(wait.sentAt - min(wait.sentAt, started)) / 1e9)
            stalls[second] = max(stalls[second] ?? 0, wait.seconds)
        }
        print("ack_stalls=\(stalls.sorted { $0.key < $1.key }.map { "\($0.key):\(String(format: "%.2f", $0.value))" }.joined(separator: ","))")
        print("acked_each_interval=\(progress.timeline())")
    }
}

/// Every `interval` seconds: a progress line on standard error, the acked file rewritten,
/// and the acknowledged total kept for the timeline.
final class SoakProgress: @unchecked Sendable {
    private let clients: [(prefix: String, stream: ReconnectingStream)]
    private let started: UInt64
    private let interval: Double
    private let ackedFile: String?
    private let lock = NSLock()
    private let done = DispatchSemaphore(value: 0)
    private let wake = NSCondition()
    // Guarded by `wake`:
    private var stopped = false
    // Guarded by `lock`:
    private var acknowledgedTotals: [Int] = []

    init(clients: [(prefix: String, stream: ReconnectingStream)], started: UInt64, interval: Double, ackedFile: String?) {
        self.clients = clients
        self.started = started
        self.interval = interval
        self.ackedFile = ackedFile
        let thread = Thread { [self] in
            var next = started
            while true {
                next += UInt64(interval * 1e9)
                wake.lock()
                while !stopped && monotonicNanoseconds() < next {
                    _ = wake.wait(until: Date(timeIntervalSinceNow: Double(next - min(next, monotonicNanoseconds())) / 1e9))
                }
                let finished = stopped
                wake.unlock()
                tick(final: finished)
                if finished { break }
            }
            done.signal()
        }
        thread.name = "soak-progress"
        thread.start()
    }

    /// Writes the last acked file and stops.
    func stop() {
        wake.lock()
        stopped = true
        wake.broadcast()
        wake.unlock()
        done.wait()
    }

    /// Cumulative acknowledged lines at each progress line.
    func timeline() -> String {
        lock.lock()
        defer { lock.unlock() }
        return acknowledgedTotals.map(String.init).joined(separator: ",")
    }

    private func tick(final: Bool) {
        let snapshots = clients.map { ($0.prefix, $0.stream.snapshot) }
        let sent = snapshots.reduce(0) { $0 + $1.1.sent }
        let acknowledged = snapshots.reduce(0) { $0 + $1.1.acknowledged }
        if !final {
            lock.lock()
            acknowledgedTotals.append(acknowledged)
            lock.unlock()
        }
        if let ackedFile {
            let text = snapshots.map { "\($0.0) \($0.1.acknowledged) \($0.1.sent)\n" }.joined()
            let temporary = ackedFile + ".tmp"
            if FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)) {
                _ = rename(temporary, ackedFile)
            } else {
                report("cannot write \(temporary)")
            }
        }
        let elapsed = Double(monotonicNanoseconds() - started) / 1e9
        let oldest = snapshots.map(\.1.oldestWaitSeconds).max() ?? 0
        let reconnects = snapshots.reduce(0) { $0 + $1.1.reconnects }
        report("progress elapsed=\(String(format: "%.0f", elapsed)) sent=\(sent) acked=\(acknowledged) "
            + "unacked=\(sent - acknowledged) oldest_unacked_seconds=\(String(format: "%.2f", oldest)) reconnects=\(reconnects)")
    }
}
