import NATSTestServer
import Testing

@testable import NATSClient

/// A server that does not know a setting drops it from a create request without a word:
/// cjmd compares the server's answer with what it asked and refuses to go on without it.
@Suite struct IgnoredSettingsTests {
    @Test func aSettingAnsweredOtherwiseIsRefusedByName() {
        let error = #expect(throws: NATSError.self) {
            try JetStream.refuseIgnored(
                [("num_replicas", "3", "3"), ("duplicate_window", "120000000000", "0")], creating: "stream CJM_0")
        }
        #expect(error?.settingsIgnored == ["duplicate_window (asked 120000000000, got 0)"])
        #expect(
            "\(error.map { "\($0)" } ?? "")".contains("creating stream CJM_0: the server did not take duplicate_window")
        )
        #expect(error?.isUnavailable == false)
    }

    @Test func settingsAnsweredAsAskedPass() throws {
        try JetStream.refuseIgnored([("num_replicas", "1", "1"), ("storage", "file", "file")], creating: "stream S")
    }

    /// nats-server 2.9 takes everything cjmd asks of its streams and consumers.
    @Test(.enabled(if: NATSServerProcess.testsRun, "nats-server is not installed"))
    func theStreamsAndConsumersCjmdMakesComeOutAsAsked() throws {
        let server = try NATSServerProcess()
        let connection = try NATSConnection(servers: [server.url], name: "cjm-test")
        let jetStream = try connection.jetStream()
        #expect(try jetStream.ensureStream(.init(name: "CJM_0", subjects: ["cjm.p.0.>"], replicas: 1)))
        _ = try jetStream.pullConsumer(
            stream: "CJM_0", subject: "cjm.p.0.>", durable: "cjmd_0", startingAfter: 41, maxAckPending: 64)
        _ = try jetStream.pullConsumer(stream: "CJM_0", subject: "cjm.p.0.>", durable: "other")
    }
}
