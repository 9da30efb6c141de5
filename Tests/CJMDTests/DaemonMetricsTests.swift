import Foundation
import Testing

/// The gauges that describe clients and backpressure, read from the running binary's
/// `/metrics` (they stayed 0 until the soak noticed).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct DaemonMetricsTests {
    @Test func connectionsAndBackpressureGaugesFollowTheClients() throws {
        let metricsPort = freeTCPPort()
        let daemon = try DaemonHarness(journeyYAML: DaemonTests.journey, metricsPort: metricsPort)
        try daemon.start()
        defer { _ = daemon.terminate() }
        var tcpClients = try (0..<3).map { _ in try LineClient(tcpPort: daemon.tcpPort) }
        let unixClient = try LineClient(unixPath: daemon.socketPath)
        for client in tcpClients + [unixClient] { #expect(try client.ack() == 0) }
        let page = try Self.scrape(port: metricsPort)
        #expect(page.contains(#"cjmd_connections{source="tcp-test"} 3.0"#), "\(page)")
        #expect(page.contains(#"cjmd_connections{source="unix-test"} 1.0"#), "\(page)")
        #expect(page.contains("cjmd_backpressure 0.0"), "\(page)")

        // Closed connections leave the gauge (the daemon notices asynchronously).
        tcpClients.removeAll()
        var after = ""
        for _ in 0..<50 {
            after = try Self.scrape(port: metricsPort)
            if after.contains(#"cjmd_connections{source="tcp-test"} 0.0"#) { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        withExtendedLifetime(unixClient) {}
        #expect(after.contains(#"cjmd_connections{source="tcp-test"} 0.0"#), "\(after)")
        #expect(after.contains(#"cjmd_connections{source="unix-test"} 1.0"#), "\(after)")
    }

    /// After its first commit the daemon reports what schema cjm takes on disk: the sum of
    /// `cjm.storage`, which a test reads from the same database.
    @Test func databaseBytesGaugeReportsTheStorageView() throws {
        let metricsPort = freeTCPPort()
        let daemon = try DaemonHarness(journeyYAML: DaemonTests.journey, metricsPort: metricsPort)
        try daemon.start()
        defer { _ = daemon.terminate() }
        let client = try LineClient(unixPath: daemon.socketPath)
        for n in 0..<20 {
            try client.send(DaemonTests.line("storage-\(n)", customer: "c\(n % 4)", event: "visit", at: Date()))
        }
        #expect(try client.ack() == 20)
        var reported: Double? = nil
        for _ in 0..<50 {
            let page = try Self.scrape(port: metricsPort)
            reported = page.split(separator: "\n").first { $0.hasPrefix("cjmd_database_bytes ") }
                .flatMap { Double($0.split(separator: " ")[1]) }
            if let reported, reported > 0 { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let measured = try #require(
            try daemon.query("SELECT sum(total_bytes)::bigint FROM cjm.storage").int64(row: 0, column: 0))
        let gauge = try #require(reported)
        // Measured after the first commit; vacuum maps and later pages may have come since.
        #expect(gauge > 0 && gauge <= Double(measured) && gauge >= Double(measured) / 2, "\(gauge) vs \(measured)")
    }

    static func scrape(port: Int) throws -> String {
        let client = try LineClient(tcpPort: port)
        try client.send("GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        var lines: [String] = []
        while let line = try? client.readLine() { lines.append(line) }
        return lines.joined(separator: "\n")
    }
}
