import Foundation
import PostgresClient
import Testing

/// The http source under `kill -9` and a database outage: a batch that got its `200` is
/// stored, a batch sent again (as the SDKs do after an error) is stored once.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct HTTPCrashTests {
    /// Batch `n` of a client: 50 track calls with ids `<client>-<n>-<i>`.
    static func batch(client: Int, number: Int) -> Data {
        var messages: [String] = []
        for i in 0..<50 {
            messages.append(
                #"{"type": "track", "event": "add_to_cart", "userId": "c\#(client)-\#(i % 7)", "messageId": "\#(client)-\#(number)-\#(i)", "timestamp": "\#(HTTPSourceTests.time(-Double(60 - i)))"}"#
            )
        }
        return Data(#"{"batch": [\#(messages.joined(separator: ","))]}"#.utf8)
    }

    /// Killed 20 times while four clients send, each retrying a batch until it gets its
    /// `200`: every answered batch is stored whole, and every event once.
    @Test func killedTwentyTimesWhileClientsPostEveryAnsweredBatchIsStoredOnce() throws {
        let (daemon, base) = try HTTPSourceTests.daemon(maxBodyBytes: "1MiB")
        defer { _ = daemon.terminate() }
        let clients = 4
        let batchesPerClient = 60
        let answered = LockedCounters(count: clients)
        let stop = LockedCounters(count: 1)
        let group = DispatchGroup()
        for client in 0..<clients {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                var number = 0
                // A retry sends the same body, as the SDKs do: the same ids and the same times.
                var body = Self.batch(client: client, number: number)
                while number < batchesPerClient, stop.value(0) == 0 {
                    if let answer = try? HTTPPost.send(base + "/v1/batch", body: body, user: HTTPSourceTests.key),
                        answer.status == 200
                    {
                        answered.set(client, answered.value(client) + 1)
                        number += 1
                        body = Self.batch(client: client, number: number)
                    } else {
                        Thread.sleep(forTimeInterval: 0.05)  // refused, reset, 503: send it again
                    }
                }
            }
        }
        for _ in 0..<20 {
            Thread.sleep(forTimeInterval: Double.random(in: 0.2...0.8))
            daemon.kill9()
            try daemon.start(waitForListening: true)
        }
        let finished = group.wait(timeout: .now() + 240)
        stop.set(0, 1)
        #expect(finished == .success, "the clients did not finish")
        let batches = answered.total
        #expect(batches == clients * batchesPerClient)
        #expect(try HTTPSourceTests.count(daemon, "SELECT count(*) FROM cjm.events") == batches * 50)
        #expect(try HTTPSourceTests.count(daemon, "SELECT count(DISTINCT event_id) FROM cjm.events") == batches * 50)
        #expect(try HTTPSourceTests.count(daemon, "SELECT count(*) FROM cjm.rejected_events") == 0)
        #expect(daemon.terminate() == 0)
    }

    /// While the database is away the answer is `503` with `Retry-After` and nothing is
    /// kept; once it is back, the batch sent again is stored once.
    @Test func aDatabaseOutageAnswers503AndTheRetryIsStoredOnce() throws {
        let clusterDir = try #require(ProcessInfo.processInfo.environment["CJM_TEST_CLUSTER_DIR"])
        let (daemon, base) = try HTTPSourceTests.daemon()
        defer { _ = daemon.terminate() }
        let body = Self.batch(client: 9, number: 0)
        let outage = try ClusterOutage(clusterDir: clusterDir)
        // The daemon learns of the outage at its next commit (at least once a second).
        var answer = try HTTPPost.send(base + "/v1/batch", body: body, user: HTTPSourceTests.key)
        #expect(answer.status == 503)
        #expect(answer.headers.lowercased().contains("retry-after:"))
        #expect(answer.body.contains(#""code": "#) && answer.body.contains(#""message": "#))
        answer = try HTTPPost.send(base + "/v1/batch", body: body, user: HTTPSourceTests.key)
        #expect(answer.status == 503)
        #expect(answer.body.contains("database_unavailable"))
        #expect(outage.end())
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            answer = try HTTPPost.send(base + "/v1/batch", body: body, user: HTTPSourceTests.key)
            if answer.status == 200 { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        #expect(answer.status == 200)
        #expect(try HTTPSourceTests.count(daemon, "SELECT count(*) FROM cjm.events") == 50)
        #expect(daemon.terminate() == 0)
    }
}
