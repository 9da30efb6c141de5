import Foundation
import JourneyCore
import NATSClient
import NATSTestServer
import Testing

/// Gateway mode (docs/scaling.md): a source with `forward_to` publishes every accepted event
/// to its customer's partition of a real JetStream bus and acknowledges its client only after
/// JetStream did; bad lines are dead-lettered as before; nothing is processed locally.
@Suite(
    .enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil),
    .enabled(if: NATSServerProcess.testsRun, "nats-server is not installed"))
struct GatewayTests {
    static let partitions = 4

    static func harness(bus: NATSServerProcess, metricsPort: Int? = nil) throws -> DaemonHarness {
        try DaemonHarness(
            journeyYAML: DaemonTests.journey,
            extraSourcesYAML: """
                  - type: jetstream
                    name: bus
                    servers: ["\(bus.url)"]
                    partitions: \(partitions)
                    owned_partitions: none
                """,
            unixSourceExtraYAML: "forward_to: bus", metricsPort: metricsPort)
    }

    /// Every message of the bus's streams, by event id: (subject, payload, source header).
    static func messagesOnTheBus(_ bus: NATSServerProcess) throws -> [String: (
        subject: String, payload: String, source: String?
    )] {
        let connection = try NATSConnection(servers: [bus.url], name: "cjm-test-reader")
        let jetStream = try connection.jetStream()
        var found: [String: (String, String, String?)] = [:]
        for partition in 0..<partitions {
            let stored = try jetStream.streamMessages("CJM_\(partition)")?.messages ?? 0
            let consumer = try jetStream.pullConsumer(
                stream: "CJM_\(partition)", subject: "cjm.p.\(partition).>",
                durable: "reader\(UInt32.random(in: 0...UInt32.max))")
            var read = 0
            while read < stored {
                let batch = try consumer.fetch(count: 500, timeoutMilliseconds: 2_000)
                if batch.isEmpty { break }
                for message in batch {
                    let id = try #require(message.header("Nats-Msg-Id"))
                    #expect(found[id] == nil, "event \(id) is on the bus twice")
                    found[id] = (
                        message.subject, String(decoding: message.payload, as: UTF8.self), message.header("Cjm-Source")
                    )
                    read += 1
                }
            }
            #expect(read == stored)
        }
        return found
    }

    @Test func acknowledgedEventsAreOnTheBusOnceInTheirCustomersPartition() throws {
        let bus = try NATSServerProcess()
        let metricsPort = freeTCPPort()
        let daemon = try Self.harness(bus: bus, metricsPort: metricsPort)
        try daemon.start()
        let client = try LineClient(unixPath: daemon.socketPath)
        var sent: [String: String] = [:]
        let now = Date()
        for n in 0..<600 {
            let customer = n % 3 == 0 ? "user\(n % 50)@example.com" : "c\(n % 70)"
            let line = DaemonTests.line("g\(n)", customer: customer, event: n % 4 == 0 ? "buy" : "visit", at: now)
            sent["g\(n)"] = line
            try client.send(line)
            if n % 200 == 0 { try client.send("{\"not\": \"an event\"}\n") }
        }
        #expect(try client.ack() == 603)

        let onBus = try Self.messagesOnTheBus(bus)
        #expect(onBus.count == sent.count)
        for (id, line) in sent {
            guard let message = onBus[id] else {
                Issue.record("event \(id) was acknowledged but is not on the bus")
                continue
            }
            #expect(message.payload + "\n" == line)
            #expect(message.source == "unix-test")
            let customer = try #require(
                (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["customer_id"] as? String)
            let token = CustomerPartition.token(for: customer)
            let partition = CustomerPartition.partition(ofToken: token, partitions: Self.partitions)
            #expect(message.subject == "cjm.p.\(partition).\(token)")
        }
        // Forwarded, not processed here; the bad lines are dead letters here.
        #expect(try daemon.query("SELECT count(*) FROM cjm.events").int64(row: 0, column: 0) == 0)
        #expect(
            try daemon.query("SELECT count(*) FROM cjm.rejected_events WHERE source = 'unix-test'").int64(
                row: 0, column: 0) == 3)
        // Counted as accepted and as forwarded.
        let page = try DaemonMetricsTests.scrape(port: metricsPort)
        #expect(page.contains(#"cjmd_events_forwarded_total{source="unix-test"} 600"#), "\(page)")
        #expect(page.contains(#"cjmd_events_accepted_total{source="unix-test"} 600"#))
        #expect(daemon.terminate() == 0)
    }

    /// An SDK's batch through an `http` source with `forward_to`: the 200 comes after
    /// JetStream stored every message, each the line the gateway made of the SDK message.
    @Test func sdkBatchesAreForwardedBeforeTheirAnswer() throws {
        let bus = try NATSServerProcess()
        let port = freeTCPPort()
        let daemon = try DaemonHarness(
            journeyYAML: HTTPSourceTests.journey,
            extraSourcesYAML: """
                  - type: jetstream
                    name: bus
                    servers: ["\(bus.url)"]
                    partitions: \(Self.partitions)
                    owned_partitions: none
                  - type: http
                    name: sdk
                    listen: "127.0.0.1:\(port)"
                    write_keys: [\(HTTPSourceTests.key)]
                    forward_to: bus
                """)
        try daemon.start()
        let base = "http://127.0.0.1:\(port)"
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, (try? HTTPPost.send(base + "/v1/batch", body: Data("{}".utf8)))?.status ?? 0 == 0 {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let batch = HTTPSourceTests.segmentBatch(customers: 0..<30, tag: "s")
        let answer = try HTTPPost.send(base + "/v1/batch", body: batch.body, user: HTTPSourceTests.key)
        #expect(answer.status == 200)
        let onBus = try Self.messagesOnTheBus(bus)
        #expect(onBus.count == batch.events)
        #expect(onBus.values.allSatisfy { $0.source == "sdk" })
        // The payload is the line a local source would have decoded (the SDK message with
        // `ts` and `touchpoint` added; its `userId` is the customer): its customer decides
        // the partition.
        for message in onBus.values {
            let object = try JSONSerialization.jsonObject(with: Data(message.payload.utf8)) as? [String: Any]
            let customer = try #require((object?["customer_id"] ?? object?["userId"]) as? String)
            let token = CustomerPartition.token(for: customer)
            let partition = CustomerPartition.partition(ofToken: token, partitions: Self.partitions)
            #expect(message.subject == "cjm.p.\(partition).\(token)")
        }
        #expect(try daemon.query("SELECT count(*) FROM cjm.events").int64(row: 0, column: 0) == 0)
        #expect(daemon.terminate() == 0)
    }

    /// A tailed file with `forward_to`: its position is committed only after JetStream has the
    /// lines before it, so while the bus is down the position stays, and after it returns
    /// every line is on the bus once.
    @Test func aTailedFilesPositionFollowsTheBus() throws {
        let bus = try NATSServerProcess()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cjm-gw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("events.ndjson").path
        let daemon = try DaemonHarness(
            journeyYAML: DaemonTests.journey,
            extraSourcesYAML: """
                  - type: jetstream
                    name: bus
                    servers: ["\(bus.url)"]
                    partitions: \(Self.partitions)
                    owned_partitions: none
                  - type: tail
                    name: tail-gw
                    path: \(file)
                    start_at: beginning
                    forward_to: bus
                """)
        func write(_ range: Range<Int>) throws {
            let text = range.map { DaemonTests.line("t\($0)", customer: "c\($0 % 11)", event: "visit", at: Date()) }
                .joined()
            if !FileManager.default.fileExists(atPath: file) {
                _ = FileManager.default.createFile(atPath: file, contents: nil)
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
            handle.seekToEndOfFile()
            handle.write(Data(text.utf8))
            try handle.close()
        }
        func committedOffset() throws -> Int64 {
            try daemon.query(
                "SELECT coalesce(max(\"offset\"), 0) FROM cjm.source_checkpoints WHERE source = 'tail-gw'"
            ).int64(row: 0, column: 0) ?? 0
        }
        func waitForOffset(_ expected: Int64, seconds: Double) throws -> Int64 {
            let deadline = Date().addingTimeInterval(seconds)
            var offset = try committedOffset()
            while offset < expected, Date() < deadline {
                Thread.sleep(forTimeInterval: 0.1)
                offset = try committedOffset()
            }
            return offset
        }
        try write(0..<200)
        try daemon.start()
        let firstSize = Int64(try FileManager.default.attributesOfItem(atPath: file)[.size] as! UInt64)
        #expect(try waitForOffset(firstSize, seconds: 20) == firstSize)

        bus.stop()
        try write(200..<300)
        Thread.sleep(forTimeInterval: 3)
        #expect(try committedOffset() == firstSize, "the position moved past lines the bus does not have")
        try bus.restart()
        let secondSize = Int64(try FileManager.default.attributesOfItem(atPath: file)[.size] as! UInt64)
        #expect(try waitForOffset(secondSize, seconds: 40) == secondSize)
        #expect(Set(try Self.messagesOnTheBus(bus).keys) == Set((0..<300).map { "t\($0)" }))
        #expect(daemon.terminate() == 0)
    }

    /// A shard (a daemon owning partitions) whose other sources would process events
    /// themselves is refused: a sharded database is written by shards alone. The message says
    /// what to write; with every source forwarding, the same configuration is accepted.
    @Test func aShardWithASourceProcessingItsOwnEventsIsRefusedWithWhatToWrite() throws {
        let bus = """
              - type: jetstream
                name: bus
                servers: ["nats://127.0.0.1:4222"]
                partitions: 16
                owned_partitions: "0-7"
            """
        let mixed = try DaemonHarness(
            journeyYAML: DaemonTests.journey, extraSourcesYAML: bus, unixSourceExtraYAML: "forward_to: bus")
        for command in ["run", "check-config"] {
            let result = try CommandRunner.run([command, "--config", mixed.configPath])
            #expect(result.status == 78, "\(command)")
            #expect(result.stderr.contains("tcp-test"), "\(command): \(result.stderr)")
            #expect(result.stderr.contains("forward_to: bus"), "\(command): \(result.stderr)")
        }
        let forwarding = try DaemonHarness(
            journeyYAML: DaemonTests.journey, extraSourcesYAML: bus, unixSourceExtraYAML: "forward_to: bus",
            tcpSourceExtraYAML: "forward_to: bus")
        let checked = try CommandRunner.run(["check-config", "--config", forwarding.configPath])
        #expect(checked.status == 0, "\(checked.stderr)")
    }

    @Test func whileTheBusIsDownClientsWaitAndNothingIsLostOrDoubled() throws {
        let bus = try NATSServerProcess()
        let daemon = try Self.harness(bus: bus)
        try daemon.start()
        let first = try LineClient(unixPath: daemon.socketPath)
        for n in 0..<100 {
            try first.send(DaemonTests.line("a\(n)", customer: "c\(n % 9)", event: "visit", at: Date()))
        }
        #expect(try first.ack() == 100)

        bus.stop()
        let second = try LineClient(unixPath: daemon.socketPath)
        for n in 0..<50 {
            try second.send(DaemonTests.line("b\(n)", customer: "c\(n % 9)", event: "visit", at: Date()))
        }
        try second.send("{\"ack\": true}\n")
        // Longer than a batch waits for its acknowledgements (10 s): the publish fails, the
        // gateway reconnects and publishes the batch again once the bus is back.
        Thread.sleep(forTimeInterval: 12)
        #expect(second.nothingToRead(), "acknowledged while the bus was down")
        try bus.restart()
        let reply = try second.readLine()
        #expect(reply.contains("\"acked\":50") || reply.contains("\"acked\": 50"), "\(reply)")

        let onBus = try Self.messagesOnTheBus(bus)
        #expect(Set(onBus.keys) == Set((0..<100).map { "a\($0)" } + (0..<50).map { "b\($0)" }))
        #expect(daemon.log().contains("bus unavailable"))
        #expect(daemon.log().contains("forwarding again"))
        #expect(daemon.terminate() == 0)
    }
}
