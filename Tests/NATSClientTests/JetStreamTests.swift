import Foundation
import NATSClient
import NATSTestServer
import Testing

/// The JetStream calls cjmd's bus source stands on, against a real nats-server.
@Suite("JetStream client", .enabled(if: NATSServerProcess.testsRun, "nats-server is not installed"))
struct JetStreamTests {
    @Test func acknowledgedPublishesAreStoredOnceAndPulledInOrder() throws {
        let server = try NATSServerProcess()
        let connection = try NATSConnection(servers: [server.url], name: "cjm-test")
        let jetStream = try connection.jetStream()
        let settings = JetStream.StreamSettings(name: "CJM_0", subjects: ["cjm.p.0.>"], replicas: 1)
        #expect(try jetStream.ensureStream(settings))
        #expect(try !jetStream.ensureStream(settings))  // exists: left as it is
        for n in 1...100 {
            let ack = try jetStream.publish(
                subject: "cjm.p.0.c\(n % 7)", payload: Array("event \(n)".utf8), messageID: "e\(n)")
            #expect(ack == PublishAcknowledgement(stream: "CJM_0", sequence: UInt64(n), duplicate: false))
        }
        // A gateway that republishes after a crash: the same ids are dropped, and said so.
        for n in 91...100 {
            let ack = try jetStream.publish(
                subject: "cjm.p.0.c\(n % 7)", payload: Array("event \(n)".utf8), messageID: "e\(n)")
            #expect(ack.duplicate && ack.sequence == UInt64(n))
        }
        #expect(try jetStream.streamMessages("CJM_0")?.messages == 100)
        #expect(try jetStream.streamMessages("CJM_9") == nil)

        var consumer: JetStreamPullConsumer? = try jetStream.pullConsumer(
            stream: "CJM_0", subject: "cjm.p.0.>", durable: "shard", ackWaitSeconds: 2)
        var received: [UInt64] = []
        while received.count < 60, let batch = try consumer?.fetch(count: 25, timeoutMilliseconds: 2_000),
            !batch.isEmpty
        {
            for message in batch where received.count < 60 {
                let position = try message.jetStreamPosition()
                #expect(position.stream == "CJM_0" && position.deliveries == 1)
                #expect(String(decoding: message.payload, as: UTF8.self) == "event \(position.streamSequence)")
                #expect(message.header("Nats-Msg-Id") == "e\(position.streamSequence)")
                received.append(position.streamSequence)
                if position.streamSequence <= 50 { try message.acknowledge() }
            }
        }
        #expect(received == Array(1...60))
        // A new subscriber to the same durable consumer (a restarted daemon) gets what was not
        // acknowledged again, once the ack wait is over, and nothing acknowledged.
        consumer = nil
        let resumed = try jetStream.pullConsumer(
            stream: "CJM_0", subject: "cjm.p.0.>", durable: "shard", ackWaitSeconds: 2)
        var again: [UInt64: UInt64] = [:]
        let deadline = Date().addingTimeInterval(15)
        while again.count < 50, Date() < deadline {
            for message in try resumed.fetch(count: 50, timeoutMilliseconds: 1_000) {
                let position = try message.jetStreamPosition()
                again[position.streamSequence] = position.deliveries
                try message.acknowledge()
            }
        }
        #expect(Set(again.keys) == Set(51...100))
        // Fetched in batches of 25: 51–75 were delivered before, 76–100 never.
        #expect((51...75).allSatisfy { again[$0] == 2 })
        #expect((76...100).allSatisfy { again[$0] == 1 })
    }

    @Test func anUnreachableServerIsATypedErrorThatSaysWhatToCheck() {
        let port = freeLoopbackPort()
        do {
            _ = try NATSConnection(servers: ["nats://127.0.0.1:\(port)"], name: "cjm-test", timeoutMilliseconds: 300)
            Issue.record("connected to a port nobody listens on")
        } catch {
            #expect(error.isUnavailable)
            #expect(error.description.contains("nats-server"))
            #expect(error.description.contains("127.0.0.1:\(port)"))
        }
    }
}

/// Batches as the gateway publishes them.
@Suite("JetStream batch publisher", .enabled(if: NATSServerProcess.testsRun, "nats-server is not installed"))
struct JetStreamBatchPublisherTests {
    static func batch(_ range: ClosedRange<Int>, partitions: Int = 4) -> [JetStreamBatchPublisher.Message] {
        range.map { n in
            JetStreamBatchPublisher.Message(
                subject: "cjm.p.\(n % partitions).c\(n)", payload: Array("event \(n)".utf8), id: "e\(n)")
        }
    }

    @Test func aBatchReturnsOnceEveryMessageIsStoredAndARepublishStoresNothing() throws {
        let server = try NATSServerProcess()
        let connection = try NATSConnection(servers: [server.url], name: "cjm-test")
        let jetStream = try connection.jetStream()
        for p in 0..<4 {
            try jetStream.ensureStream(.init(name: "CJM_\(p)", subjects: ["cjm.p.\(p).>"], replicas: 1))
        }
        let publisher = try JetStreamBatchPublisher(connection: connection)
        #expect(try publisher.publish(Self.batch(1...20_000)) == .init(stored: 20_000, duplicates: 0))
        // A batch published again after a failure: half of it was stored before.
        #expect(try publisher.publish(Self.batch(10_001...30_000)) == .init(stored: 10_000, duplicates: 10_000))
        let counts = try (0..<4).map { try jetStream.streamMessages("CJM_\($0)")?.messages ?? 0 }
        #expect(counts == [7_500, 7_500, 7_500, 7_500])
    }

    @Test func aMessageNoStreamTakesFailsTheBatch() throws {
        let server = try NATSServerProcess()
        let connection = try NATSConnection(servers: [server.url], name: "cjm-test")
        try connection.jetStream().ensureStream(.init(name: "CJM_0", subjects: ["cjm.p.0.>"], replicas: 1))
        let publisher = try JetStreamBatchPublisher(connection: connection, timeoutMilliseconds: 2_000)
        #expect(throws: NATSError.self) { try publisher.publish(Self.batch(1...100, partitions: 2)) }
        // The publisher stays usable: the batch again, all to the stream that exists, stores
        // the half it had not stored (odd numbers) and drops the rest as duplicates.
        #expect(try publisher.publish(Self.batch(1...100, partitions: 1)) == .init(stored: 50, duplicates: 50))
    }
}
