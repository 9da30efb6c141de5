import Foundation
import PostgresClient
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Slow and hostile clients against the real binary (issue 7): idle, trickling
/// (slowloris), never reading their acknowledgements, sending a 1 GiB line, or a thousand of
/// them at once. The daemon keeps serving others and its memory stays bounded.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct HostileClientTests {
    /// A client that completes no line within `idle_timeout` is told so and closed, also
    /// when it trickles bytes (slowloris); a client that keeps sending lines is served.
    @Test func idleAndTricklingClientsAreClosedWhileActiveOnesAreServed() throws {
        let daemon = try DaemonHarness(
            journeyYAML: DaemonTests.journey,
            ingestYAML: """
                ingest:
                  idle_timeout: 1s
                  batch_max_delay: 50ms
                """)
        try daemon.start()
        defer { _ = daemon.terminate() }
        let silent = try LineClient(tcpPort: daemon.tcpPort)
        let trickler = try LineClient(unixPath: daemon.socketPath)
        let active = try LineClient(tcpPort: daemon.tcpPort)
        try trickler.send("{\"event_id\":\"slow\",\"customer_id\":\"")
        let start = Date()
        var sent = 0
        while Date().timeIntervalSince(start) < 3.5 {
            try? trickler.send("x")
            sent += 1
            try active.send(DaemonTests.line("active-\(sent)", customer: "c-active", event: "visit", at: Date()))
            #expect(try active.ack() == sent)
            Thread.sleep(forTimeInterval: 0.25)
        }
        for client in [silent, trickler] {
            let reply = try client.readLine()
            #expect(reply.contains("no complete line for 1s (ingest.idle_timeout)"), "reply: \(reply)")
            #expect(throws: LineClient.Failure.self) { _ = try client.readLine() }
        }
        // The active client was never idle: it is still served.
        try active.send(DaemonTests.line("active-last", customer: "c-active", event: "visit", at: Date()))
        #expect(try active.ack() == sent + 1)
        #expect(try daemon.query("SELECT count(*) FROM cjm.events").string(row: 0, column: 0) == "\(sent + 1)")
        // What the trickler sent is kept, like any connection's last partial line: one dead letter.
        let rejected = try daemon.query("SELECT reason, convert_from(raw, 'UTF8') FROM cjm.rejected_events")
        #expect(rejected.rowCount == 1)
        #expect(rejected.string(row: 0, column: 0) == "invalid_json")
        #expect(rejected.string(row: 0, column: 1)?.hasPrefix("{\"event_id\":\"slow\",\"customer_id\":\"xx") == true)
        #expect(daemon.log().contains("closed idle connections"))
    }

    /// Waiting for an acknowledgement is the daemon's doing, not idleness: a batch that
    /// commits after longer than the idle timeout still acknowledges its client.
    @Test func clientWaitingForItsAcknowledgementIsNotIdle() throws {
        let daemon = try DaemonHarness(
            journeyYAML: DaemonTests.journey,
            ingestYAML: """
                ingest:
                  idle_timeout: 1s
                  batch_max_delay: 3s
                """)
        try daemon.start()
        defer { _ = daemon.terminate() }
        let client = try LineClient(tcpPort: daemon.tcpPort)
        try client.send(DaemonTests.line("waited", customer: "c-wait", event: "visit", at: Date()))
        let start = Date()
        #expect(try client.ack() == 1)
        #expect(Date().timeIntervalSince(start) > 1.5, "the batch should have waited for batch_max_delay")
        // Once acknowledged, its idleness counts again.
        let reply = try client.readLine()
        #expect(reply.contains("ingest.idle_timeout"), "reply: \(reply)")
    }

    /// A client that requests acknowledgements and never reads them: the daemon stops
    /// reading from it once its replies back up, so it can push only a bounded amount, the
    /// daemon's memory stays flat, and other clients are served meanwhile.
    @Test func clientThatNeverReadsItsAcknowledgementsIsHeldBack() throws {
        let daemon = try DaemonHarness(
            journeyYAML: DaemonTests.journey,
            ingestYAML: """
                ingest:
                  idle_timeout: 0
                  batch_max_delay: 50ms
                """)
        try daemon.start()
        defer { _ = daemon.terminate() }
        let before = try #require(daemon.residentKiB())
        let reader = try LineClient(tcpPort: daemon.tcpPort)
        let hostile = try LineClient(tcpPort: daemon.tcpPort)
        let requests = [UInt8](String(repeating: "{\"ack\": true}\n", count: 4096).utf8)
        var pushed = 0
        var lastProgress = Date()
        let start = Date()
        // Push until the daemon has not taken a byte for 2 s (or 20 s pass: unbounded).
        while Date().timeIntervalSince(lastProgress) < 2, Date().timeIntervalSince(start) < 20 {
            let n = requests.withUnsafeBytes {
                Glibc.send(hostile.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            if n > 0 {
                pushed += n
                lastProgress = Date()
            } else {
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        let after = try #require(daemon.residentKiB())
        print(
            "non-reading client: pushed \(pushed) bytes of ack requests before the daemon stopped reading; "
                + "daemon RSS \(before) → \(after) KiB")
        #expect(Date().timeIntervalSince(lastProgress) >= 2, "the daemon kept reading from a client that reads nothing")
        #expect(pushed < 64 << 20)
        #expect(after - before < 64 * 1024)
        // Others are served meanwhile.
        try reader.send(DaemonTests.line("served", customer: "c-served", event: "visit", at: Date()))
        #expect(try reader.ack() == 1)
        // Once the hostile client reads, the daemon reads from it again: its replies arrive.
        #expect(try hostile.readLine() == "{\"acked\": 0}")
    }

    /// A 1 GiB line is dead-lettered as too long (raw cut to max_line_bytes) without being
    /// held; the same connection goes on with its next line.
    @Test func gigabyteLineIsDeadLetteredWithoutBeingHeld() throws {
        let daemon = try DaemonHarness(
            journeyYAML: DaemonTests.journey,
            ingestYAML: """
                ingest:
                  batch_max_delay: 50ms
                """)
        try daemon.start()
        defer { _ = daemon.terminate() }
        let before = try #require(daemon.residentKiB())
        let client = try LineClient(tcpPort: daemon.tcpPort)
        let chunk = String(repeating: "x", count: 1 << 20)
        let head = "{\"event_id\":\"huge\",\"customer_id\":\""
        let tail = "\"}"
        try client.send(head)
        var peak = before
        for i in 0..<1024 {
            try client.send(chunk)
            if i % 64 == 0, let now = daemon.residentKiB() { peak = max(peak, now) }
        }
        try client.send(tail + "\n")
        try client.send(DaemonTests.line("after-huge", customer: "c-huge", event: "visit", at: Date()))
        #expect(try client.ack() == 2)
        print("1 GiB line: daemon RSS \(before) KiB before, peak \(peak) KiB while it was sent")
        #expect(peak - before < 64 * 1024)
        let rejected = try daemon.query("SELECT reason, detail, length(raw) FROM cjm.rejected_events")
        #expect(rejected.rowCount == 1)
        #expect(rejected.string(row: 0, column: 0) == "line_too_long")
        let length = head.utf8.count + (1 << 30) + tail.utf8.count
        #expect(
            rejected.string(row: 0, column: 1)?.contains("line: \(length) bytes is longer than max_line_bytes (65536)")
                == true,
            "detail: \(rejected.string(row: 0, column: 1) ?? "")")
        #expect(rejected.string(row: 0, column: 2) == "65536")
        #expect(try daemon.query("SELECT event_id FROM cjm.events").string(row: 0, column: 0) == "after-huge")
    }

    /// A thousand idle connections (within max_connections) cost a few KiB each, and a
    /// new client is served while they are open.
    @Test func thousandIdleConnectionsAreCheapAndOthersAreServed() throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        try #require(limit.rlim_cur >= 1200, "this test needs 1200 file descriptors")
        let daemon = try DaemonHarness(
            journeyYAML: DaemonTests.journey,
            ingestYAML: """
                ingest:
                  batch_max_delay: 50ms
                """)
        try daemon.start()
        defer { _ = daemon.terminate() }
        // Warm up the allocator with one served client, then measure.
        let first = try LineClient(tcpPort: daemon.tcpPort)
        try first.send(DaemonTests.line("first", customer: "c-first", event: "visit", at: Date()))
        #expect(try first.ack() == 1)
        let before = try #require(daemon.residentKiB())
        var idle: [LineClient] = []
        for i in 0..<1000 {
            idle.append(
                i % 2 == 0 ? try LineClient(tcpPort: daemon.tcpPort) : try LineClient(unixPath: daemon.socketPath))
        }
        // Every one of them was accepted and is live: each gets its acknowledgement.
        for client in idle.prefix(20) { #expect(try client.ack() == 0) }
        try first.send(DaemonTests.line("second", customer: "c-first", event: "visit", at: Date()))
        #expect(try first.ack() == 2)
        let after = try #require(daemon.residentKiB())
        let perConnection = Double(after - before) * 1024 / 1000
        print("1,000 idle connections: daemon RSS \(before) → \(after) KiB, \(Int(perConnection)) bytes each")
        #expect(perConnection < 32 * 1024)
        idle.removeAll()
        let late = try LineClient(tcpPort: daemon.tcpPort)
        try late.send(DaemonTests.line("late", customer: "c-late", event: "visit", at: Date()))
        #expect(try late.ack() == 1)
    }

    /// A TCP source written without a host listens on loopback only.
    @Test func tcpWithoutHostListensOnLoopbackOnly() throws {
        let daemon = try DaemonHarness(journeyYAML: DaemonTests.journey, tcpListen: { ":\($0)" })
        try daemon.start()
        defer { _ = daemon.terminate() }
        #expect(daemon.log().contains("127.0.0.1:\(daemon.tcpPort)"))
        let client = try LineClient(tcpPort: daemon.tcpPort)
        #expect(try client.ack() == 0)
        // From another address of this machine, if it has one, nothing listens.
        guard let external = nonLoopbackIPv4Address() else { return }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(daemon.tcpPort).bigEndian)
        address.sin_addr = external
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        let error = errno
        #expect(result != 0 && error == ECONNREFUSED, "connect to the external address: \(result), errno \(error)")
    }

    private func nonLoopbackIPv4Address() -> in_addr? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return nil }
        defer { freeifaddrs(list) }
        var entry = list
        while let current = entry {
            defer { entry = current.pointee.ifa_next }
            guard let address = current.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else {
                continue
            }
            let ipv4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            if UInt32(bigEndian: ipv4.s_addr) >> 24 != 127 { return ipv4 }
        }
        return nil
    }
}
