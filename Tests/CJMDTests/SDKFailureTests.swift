import Foundation
import PostgresClient
import Testing

/// The real SDKs (segment-analytics-python, rudder-sdk-python with gzip, posthog) when cjmd
/// refuses: a body past `max_body_bytes` is answered 413 once per batch and not sent again;
/// while the database is away the answer is 503 with `Retry-After`, the SDKs retry, and once
/// it is back every call is stored exactly once. What cjmd answered is read from its own
/// `cjmd_http_responses_total` counter.
@Suite(
    .serialized,
    .enabled(
        if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil
            && ProcessInfo.processInfo.environment["CJM_SDK_PYTHON"] != nil,
        "needs CJM_SDK_PYTHON (scripts/sdk-clients.sh) and the test database"))
struct SDKFailureTests {
    static let sdks = ["segment", "rudder", "posthog"]

    static func key(_ sdk: String) -> String { sdk == "posthog" ? "phc_test" : HTTPSourceTests.key }

    /// The number of requests source `sdk` answered with `status`, from the metrics page.
    static func answered(_ status: Int, metricsPort: Int) throws -> Int {
        let prefix = #"cjmd_http_responses_total{source="sdk",status="\#(status)"} "#
        let page = try DaemonMetricsTests.scrape(port: metricsPort)
        guard let line = page.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return 0 }
        return Int(Double(line.dropFirst(prefix.count)) ?? -1)
    }

    @Test func aBodyPastTheLimitIsAnswered413OnceAndNotSentAgain() throws {
        let metricsPort = freeTCPPort()
        let (daemon, base) = try HTTPSourceTests.daemon(maxBodyBytes: "1KiB", metricsPort: metricsPort)
        defer { _ = daemon.terminate() }
        var attempts = 0
        for sdk in Self.sdks {
            // Every call carries 2 KB that gzip cannot shrink: no batch fits in 1 KiB.
            let output = try SDKSender(
                sdk: sdk, base: base, key: Self.key(sdk), customers: 20, tag: "big-\(sdk)", mode: "big"
            ).wait()
            #expect(output.status == 0)
            #expect(!output.calls.isEmpty)
            #expect(Set(output.failed) == Set(output.calls.map(\.id)), "\(sdk): every call is reported failed")
            #expect(!output.attempts.isEmpty)
            #expect(
                output.attempts.count == Set(output.attempts).count,
                "\(sdk) sent a refused batch again: \(output.attempts.count) requests for \(Set(output.attempts).count) batches"
            )
            attempts += output.attempts.count
        }
        #expect(try Self.answered(413, metricsPort: metricsPort) == attempts)
        #expect(try Self.answered(200, metricsPort: metricsPort) == 0)
        #expect(try HTTPSourceTests.count(daemon, "SELECT count(*) FROM cjm.events") == 0)
        #expect(daemon.terminate() == 0)
    }

    @Test func aDatabaseOutageIsAnswered503AndTheSDKsRetryUntilEveryCallIsStoredOnce() throws {
        let clusterDir = try #require(ProcessInfo.processInfo.environment["CJM_TEST_CLUSTER_DIR"])
        let metricsPort = freeTCPPort()
        let (daemon, base) = try HTTPSourceTests.daemon(maxBodyBytes: "8MiB", metricsPort: metricsPort)
        defer { _ = daemon.terminate() }
        let outage = try ClusterOutage(clusterDir: clusterDir)
        // Until the daemon learns of the outage (its next commit, at least once a second).
        let learned = Date().addingTimeInterval(30)
        while Date() < learned {
            let probe = try HTTPPost.send(
                base + "/v1/batch", body: HTTPSourceTests.segmentBatch(customers: 0..<1, tag: "probe").body,
                user: HTTPSourceTests.key)
            if probe.body.contains("database_unavailable") { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let refusedBefore = try Self.answered(503, metricsPort: metricsPort)
        #expect(refusedBefore >= 1)

        let senders = try Self.sdks.map { sdk in
            try SDKSender(
                sdk: sdk, base: base, key: Self.key(sdk), customers: 100, tag: "out-\(sdk)", mode: "patient")
        }
        // Let every SDK meet the outage before the database comes back.
        let met = Date().addingTimeInterval(20)
        while try Self.answered(503, metricsPort: metricsPort) < refusedBefore + 3, Date() < met {
            Thread.sleep(forTimeInterval: 0.2)
        }
        Thread.sleep(forTimeInterval: 2)
        let refused = try Self.answered(503, metricsPort: metricsPort) - refusedBefore
        #expect(outage.end())

        var sent: [SDKClientTests.SentCall] = []
        var retried = 0
        for (sdk, sender) in zip(Self.sdks, senders) {
            let output = sender.wait()
            #expect(output.status == 0, "\(sdk) reported errors")
            #expect(output.failed.isEmpty, "\(sdk): \(output.failed.count) calls failed")
            retried += output.attempts.count - Set(output.attempts).count
            sent += output.calls
        }
        #expect(refused >= 3, "only \(refused) requests met the outage")
        #expect(retried >= 3, "the SDKs sent \(retried) batches again")
        let rows = try daemon.query("SELECT event_id, count(*) FROM cjm.events WHERE source = 'sdk' GROUP BY 1")
        var stored: [String: Int64] = [:]
        for row in 0..<rows.rowCount {
            stored[rows.string(row: row, column: 0) ?? ""] = try rows.int64(row: row, column: 1)
        }
        #expect(sent.count == 3 * 100 + 3 * 100 + 2 * 100)
        #expect(stored.values.allSatisfy { $0 == 1 }, "an event is stored twice")
        let missing = Set(sent.map(\.id)).subtracting(stored.keys)
        #expect(missing.isEmpty, "\(missing.count) calls are missing, e.g. \(missing.prefix(3))")
        #expect(Set(stored.keys).subtracting(sent.map(\.id)).subtracting(["probe-i0", "probe-p0", "probe-t0"]).isEmpty)
        #expect(daemon.terminate() == 0)
    }
}
