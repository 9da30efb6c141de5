import Foundation
import PostgresClient
import Testing

/// `cjmd run` with an `http` source: SDK requests over real HTTP (curl), real PostgreSQL.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct HTTPSourceTests {
    static let journey = """
        journeys:
          - name: shop
            conversion_window: 1d
            stages:
              - name: visit
                events: ["page:Pricing", "$pageview"]
              - name: cart
                events: [add_to_cart]
              - name: buy
                events: [checkout]
        """
    static let key = "wk_test_1"

    /// A daemon with an http source on a free port; `maxBodyBytes` as written in YAML.
    static func daemon(
        maxBodyBytes: String = "64KiB", ingestYAML: String = "", metricsPort: Int? = nil
    ) throws -> (DaemonHarness, String) {
        let port = freeTCPPort()
        let daemon = try DaemonHarness(
            journeyYAML: journey, ingestYAML: ingestYAML,
            extraSourcesYAML: """
                  - type: http
                    name: sdk
                    listen: "127.0.0.1:\(port)"
                    write_keys: [\(key), phc_test]
                    max_body_bytes: \(maxBodyBytes)
                """, metricsPort: metricsPort)
        try daemon.start()
        let base = "http://127.0.0.1:\(port)"
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let answer = try? HTTPPost.send(base + "/v1/batch", body: Data("{}".utf8)), answer.status != 0 {
                return (daemon, base)
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Issue.record("the http source did not start listening: \(daemon.log())")
        throw CancellationError()
    }

    static func time(_ offset: TimeInterval) -> String {
        ISO8601DateFormatter.string(
            from: Date().addingTimeInterval(offset), timeZone: TimeZone(identifier: "UTC")!,
            formatOptions: [.withInternetDateTime, .withFractionalSeconds])
    }

    /// A Segment batch of track, page and identify calls for `customers` customers.
    static func segmentBatch(customers: Range<Int>, tag: String) -> (body: Data, events: Int) {
        var messages: [String] = []
        for c in customers {
            let base = -300.0 + Double(c % 50)
            messages.append(
                #"{"type": "identify", "userId": "u\#(c)", "traits": {"persona": "p\#(c % 3)"}, "messageId": "\#(tag)-i\#(c)", "timestamp": "\#(time(base))"}"#
            )
            messages.append(
                #"{"type": "page", "name": "Pricing", "userId": "u\#(c)", "messageId": "\#(tag)-p\#(c)", "timestamp": "\#(time(base + 1))", "context": {"channel": "web"}}"#
            )
            messages.append(
                #"{"type": "track", "event": "add_to_cart", "userId": "u\#(c)", "messageId": "\#(tag)-t\#(c)", "timestamp": "\#(time(base + 2))", "properties": {"sku": "S\#(c)", "touchpoint": "app"}}"#
            )
        }
        let body = #"{"batch": [\#(messages.joined(separator: ","))], "sentAt": "\#(time(0))"}"#
        return (Data(body.utf8), messages.count)
    }

    static func count(_ daemon: DaemonHarness, _ sql: String) throws -> Int {
        Int(try daemon.query(sql).string(row: 0, column: 0) ?? "") ?? -1
    }

    @Test func segmentBatchesAreStoredOnceWithTheirFieldsAndCounted() throws {
        let (daemon, base) = try Self.daemon()
        defer { _ = daemon.terminate() }
        let plain = Self.segmentBatch(customers: 0..<20, tag: "a")
        let first = try HTTPPost.send(base + "/v1/batch", body: plain.body, user: Self.key)
        #expect(first.status == 200)
        #expect(first.body == #"{"success": true}"#)
        // The 200 comes after the commit: the rows are there when it arrives.
        #expect(try Self.count(daemon, "SELECT count(*) FROM cjm.events WHERE source = 'sdk'") == plain.events)

        // gzip, the key in the body, as rudder-sdk-python sends.
        let zipped = Self.segmentBatch(customers: 20..<40, tag: "b")
        var withKey = String(decoding: zipped.body, as: UTF8.self)
        withKey.removeLast()
        withKey += #", "writeKey": "\#(Self.key)"}"#
        let second = try HTTPPost.send(base + "/v1/batch", body: Data(withKey.utf8), gzip: true)
        #expect(second.status == 200)

        // A retry of the first batch changes nothing and still gets its 200.
        let retry = try HTTPPost.send(base + "/v1/batch", body: plain.body, user: Self.key)
        #expect(retry.status == 200)
        #expect(try Self.count(daemon, "SELECT count(*) FROM cjm.events") == plain.events + zipped.events)
        #expect(
            try Self.count(daemon, "SELECT count(DISTINCT event_id) FROM cjm.events") == plain.events + zipped.events)

        let row = try daemon.query(
            """
            SELECT customer_id, event, touchpoint, properties->>'sku' FROM cjm.events WHERE event_id = 'a-t7'
            """)
        #expect(row.string(row: 0, column: 0) == "u7")
        #expect(row.string(row: 0, column: 1) == "add_to_cart")
        #expect(row.string(row: 0, column: 2) == "app")
        #expect(row.string(row: 0, column: 3) == "S7")
        #expect(
            try Self.count(
                daemon, "SELECT count(*) FROM cjm.events WHERE event = 'page:Pricing' AND touchpoint = 'web'") == 40)
        #expect(try Self.count(daemon, "SELECT count(*) FROM cjm.events WHERE event = 'identify'") == 40)

        // context and traits are kept, queryable; identify traits are merged per customer.
        #expect(
            try Self.count(daemon, "SELECT count(*) FROM cjm.events WHERE context->>'channel' = 'web'") == 40)
        #expect(try Self.count(daemon, "SELECT count(*) FROM cjm.events WHERE traits->>'persona' IS NOT NULL") == 40)
        #expect(
            try daemon.query(
                "SELECT value #>> '{}' FROM cjm.customer_traits WHERE customer_id = 'u7' AND trait = 'persona'"
            )
            .string(row: 0, column: 0) == "p1")

        // The funnel counts them once the watermark passes (lateness 5 s by default).
        let deadline = Date().addingTimeInterval(30)
        var reached = -1
        while Date() < deadline {
            reached = try Self.count(
                daemon, "SELECT reached FROM cjm.funnel WHERE journey = 'shop' AND stage_index = 1")
            if reached == 40 { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(reached == 40)
        #expect(daemon.terminate() == 0)
    }

    @Test func postHogBatchesAndSingleCallsAnswerInTheirOwnWords() throws {
        let (daemon, base) = try Self.daemon()
        defer { _ = daemon.terminate() }
        let batch = """
            {"api_key": "phc_test", "batch": [
              {"event": "$pageview", "distinct_id": "d1", "uuid": "0190c7c2-6f6a-7000-8000-0000000000a1",
               "timestamp": "\(Self.time(-60))", "properties": {"$lib": "posthog-python"}},
              {"event": "checkout", "distinct_id": "d1", "uuid": "0190c7c2-6f6a-7000-8000-0000000000a2",
               "timestamp": "\(Self.time(-59))", "properties": {"revenue": 19.99}}
            ], "sent_at": "\(Self.time(0))"}
            """
        let answer = try HTTPPost.send(base + "/batch/", body: Data(batch.utf8), gzip: true)
        #expect(answer.status == 200)
        #expect(answer.body == #"{"status": 1}"#)
        let single =
            #"{"api_key": "phc_test", "event": "add_to_cart", "distinct_id": "d2", "timestamp": "\#(Self.time(-5))"}"#
        #expect(try HTTPPost.send(base + "/i/v0/e/", body: Data(single.utf8)).status == 200)
        let track = #"{"event": "add_to_cart", "userId": "u1", "timestamp": "\#(Self.time(-5))"}"#
        #expect(
            try HTTPPost.send(base + "/v1/track", body: Data(track.utf8), user: Self.key).body == #"{"success": true}"#)
        #expect(try Self.count(daemon, "SELECT count(*) FROM cjm.events") == 4)
        #expect(
            try daemon.query(
                "SELECT revenue::text FROM cjm.events WHERE event_id = '0190c7c2-6f6a-7000-8000-0000000000a2'"
            )
            .string(row: 0, column: 0) == "19.990000")
    }

    /// Wrong or missing keys, bodies too large, garbage: the right status, nothing stored,
    /// and the daemon goes on serving.
    @Test func badRequestsGetTheirStatusAndStoreNothing() throws {
        let (daemon, base) = try Self.daemon(maxBodyBytes: "4KiB")
        defer { _ = daemon.terminate() }
        let small = Self.segmentBatch(customers: 0..<2, tag: "s")
        let wrongKey = try HTTPPost.send(base + "/v1/batch", body: small.body, user: "nope")
        #expect(wrongKey.status == 401)
        #expect(wrongKey.body.contains(#""code": "unauthorized""#))
        #expect(try HTTPPost.send(base + "/v1/batch", body: small.body).status == 401)
        #expect(
            try HTTPPost.send(base + "/batch/", body: Data(#"{"api_key": "x", "batch": [{"event": "e"}]}"#.utf8)).status
                == 401)

        let large = Self.segmentBatch(customers: 0..<40, tag: "l")
        #expect(large.body.count > 4096)
        #expect(try HTTPPost.send(base + "/v1/batch", body: large.body, user: Self.key).status == 413)
        // Small compressed, large once decompressed: a gzip bomb in miniature.
        let bomb =
            Data(#"{"batch": [{"event": ""#.utf8) + Data(repeating: UInt8(ascii: "a"), count: 1 << 20)
            + Data(#""}]}"#.utf8)
        #expect(try HTTPPost.send(base + "/v1/batch", body: bomb, gzip: true, user: Self.key).status == 413)

        for garbage in ["not json", "{\"batch\": []}", "{\"batch\": [", "[1,2]", String(repeating: "[", count: 500)] {
            let answer = try HTTPPost.send(base + "/v1/batch", body: Data(garbage.utf8), user: Self.key)
            #expect(answer.status == 400, "\(garbage.prefix(20)): \(answer.status) \(answer.body)")
            #expect(answer.body.contains(#""code": "invalid_body""#) && answer.body.contains(#""message": "#))
        }
        // A truncated gzip stream.
        let truncated = try HTTPPost.compress(small.body).prefix(30)
        let cut = try HTTPPost.send(
            base + "/v1/batch", body: Data(truncated), headers: ["Content-Encoding: gzip"], user: Self.key)
        #expect(cut.status == 400)
        #expect(try HTTPPost.send(base + "/v2/nothing", body: small.body, user: Self.key).status == 404)
        #expect(try Self.count(daemon, "SELECT count(*) FROM cjm.events") == 0)

        // A bad event inside a good batch is dead-lettered; the batch gets its 200.
        let mixed = """
            {"batch": [{"type": "track", "event": "add_to_cart", "userId": "ok", "timestamp": "\(Self.time(-10))"},
                       {"type": "track", "userId": "no-event", "timestamp": "\(Self.time(-10))"}]}
            """
        #expect(try HTTPPost.send(base + "/v1/batch", body: Data(mixed.utf8), user: Self.key).status == 200)
        #expect(try Self.count(daemon, "SELECT count(*) FROM cjm.events") == 1)
        #expect(
            try Self.count(
                daemon, "SELECT count(*) FROM cjm.rejected_events WHERE source = 'sdk' AND reason = 'missing_field'")
                == 1)
        #expect(daemon.terminate() == 0)
    }

    /// Traits merge by event time, per trait: an older identify that arrives later changes
    /// nothing it set before, and a trait only it carries is still taken; RudderStack's
    /// `context.traits` count as traits.
    @Test func identifyTraitsMergeNewestByEventTime() throws {
        let (daemon, base) = try Self.daemon()
        defer { _ = daemon.terminate() }
        func identify(_ id: String, _ at: Double, _ traits: String, rudder: Bool = false) throws -> Int {
            let message =
                rudder
                ? #"{"type": "identify", "userId": "x", "messageId": "\#(id)", "timestamp": "\#(Self.time(at))", "context": {"traits": \#(traits)}, "channel": "server"}"#
                : #"{"type": "identify", "userId": "x", "messageId": "\#(id)", "timestamp": "\#(Self.time(at))", "traits": \#(traits)}"#
            return try HTTPPost.send(base + "/v1/batch", body: Data(#"{"batch": [\#(message)]}"#.utf8), user: Self.key)
                .status
        }
        #expect(try identify("n1", -10, #"{"plan": "pro", "persona": "new"}"#) == 200)
        #expect(try identify("n0", -20, #"{"plan": "free", "persona": "old", "region": "eu"}"#) == 200)
        #expect(try identify("n2", -5, #"{"persona": "rudder"}"#, rudder: true) == 200)
        let rows = try daemon.query(
            "SELECT trait, value #>> '{}' FROM cjm.customer_traits WHERE customer_id = 'x' ORDER BY trait")
        let traits = (0..<rows.rowCount).map {
            "\(rows.string(row: $0, column: 0) ?? "")=\(rows.string(row: $0, column: 1) ?? "")"
        }
        #expect(traits == ["persona=rudder", "plan=pro", "region=eu"])
    }

    /// SIGHUP changes an http source like the others: a new port and key take effect, the
    /// old port is closed, and a removed source stops listening.
    @Test func reloadMovesAndRemovesHTTPSources() throws {
        let (daemon, base) = try Self.daemon()
        defer { _ = daemon.terminate() }
        let oldPort = String(base.split(separator: ":").last!)
        let newPort = freeTCPPort()
        let original = try String(contentsOfFile: daemon.configPath, encoding: .utf8)
        let moved = original.replacingOccurrences(of: "127.0.0.1:\(oldPort)", with: "127.0.0.1:\(newPort)")
            .replacingOccurrences(of: "write_keys: [\(Self.key), phc_test]", with: "write_keys: [rotated]")
        #expect(moved != original)
        try moved.write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
        kill(daemon.process!.processIdentifier, SIGHUP)
        let body = Data(
            #"{"batch": [{"type": "track", "event": "add_to_cart", "userId": "r", "timestamp": "\#(Self.time(-1))"}]}"#
                .utf8)
        var answer = HTTPPost.Answer(status: 0, body: "", headers: "")
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            answer = try HTTPPost.send("http://127.0.0.1:\(newPort)/v1/batch", body: body, user: "rotated")
            if answer.status == 200 { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(answer.status == 200)
        #expect(try HTTPPost.send(base + "/v1/batch", body: body, user: Self.key).status == 0, "the old port is closed")
        #expect(try HTTPPost.send("http://127.0.0.1:\(newPort)/v1/batch", body: body, user: Self.key).status == 401)

        // Without the source, nothing listens there any more.
        var removed = ""
        var skipping = false
        for line in moved.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  - type: http") {
                skipping = true
                continue
            }
            if skipping, line.hasPrefix("    ") { continue }
            skipping = false
            removed += line + "\n"
        }
        #expect(!removed.contains("type: http"))
        try removed.write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
        kill(daemon.process!.processIdentifier, SIGHUP)
        let closing = Date().addingTimeInterval(20)
        while Date() < closing,
            try HTTPPost.send("http://127.0.0.1:\(newPort)/v1/batch", body: body, user: "rotated").status != 0
        {
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(try HTTPPost.send("http://127.0.0.1:\(newPort)/v1/batch", body: body, user: "rotated").status == 0)
        #expect(try Self.count(daemon, "SELECT count(*) FROM cjm.events") == 1)
        #expect(daemon.terminate() == 0)
    }

    /// A client that trickles its body is closed once the request has taken `idle_timeout`,
    /// though it never stays silent that long; nothing of it is stored. `Expect:
    /// 100-continue` is answered before the body.
    @Test func slowRequestsAreClosedAndExpectContinueIsAnswered() throws {
        let (daemon, base) = try Self.daemon(ingestYAML: "ingest:\n  idle_timeout: 2s")
        defer { _ = daemon.terminate() }
        let port = Int(base.split(separator: ":").last!)!
        let client = try LineClient(tcpPort: port)
        try client.send(
            "POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"batch\": ["
        )
        var closed = false
        for _ in 0..<16 {  // 8 s of one byte every half second
            Thread.sleep(forTimeInterval: 0.5)
            if (try? client.send(" ")) == nil || !client.nothingToRead() {
                closed = true
                break
            }
        }
        #expect(closed, "a request trickled for 8 s was not closed by a 2 s idle_timeout")
        #expect(try Self.count(daemon, "SELECT count(*) FROM cjm.events") == 0)

        let body = Data(
            #"{"batch": [{"type": "track", "event": "add_to_cart", "userId": "e", "timestamp": "\#(Self.time(-1))"}]}"#
                .utf8)
        let answer = try HTTPPost.send(base + "/v1/batch", body: body, user: Self.key, expectContinue: true)
        #expect(answer.status == 200)
        #expect(answer.headers.contains("100 Continue"))
        #expect(daemon.terminate() == 0)
    }
}
