import Foundation
import PostgresClient
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The webhook of docs/alerts.md through the real binary: `cjmd replay` of simulated days with a drop-off
/// spike POSTs to a real Prometheus Alertmanager started on loopback. After the part of the
/// file that ends inside the spike the alert is active there; after the rest it is resolved.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct AlertWebhookReplayTests {
    static let binary = "/usr/bin/prometheus-alertmanager"

    @Test func replayedSpikeIsActiveInAlertmanagerThenResolved() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            if ProcessInfo.processInfo.environment["CJM_SKIP_ALERTMANAGER"] == "1" { return }
            Issue.record("\(Self.binary) is missing: apt-get install prometheus-alertmanager (scripts/test.sh does)")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cjmd-am-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = freeTCPPort()
        let amConfig = directory.appendingPathComponent("alertmanager.yml").path
        try "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n".write(
            toFile: amConfig, atomically: true, encoding: .utf8)
        let pidFile = directory.appendingPathComponent("am.pid").path
        // A shell starts it in the background (no Foundation.Process for a long-lived child).
        _ = system(
            """
            \(Self.binary) --config.file='\(amConfig)' --storage.path='\(directory.path)/data' \
            --web.listen-address=127.0.0.1:\(port) --cluster.listen-address= \
            > '\(directory.path)/am.log' 2>&1 & echo $! > '\(pidFile)'
            """)
        defer {
            if let pid = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap({
                Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
            }) {
                kill(pid, SIGTERM)
            }
        }
        let base = "http://127.0.0.1:\(port)"
        let ready = Self.poll(timeout: 30) { Self.get("\(base)/-/ready") != nil }
        try #require(
            ready,
            "Alertmanager did not become ready: \((try? String(contentsOfFile: "\(directory.path)/am.log", encoding: .utf8)) ?? "")"
        )

        let harness = try DaemonHarness(
            journeyYAML: Self.journeyYAML + """

                alerts:
                  window: 1h
                  baseline: 24h
                  min_decided: 50
                  z: 5
                  min_delta: 0.15
                  webhook: \(base)/api/v2/alerts
                """)
        let all = directory.appendingPathComponent("all.ndjson").path
        let simulated = try CommandRunner.run([
            "simulate", "--config", harness.configPath, "--customers", "30000", "--seed", "6",
            "--start", "2026-03-02T00:00:00Z", "--duration", "7d",
            "--spike", "purchase:consideration:2026-03-07T10:00:00Z:6h:0.05", "--output", all,
        ])
        try #require(simulated.status == 0, "\(simulated.stderr)")
        // The first part ends inside the spike (before 14:00 on day 6); the whole file later
        // stops 3 hours before the simulated arrivals end (a real change of traffic).
        let firstPart = directory.appendingPathComponent("part1.ndjson").path
        let wholePart = directory.appendingPathComponent("whole.ndjson").path
        try Self.writeLines(from: all, before: "2026-03-07T14:00:00Z", to: firstPart)
        try Self.writeLines(from: all, before: "2026-03-08T21:00:00Z", to: wholePart)

        let first = try CommandRunner.run(["replay", "--config", harness.configPath, firstPart])
        try #require(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("alerts: 1 fired, 0 resolved"), "\(first.stdout)")
        let active = try Self.alerts(base)
        #expect(active.count == 1, "\(active)")
        #expect(active.first?.stage == "consideration" && active.first?.state == "active", "\(active)")

        let second = try CommandRunner.run(["replay", "--config", harness.configPath, wholePart])
        try #require(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("alerts: 0 fired, 1 resolved"), "\(second.stdout)")
        // A resolved alert (endsAt in the past) leaves Alertmanager's list of active alerts.
        let gone = Self.poll(timeout: 10) { ((try? Self.alerts(base)) ?? [("?", "?")]).isEmpty }
        #expect(gone, "still listed: \((try? Self.alerts(base)) ?? [])")
        let rows = try harness.query("SELECT stage, resolved_at IS NOT NULL FROM cjm.alerts")
        #expect(
            rows.rowCount == 1 && rows.string(row: 0, column: 0) == "consideration"
                && rows.string(row: 0, column: 1) == "t")
    }

    static let journeyYAML = """
        journeys:
          - name: purchase
            conversion_window: 7d
            stages:
              - { name: awareness, events: [ad_impression, "landing_*"], abandon_after: 2h }
              - { name: consideration, events: [product_view, compare], abandon_after: 1h }
              - { name: purchase, events: [payment_done], abandon_after: 1h }
              - { name: loyalty, events: [repeat_purchase] }
            critical:
              events: [payment_failed]
        """

    /// (stage, state) of every alert Alertmanager lists as active, silenced, inhibited or unprocessed.
    static func alerts(_ base: String) throws -> [(stage: String, state: String)] {
        guard let data = get("\(base)/api/v2/alerts") else { throw URLError(.cannotConnectToHost) }
        let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        return list.map {
            (
                ($0["labels"] as? [String: Any])?["stage"] as? String ?? "",
                ($0["status"] as? [String: Any])?["state"] as? String ?? ""
            )
        }
    }

    /// Copies the lines whose event time is before `limit` (RFC 3339 in UTC, compared as text
    /// or as epoch milliseconds); lines without a readable time are kept.
    static func writeLines(from source: String, before limit: String, to destination: String) throws {
        let limitMilliseconds = (ISO8601DateFormatter().date(from: limit)?.timeIntervalSince1970 ?? 0) * 1000
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        var kept = ""
        for line in try String(contentsOfFile: source, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        {
            guard !line.isEmpty else { continue }
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let time = object?["ts"] ?? object?["timestamp"]
            var milliseconds: Double? = nil
            if let text = time as? String {
                milliseconds = (parser.date(from: text) ?? plain.date(from: text)).map {
                    $0.timeIntervalSince1970 * 1000
                }
            } else if let number = time as? NSNumber {
                milliseconds = number.doubleValue
            }
            if let milliseconds, milliseconds >= limitMilliseconds { continue }
            kept += line + "\n"
        }
        try kept.write(toFile: destination, atomically: true, encoding: .utf8)
    }

    /// GET, waiting for the answer (nil unless the status is 2xx).
    static func get(_ url: String) -> Data? {
        let done = DispatchSemaphore(value: 0)
        let box = ResponseBox()
        URLSession.shared.dataTask(with: URL(string: url)!) { data, response, _ in
            if let status = (response as? HTTPURLResponse)?.statusCode, (200..<300).contains(status) { box.data = data }
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 10)
        return box.data
    }

    final class ResponseBox: @unchecked Sendable {
        var data: Data?
    }

    static func poll(timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }
}
