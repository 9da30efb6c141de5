import Foundation

/// Sustained ingest: `connections` clients send synthetic journeys for `seconds` — as fast
/// as the daemon acknowledges them, or paced at `rate` — then wait for their last
/// acknowledgements; a probe measures how long an event takes to show in the funnel.
///
/// Two rates are reported: over the whole run (acknowledged lines / time to the last
/// acknowledgement) and steady (lines acknowledged between the end of the warm-up and the
/// end of sending, over that time). The steady one is the sustained rate: the journey engine
/// only gets work once the first events leave the reorder buffer, `allowed_lateness` in.
struct LiveRun {
    let options: Options

    func run() throws(LoadgenError) {
        guard let endpoint = options.endpoint else { return }
        var probe: LatencyProbe?
        var session: PsqlSession?
        if let conninfo = options.probeConninfo {
            let psql = try PsqlSession(psql: options.psql, conninfo: conninfo)
            session = psql
            let candidate = LatencyProbe(
                endpoint: endpoint, session: psql, journey: options.journey,
                entryEvent: options.vocabulary.stageEvents[0][0], prefix: "\(options.tag)-probe",
                interval: options.probeInterval, giveUpSeconds: 120)
            try candidate.start()
            probe = candidate
        }

        let totals = Totals()
        let started = monotonicNanoseconds()
        let stopSendingAt = started + UInt64(options.seconds * 1e9)
        let warmupEndsAt = started + UInt64(options.warmupSeconds * 1e9)
        let steady = SteadyRateSampler(totals: totals, started: started, from: warmupEndsAt, to: stopSendingAt)
        let options = self.options
        // Seconds between two chunks of one connection when paced.
        let chunkInterval = options.rate > 0 ? Double(options.ackEvery * options.connections) / Double(options.rate) : 0
        try ConnectionWorkers.run(count: options.connections) { index throws(LoadgenError) in
            let stream = AckedStream(connection: try endpoint.connect(), maxOutstanding: options.maxOutstanding)
            totals.register(stream)
            var journeys = SyntheticJourneys(vocabulary: options.vocabulary, prefix: "\(options.tag)-\(index)",
                                             seed: UInt64(index + 1))
            var chunk: [UInt8] = []
            chunk.reserveCapacity(options.ackEvery * 200 + 16)
            // Paced connections start spread over one interval, not all at once.
            var nextChunkAt = Double(started) / 1e9 + chunkInterval * Double(index) / Double(options.connections)
            while monotonicNanoseconds() < stopSendingAt {
                if chunkInterval > 0 {
                    let wait = nextChunkAt - Double(monotonicNanoseconds()) / 1e9
                    if wait > 0 { sleepSeconds(wait) }
                    nextChunkAt += chunkInterval
                }
                chunk.removeAll(keepingCapacity: true)
                for _ in 0..<options.ackEvery { journeys.appendLine(to: &chunk) }
                chunk.appendText("{\"ack\": true}\n")
                try stream.send(chunk, lines: options.ackEvery)
            }
            let lastAck = try stream.waitForAllAcknowledged(timeoutSeconds: 600)
            stream.finish()
            totals.add(lines: stream.sent, lastAck: lastAck)
        }
        steady.stop()
        let seconds = Double(totals.lastAck - started) / 1e9
        let steadyRate = steady.rate()
        print("connections=\(options.connections)")
        print("offered_rate=\(options.rate == 0 ? "max" : String(options.rate))")
        print("events_acked=\(totals.lines)")
        print("seconds=\(String(format: "%.3f", seconds))")
        print("events_per_second=\(String(format: "%.0f", Double(totals.lines) / seconds))")
        print("steady_window_seconds=\(String(format: "%.1f", options.seconds - options.warmupSeconds))")
        print("steady_events_per_second=\(steadyRate.map { String(format: "%.0f", $0) } ?? "nan")")
        print("acked_each_second=\(steady.timeline())")

        if let probe {
            let (latencies, unresolved) = try probe.finish()
            session?.close()
            print("probes=\(latencies.count)")
            print("probes_unresolved=\(unresolved)")
            for (name, q) in [("p50", 0.5), ("p99", 0.99), ("max", 1.0)] {
                print("visible_\(name)_seconds=\(latencies.nearestRank(q).map { String(format: "%.3f", $0) } ?? "nan")")
            }
            print("visible_all_seconds=\(latencies.map { String(format: "%.3f", $0) }.joined(separator: ","))")
        }
    }
}

/// Samples the acknowledged count every second while the run lasts: the timeline goes to
/// the results, and the steady rate is read from it.
final class SteadyRateSampler: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private let started: UInt64
    private let from: UInt64
    private let to: UInt64
    private var samples: [(at: UInt64, acknowledged: Int)] = []
    private var stopped = false

    init(totals: Totals, started: UInt64, from: UInt64, to: UInt64) {
        self.started = started
        self.from = from
        self.to = to
        Thread { [self] in
            var next = started
            while true {
                next += 1_000_000_000
                let now = monotonicNanoseconds()
                if next > now { sleepSeconds(Double(next - now) / 1e9) }
                // The steady window's edges are sampled exactly.
                let count = totals.acknowledgedNow
                lock.lock()
                samples.append((monotonicNanoseconds(), count))
                let finished = stopped
                lock.unlock()
                if finished { break }
            }
            done.signal()
        }.start()
    }

    /// Stops sampling (after one last sample).
    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
        done.wait()
    }

    /// Lines per second between the samples closest to the warm-up's end and to the end
    /// of sending.
    func rate() -> Double? {
        lock.lock()
        defer { lock.unlock() }
        func closest(_ moment: UInt64) -> (at: UInt64, acknowledged: Int)? {
            samples.min { abs(Int64(bitPattern: $0.at &- moment)) < abs(Int64(bitPattern: $1.at &- moment)) }
        }
        guard let first = closest(from), let last = closest(to), last.at > first.at else { return nil }
        return Double(last.acknowledged - first.acknowledged) / (Double(last.at - first.at) / 1e9)
    }

    /// Cumulative acknowledged lines at each whole second of the run.
    func timeline() -> String {
        lock.lock()
        defer { lock.unlock() }
        return samples.map { String($0.acknowledged) }.joined(separator: ",")
    }
}
