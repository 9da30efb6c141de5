import EventDecoding
import JourneyCore
import Testing

/// SDK bodies (Segment, RudderStack, PostHog) become one line per message that the event
/// decoder reads with the names and mapping of docs/http.md.
struct SDKPayloadDecoderTests {
    /// Receipt time of every test: 2026-05-01T12:00:00Z.
    let received = testNow

    func events(_ body: String, route: SDKRoute, tolerance: TimeSpan = .minutes(5)) throws -> [DecodeResult] {
        let payload = try payload(body, route: route, tolerance: tolerance)
        return payload.lines.map { decodeBytes($0, now: received) }
    }

    func payload(_ body: String, route: SDKRoute, tolerance: TimeSpan = .minutes(5)) throws
        -> SDKPayloadDecoder.Payload
    {
        let bytes = Array(body.utf8)
        return try bytes.withUnsafeBytes { buffer in
            try SDKPayloadDecoder(clockSkewTolerance: tolerance).decode(buffer, route: route, receivedAt: received)
        }
    }

    @Test func routesFollowTheSDKsPaths() {
        #expect(SDKRoute(path: "/v1/batch") == .segmentBatch)
        #expect(SDKRoute(path: "/v1/import") == .segmentBatch)
        #expect(SDKRoute(path: "/v1/batch/") == .segmentBatch)
        #expect(SDKRoute(path: "/v1/track?x=1") == .segmentCall(.track))
        #expect(SDKRoute(path: "/v1/identify") == .segmentCall(.identify))
        #expect(SDKRoute(path: "/batch/") == .posthogBatch)
        #expect(SDKRoute(path: "/capture/") == .posthogCapture)
        #expect(SDKRoute(path: "/i/v0/e/") == .posthogCapture)
        #expect(SDKRoute(path: "/v1/unknown") == nil)
        #expect(SDKRoute(path: "/") == nil)
        #expect(SDKRoute.segmentBatch.successBody == #"{"success": true}"#)
        #expect(SDKRoute.posthogBatch.successBody == #"{"status": 1}"#)
    }

    @Test func aSegmentBatchMapsEachCallType() throws {
        let body = """
            {"batch": [
              {"type": "track", "event": "product_view", "userId": "u1", "messageId": "m1",
               "timestamp": "2026-05-01T11:59:00Z", "properties": {"sku": "A1", "revenue": 12.5},
               "context": {"channel": "web"}},
              {"type": "page", "name": "Pricing", "anonymousId": "a2", "messageId": "m2",
               "timestamp": "2026-05-01T11:59:01Z"},
              {"type": "page", "anonymousId": "a2", "messageId": "m3", "timestamp": "2026-05-01T11:59:02Z"},
              {"type": "screen", "name": "Home", "userId": "u1", "messageId": "m4", "timestamp": "2026-05-01T11:59:03Z"},
              {"type": "identify", "userId": "u1", "traits": {"persona": "pro"}, "messageId": "m5",
               "timestamp": "2026-05-01T11:59:04Z"},
              {"type": "group", "userId": "u1", "groupId": "g", "messageId": "m6", "timestamp": "2026-05-01T11:59:05Z"},
              {"type": "alias", "userId": "u1", "previousId": "a2", "messageId": "m7", "timestamp": "2026-05-01T11:59:06Z"}
            ], "sentAt": "2026-05-01T11:59:30Z", "writeKey": "wk"}
            """
        let payload = try payload(body, route: .segmentBatch)
        #expect(payload.key == "wk")
        let decoded = try events(body, route: .segmentBatch).map { $0.event }
        #expect(decoded.allSatisfy { $0 != nil })
        let events = decoded.compactMap { $0 }
        #expect(
            events.map(\.name) == ["product_view", "page:Pricing", "page", "screen:Home", "identify", "group", "alias"])
        #expect(events.map(\.customerID) == ["u1", "a2", "a2", "u1", "u1", "u1", "u1"])
        #expect(events.map(\.eventID) == ["m1", "m2", "m3", "m4", "m5", "m6", "m7"])
        #expect(events[0].time == RFC3339.parse("2026-05-01T11:59:00Z"))
        #expect(events[0].touchpoint == "web")
        #expect(events[0].revenue == DecimalText(json: "12.5"))
        #expect(events[0].propertiesJSON == #"{"sku": "A1", "revenue": 12.5}"#)
        #expect(events[1].touchpoint == "unknown")
    }

    @Test func singleCallsTakeTheirTypeFromThePath() throws {
        let page = #"{"name": "Docs", "userId": "u9", "timestamp": "2026-05-01T11:00:00Z", "writeKey": "k"}"#
        let events = try events(page, route: .segmentCall(.page)).compactMap(\.event)
        #expect(events.map(\.name) == ["page:Docs"])
        #expect(try payload(page, route: .segmentCall(.page)).key == "k")
        let identify = #"{"userId": "u9", "timestamp": "2026-05-01T11:00:00Z", "traits": {}}"#
        #expect(
            try self.events(identify, route: .segmentCall(.identify)).compactMap(\.event).map(\.name) == ["identify"])
    }

    /// `timestamp` first, else `originalTimestamp`; a clock within the tolerance is trusted.
    @Test func theTimeComesFromTimestampThenOriginalTimestamp() throws {
        let body = """
            {"batch": [
              {"type": "track", "event": "e", "userId": "u", "originalTimestamp": "2026-05-01T10:00:00Z"},
              {"type": "track", "event": "e", "userId": "u", "timestamp": null, "originalTimestamp": "2026-05-01T10:00:01Z"},
              {"type": "track", "event": "e", "userId": "u", "timestamp": "2026-05-01T10:00:02Z",
               "originalTimestamp": "2026-05-01T09:00:00Z"}
            ], "sentAt": "2026-05-01T11:58:00Z"}
            """
        let times = try events(body, route: .segmentBatch).compactMap(\.event).map(\.time)
        #expect(
            times
                == ["2026-05-01T10:00:00Z", "2026-05-01T10:00:01Z", "2026-05-01T10:00:02Z"].map { RFC3339.parse($0)! })
    }

    /// A client clock more than the tolerance off: `receivedAt − (sentAt − timestamp)`.
    @Test func aSkewedClockIsCorrectedPastTheTolerance() throws {
        // The client's clock is one hour behind: it sent at 11:00 by its clock, received at 12:00.
        let body = """
            {"batch": [{"type": "track", "event": "e", "userId": "u", "timestamp": "2026-05-01T10:59:30Z",
                        "messageId": "m"}],
             "sentAt": "2026-05-01T11:00:00Z"}
            """
        let corrected = try events(body, route: .segmentBatch).compactMap(\.event)
        #expect(corrected.map(\.time) == [RFC3339.parse("2026-05-01T11:59:30Z")!])
        // Within the tolerance nothing moves.
        let kept = try events(body, route: .segmentBatch, tolerance: .hours(2)).compactMap(\.event)
        #expect(kept.map(\.time) == [RFC3339.parse("2026-05-01T10:59:30Z")!])
        // A message's own sentAt wins over the batch's.
        let own = """
            {"batch": [{"type": "track", "event": "e", "userId": "u", "timestamp": "2026-05-01T10:59:30Z",
                        "sentAt": "2026-05-01T12:00:00Z"}],
             "sentAt": "2026-05-01T11:00:00Z"}
            """
        #expect(
            try events(own, route: .segmentBatch).compactMap(\.event).map(\.time) == [
                RFC3339.parse("2026-05-01T10:59:30Z")!
            ])
    }

    @Test func rudderStackMessagesUseTheirContextChannelNotTheirTransport() throws {
        let body = """
            {"batch": [{"type": "track", "event": "signup", "userId": "u", "channel": "server",
                        "context": {"channel": "app", "traits": {"persona": "a"}}, "timestamp": "2026-05-01T11:00:00Z"},
                       {"type": "track", "event": "signup", "userId": "u", "channel": "server",
                        "properties": {"touchpoint": "email"}, "timestamp": "2026-05-01T11:00:01Z"},
                       {"type": "track", "event": "signup", "userId": "u", "channel": "server",
                        "timestamp": "2026-05-01T11:00:02Z"}]}
            """
        let events = try events(body, route: .segmentBatch).compactMap(\.event)
        #expect(events.map(\.touchpoint) == ["app", "email", "server"])
    }

    @Test func postHogEventsMapDistinctIDAndUUID() throws {
        let body = """
            {"api_key": "phc_1", "batch": [
              {"event": "$pageview", "distinct_id": "d1", "uuid": "0190c7c2-6f6a-7000-8000-000000000001",
               "timestamp": "2026-05-01T11:00:00+00:00", "properties": {"$current_url": "https://x/", "touchpoint": "web"}},
              {"event": "checkout", "distinct_id": "d2", "timestamp": "2026-05-01T11:00:01Z", "properties": {}}
            ], "sent_at": "2026-05-01T11:59:59Z"}
            """
        #expect(try payload(body, route: .posthogBatch).key == "phc_1")
        let events = try events(body, route: .posthogBatch).compactMap(\.event)
        #expect(events.map(\.name) == ["$pageview", "checkout"])
        #expect(events.map(\.customerID) == ["d1", "d2"])
        #expect(events[0].eventID == "0190c7c2-6f6a-7000-8000-000000000001")
        #expect(events[1].eventID.hasPrefix("d-"))
        #expect(events.map(\.touchpoint) == ["web", "unknown"])
        let single = #"{"api_key": "phc_1", "event": "e", "distinct_id": "d", "timestamp": "2026-05-01T11:00:00Z"}"#
        #expect(try self.events(single, route: .posthogCapture).compactMap(\.event).map(\.customerID) == ["d"])
    }

    /// A bad message is a dead letter of its own; the others go on.
    @Test func aBadMessageIsRejectedAloneWithItsReason() throws {
        let body = """
            {"batch": [{"type": "track", "event": "ok", "userId": "u", "timestamp": "2026-05-01T11:00:00Z"},
                       {"type": "track", "userId": "u", "timestamp": "2026-05-01T11:00:00Z"},
                       {"type": "track", "event": "e", "userId": 42, "timestamp": "2026-05-01T11:00:00Z"},
                       "not an object", 7, {},
                       {"type": "page", "userId": "u", "name": "x", "timestamp": "soon"}]}
            """
        let results = try events(body, route: .segmentBatch)
        #expect(results.count == 7)
        #expect(results[0].event?.name == "ok")
        #expect(results[1].rejection?.reason == .missingField)
        #expect(results[2].rejection?.detail.contains("userId") == true)
        #expect(results[3].rejection != nil && results[4].rejection != nil && results[5].rejection != nil)
        #expect(
            results[6].rejection?.detail.contains("ts") == true
                || results[6].rejection?.detail.contains("timestamp") == true)
    }

    @Test func bodiesWithoutEventsAreErrors() {
        let cases: [(String, SDKRoute)] = [
            ("", .segmentBatch), ("not json", .segmentBatch), (#"{"batch": []}"#, .segmentBatch),
            (#"{"sentAt": "x"}"#, .segmentBatch), (#"{"batch": {"a": 1}}"#, .segmentBatch),
            (#"{"batch": [1,]}"#, .segmentBatch), (#"[{"event": "e"}]"#, .segmentBatch),
            (#"{"batch": [{"event": "e"}]} trailing"#, .posthogBatch),
            (String(repeating: "[", count: 100), .segmentBatch),
            (
                #"{"batch": [{"a": "# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}]}",
                .segmentBatch
            ),
        ]
        for (body, route) in cases {
            #expect(throws: SDKPayloadError.self, "\(body.prefix(40))") { try payload(body, route: route) }
        }
        var invalidUTF8: [UInt8] = Array(#"{"batch": [{"event": ""#.utf8) + [0xFF] + Array(#""}]}"#.utf8)
        #expect(throws: SDKPayloadError.self) {
            try invalidUTF8.withUnsafeMutableBytes { bytes in
                _ = try SDKPayloadDecoder().decode(
                    UnsafeRawBufferPointer(bytes), route: .segmentBatch, receivedAt: received)
            }
        }
    }

    /// Escapes in names and values survive the rewrite: the page name is passed on raw.
    @Test func escapedTextSurvives() throws {
        let body =
            #"{"batch": [{"type": "page", "name": "Pri\u0063ing \"A\"", "userId": "\u00fc", "timestamp": "2026-05-01T11:00:00Z"}]}"#
        let events = try events(body, route: .segmentBatch).compactMap(\.event)
        #expect(events.map(\.name) == [#"page:Pricing "A""#])
        #expect(events.map(\.customerID) == ["ü"])
    }
}
