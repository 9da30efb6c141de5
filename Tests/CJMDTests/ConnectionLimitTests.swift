import Foundation
import PostgresClient
import Testing

/// `ingest.max_connections` (issue 7): clients past the limit are told why and closed, the
/// connected ones are served, and a freed slot is usable again.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct ConnectionLimitTests {
    @Test func connectionsOverTheLimitAreRefusedAndOthersServed() throws {
        let daemon = try DaemonHarness(
            journeyYAML: DaemonTests.journey,
            ingestYAML: """
                ingest:
                  max_connections: 3
                  batch_max_delay: 50ms
                """)
        try daemon.start()
        defer { _ = daemon.terminate() }
        // Least privilege: the Unix socket carries the configured mode (0600 here).
        var status = stat()
        #expect(stat(daemon.socketPath, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        let now = Date()
        // Three clients over both socket types fill the limit, each acknowledged. (The
        // daemon notices closed connections asynchronously, so the harness's readiness
        // probe may still hold a slot for a moment: retry until served.)
        func servedClient(_ i: Int, _ connect: @escaping () throws -> LineClient) throws -> LineClient? {
            for _ in 0..<50 {
                let client = try connect()
                try? client.send(DaemonTests.line("first-\(i)", customer: "c\(i)", event: "visit", at: now))
                if (try? client.ack()) == 1 { return client }
                Thread.sleep(forTimeInterval: 0.1)
            }
            return nil
        }
        var connected: [LineClient] = []
        let connectors: [() throws -> LineClient] = [
            { try LineClient(tcpPort: daemon.tcpPort) }, { try LineClient(unixPath: daemon.socketPath) },
            { try LineClient(tcpPort: daemon.tcpPort) },
        ]
        for (i, connect) in connectors.enumerated() {
            connected.append(try #require(try servedClient(i, connect)))
        }
        // A fourth is told why and closed, over either socket type.
        for refused in [try LineClient(tcpPort: daemon.tcpPort), try LineClient(unixPath: daemon.socketPath)] {
            let reply = try refused.readLine()
            #expect(reply.contains("too many connections") && reply.contains("max_connections is 3"), "reply: \(reply)")
            #expect(throws: LineClient.Failure.self) { _ = try refused.readLine() }
        }
        // The connected clients are still served.
        for (i, client) in connected.enumerated() {
            try client.send(DaemonTests.line("second-\(i)", customer: "c\(i)", event: "visit", at: now))
            #expect(try client.ack() == 2)
        }
        // Closing one frees its slot (the daemon notices the close asynchronously).
        connected.removeFirst()
        var served = false
        for _ in 0..<50 where !served {
            let client = try LineClient(tcpPort: daemon.tcpPort)
            try? client.send(DaemonTests.line("late", customer: "c-late", event: "visit", at: now))
            served = (try? client.ack()) == 1
            if !served { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(served)
        let stored = try daemon.query("SELECT count(*) FROM cjm.events")
        #expect(stored.string(row: 0, column: 0) == "7")
        #expect(daemon.log().contains("too many connections"))
    }
}
