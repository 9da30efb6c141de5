import Foundation
import PostgresClient
import Testing

/// The live map on the running daemon's metrics listener: `/map`, `/map/<journey>` and its
/// `.json`, rendered from the database while the daemon ingests.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct LiveMapTests {
    /// One plain HTTP/1.0 exchange: status, headers (lower-cased names), body.
    static func get(port: Int, _ path: String, method: String = "GET") throws -> (
        status: Int, headers: [String: String], body: String
    ) {
        let client = try LineClient(tcpPort: port)
        try client.send("\(method) \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        let text = try client.readToEnd()
        let parts = text.components(separatedBy: "\r\n\r\n")
        let head = parts.first?.components(separatedBy: "\r\n") ?? []
        let status = Int(head.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        return (status, headers, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    @Test func theMapIsServedLiveFromTheDatabase() throws {
        let metricsPort = freeTCPPort()
        let daemon = try DaemonHarness(
            journeyYAML: DaemonTests.journey + "\npersonas:\n  from: [traits.persona, properties.persona]\n",
            metricsPort: metricsPort)
        try daemon.start()
        defer { _ = daemon.terminate() }
        let client = try LineClient(unixPath: daemon.socketPath)
        let start = Date().addingTimeInterval(-3600)
        var lines = ""
        for customer in 0..<40 {
            // Half say who they are in an identify call first, half on the visit itself.
            var visit = DaemonTests.line("v\(customer)", customer: "c\(customer)", event: "visit", at: start)
            if customer % 2 == 0 {
                var identify = DaemonTests.line(
                    "i\(customer)", customer: "c\(customer)", event: "identify", at: start - 1)
                identify.removeLast(2)
                lines += identify + #","traits":{"persona":"students"}}"# + "\n"
            } else {
                visit.removeLast(2)
                visit += #","properties":{"persona":"pros"}}"# + "\n"
            }
            lines += visit
            if customer % 4 == 0 {
                lines += DaemonTests.line("b\(customer)", customer: "c\(customer)", event: "buy", at: start + 60)
            }
        }
        // A value at a persona path that is no persona: accepted, ignored, counted.
        var odd = DaemonTests.line("odd", customer: "c99", event: "identify", at: start)
        odd.removeLast(2)
        lines += odd + #","traits":{"persona":42}}"# + "\n"
        try client.send(lines)
        #expect(try client.ack() == 71)

        // Visible once the watermark passes the events (allowed lateness) and derived rows are written.
        var map = try Self.get(port: metricsPort, "/map/shop.json")
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, !map.body.contains(#""reached":40"#) {
            Thread.sleep(forTimeInterval: 0.3)
            map = try Self.get(port: metricsPort, "/map/shop.json")
        }
        #expect(map.status == 200)
        #expect(map.headers["content-type"] == "application/json")
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(map.body.utf8)) as? [String: Any])
        let stages = try #require(document["stages"] as? [[String: Any]])
        let funnel = try daemon.query("SELECT reached FROM cjm.funnel WHERE journey = 'shop' ORDER BY stage_index")
        #expect(
            stages.map { ($0["reached"] as? Int) ?? -1 }
                == (0..<funnel.rowCount).map {
                    Int(funnel.string(row: $0, column: 0) ?? "") ?? -2
                })
        #expect(stages.map { $0["name"] as? String } == ["visit", "buy"])

        let page = try Self.get(port: metricsPort, "/map/shop")
        #expect(page.status == 200)
        #expect(page.headers["content-type"] == "text/html; charset=utf-8")
        #expect(page.headers["content-security-policy"]?.contains("default-src 'none'") == true)
        #expect(page.body.contains("<meta http-equiv=\"refresh\" content=\"30\"/>"))
        #expect(page.body.contains(">visit</text>") && page.body.contains(">buy</text>"))

        let index = try Self.get(port: metricsPort, "/map")
        #expect(index.status == 200)
        #expect(index.body.contains("<a href=\"/map/shop\">shop</a>"))

        #expect(try Self.get(port: metricsPort, "/map/nope").status == 404)
        // Per persona: the same picture over that persona's instances, and links between them.
        let students = try Self.get(port: metricsPort, "/map/shop.json?persona=students")
        #expect(students.status == 200)
        let studentMap = try #require(
            try JSONSerialization.jsonObject(with: Data(students.body.utf8)) as? [String: Any])
        #expect(studentMap["persona"] as? String == "students")
        let studentStages = try #require(studentMap["stages"] as? [[String: Any]])
        #expect(studentStages.map { ($0["reached"] as? Int) ?? -1 } == [20, 10])
        let pros = try Self.get(port: metricsPort, "/map/shop?persona=pros")
        #expect(pros.status == 200 && pros.body.contains("Customers: persona pros"))
        #expect(page.body.contains("href=\"/map/shop?persona=students\""))
        #expect(page.body.contains("href=\"/map/shop?persona=pros\""))
        #expect(try Self.get(port: metricsPort, "/map/shop?persona=nobody").status == 404)
        let metrics = try Self.get(port: metricsPort, "/metrics").body
        let ignored = metrics.split(separator: "\n").filter { $0.hasPrefix("cjmd_persona_values_ignored_total{") }
        #expect(ignored.contains("cjmd_persona_values_ignored_total{source=\"unix-test\"} 1"), "\(ignored)")
        let post = try Self.get(port: metricsPort, "/map/shop", method: "POST")
        #expect(post.status == 405 && post.headers["allow"] == "GET")
        // The pages read through a read-only session of their own.
        let sessions = try daemon.query(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cjmd map'")
        #expect(sessions.string(row: 0, column: 0) == "1")
        #expect(daemon.terminate() == 0)
    }
}
