import Foundation
import PostgresClient
import Testing

/// `cjmd run` end to end: real sockets, real PostgreSQL, real signals.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct DaemonTests {
    static let journey = """
        journeys:
          - name: shop
            conversion_window: 1d
            stages:
              - name: visit
                events: [visit]
                abandon_after: 2s
              - name: buy
                events: [buy]
        """

    static func line(_ id: String, customer: String, event: String, at date: Date) -> String {
        let ts = ISO8601DateFormatter.string(
            from: date, timeZone: TimeZone(identifier: "UTC")!,
            formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        return "{\"event_id\":\"\(id)\",\"customer_id\":\"\(customer)\",\"event\":\"\(event)\",\"ts\":\"\(ts)\"}\n"
    }

    /// Eight clients over Unix and TCP send with acknowledgements while the daemon gets
    /// SIGTERM mid-stream: it exits 0, every acknowledged event is stored, none twice.
    @Test func concurrentClientsWithAcksSurviveSigterm() throws {
        let daemon = try DaemonHarness(journeyYAML: Self.journey)
        try daemon.start()
        let clients = 8
        let chunks = 60
        let perChunk = 50
        let acked = LockedCounters(count: clients)
        let sent = LockedCounters(count: clients)
        let base = Date().addingTimeInterval(-60)
        let group = DispatchGroup()
        let socketPath = daemon.socketPath
        let tcpPort = daemon.tcpPort
        for c in 0..<clients {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    let client = c % 2 == 0 ? try LineClient(unixPath: socketPath) : try LineClient(tcpPort: tcpPort)
                    for chunk in 0..<chunks {
                        var text = ""
                        for i in 0..<perChunk {
                            let n = chunk * perChunk + i
                            text += Self.line(
                                "k\(c)-\(n)", customer: "cust\(c)-\(n % 40)", event: n % 7 == 0 ? "buy" : "visit",
                                at: base.addingTimeInterval(Double(n) * 0.001))
                        }
                        try client.send(text)
                        sent.set(c, (chunk + 1) * perChunk)
                        let n = try client.ack()
                        acked.set(c, n)
                    }
                } catch {
                    // The daemon stopped mid-stream: expected once SIGTERM was sent.
                }
            }
        }
        // Let the clients get going, then stop the daemon under load.
        let waitUntil = Date().addingTimeInterval(20)
        while acked.total < clients * chunks * perChunk / 3 && Date() < waitUntil {
            Thread.sleep(forTimeInterval: 0.01)
        }
        let status = daemon.terminate()
        group.wait()
        #expect(status == 0, "cjmd log:\n\(daemon.log())")
        #expect(acked.total > 0)

        let stored = try daemon.query("SELECT event_id FROM cjm.events")
        var ids = Set<String>()
        for row in 0..<stored.rowCount { ids.insert(stored.string(row: row, column: 0) ?? "") }
        #expect(ids.count == stored.rowCount)
        var missing = 0
        for c in 0..<clients {
            for n in 0..<acked.value(c) where !ids.contains("k\(c)-\(n)") { missing += 1 }
        }
        #expect(missing == 0, "acknowledged events missing from cjm.events")
        #expect(stored.rowCount <= sent.total)
        #expect(!FileManager.default.fileExists(atPath: daemon.socketPath), "the socket file is removed on exit")
    }

    /// With no traffic at all, an abandonment deadline still takes effect on the clock.
    @Test func idleDaemonFlagsAbandonmentOnTime() throws {
        let daemon = try DaemonHarness(
            journeyYAML: Self.journey,
            ingestYAML: """
                ingest:
                  allowed_lateness: 0s
                  batch_max_delay: 50ms
                """)
        try daemon.start()
        let client = try LineClient(tcpPort: daemon.tcpPort)
        let seen = Date()
        try client.send(Self.line("lonely-1", customer: "lonely", event: "visit", at: seen))
        #expect(try client.ack() == 1)
        var moments = 0
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            moments = Int(try daemon.query("SELECT count(*) FROM cjm.critical_moments").int64(row: 0, column: 0) ?? 0)
            if moments > 0 { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(moments == 1)
        let row = try daemon.query(
            """
            SELECT reason, stage, (extract(epoch FROM detected_at - last_seen))::float8 FROM cjm.critical_moments
            """)
        #expect(row.string(row: 0, column: 0) == "inactive")
        #expect(row.string(row: 0, column: 1) == "visit")
        #expect(
            try row.double(row: 0, column: 2) == 2.0, "detected_at is the deadline itself: last seen + abandon_after")
        #expect(daemon.terminate() == 0)
    }
}

/// Per-client counters shared between threads.
final class LockedCounters: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int]
    init(count: Int) { values = Array(repeating: 0, count: count) }
    func set(_ index: Int, _ value: Int) {
        lock.lock()
        values[index] = value
        lock.unlock()
    }
    func value(_ index: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return values[index]
    }
    var total: Int {
        lock.lock()
        defer { lock.unlock() }
        return values.reduce(0, +)
    }
}
