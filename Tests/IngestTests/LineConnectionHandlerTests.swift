import IngestEnvelope
import JourneyCore
import NIOCore
import NIOEmbedded
import Testing

@testable import Ingest

/// The socket handler on an `EmbeddedChannel`: what a client sends, what reaches the commit
/// queue, and what the client reads back, with commits made by hand.
@Suite struct LineConnectionHandlerTests {
    static let clockTime = EventTime(seconds: 1_796_558_400)

    final class Connection {
        let channel: EmbeddedChannel
        let queue: CommitQueue

        init(halfClosure: Bool = true, queueCapacity: Int = 10_000) throws {
            queue = CommitQueue(capacity: queueCapacity)
            let handler = LineConnectionHandler(
                source: "test", settings: IngestSettings(), queue: queue,
                clock: { LineConnectionHandlerTests.clockTime })
            channel = EmbeddedChannel(handler: handler)
            try channel.setOption(ChannelOptions.allowRemoteHalfClosure, value: halfClosure).wait()
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7410)).wait()
        }

        func send(_ text: String) throws {
            try channel.writeInbound(channel.allocator.buffer(string: text))
            channel.pipeline.fireChannelReadComplete()
        }

        /// The client shuts down its sending side.
        func shutdownInput() {
            channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }

        /// The committing thread takes everything queued and commits it.
        func commitAll() -> [PipelineItem] {
            let taken = queue.take(maxItems: 1_000_000, maxDelay: 0, idle: 0)
            queue.markCommitted(through: taken.lastTicket)
            channel.embeddedEventLoop.run()
            return taken.items
        }

        /// Everything the client has been sent so far.
        func received() throws -> String {
            var text = ""
            while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
                text += buffer.readString(length: buffer.readableBytes) ?? ""
            }
            return text
        }
    }

    static func line(_ id: Int) -> String {
        #"{"event_id":"e\#(id)","customer_id":"c1","event":"visit","ts":"2026-12-06T10:00:0\#(id)Z"}"# + "\n"
    }

    @Test func anAcknowledgementWaitsForTheCommitOfEveryEarlierLine() throws {
        let connection = try Connection()
        try connection.send(Self.line(1) + Self.line(2) + "{\"ack\": true}\n")
        #expect(try connection.received() == "", "nothing is committed yet")
        let items = connection.commitAll()
        #expect(items.count == 2)
        #expect(try connection.received() == "{\"acked\": 2}\n")
        #expect(connection.channel.isActive)
    }

    @Test func aHalfClosedClientGetsItsAcknowledgementAndThenTheEnd() throws {
        let connection = try Connection()
        try connection.send(Self.line(1) + Self.line(2) + Self.line(3) + "{\"ack\": true}\n")
        connection.shutdownInput()
        #expect(connection.channel.isActive, "the daemon still owes an acknowledgement")
        #expect(try connection.received() == "")
        _ = connection.commitAll()
        #expect(try connection.received() == "{\"acked\": 3}\n")
        #expect(!connection.channel.isActive, "closed once the acknowledgement is out")
    }

    @Test func aLastLineWithoutNewlineCountsAtTheEndOfInput() throws {
        let connection = try Connection()
        try connection.send(Self.line(1) + "{\"ack\": true}\n" + Self.line(2).dropLast())
        connection.shutdownInput()
        let items = connection.commitAll()
        #expect(items.count == 2, "the unfinished last line is a line")
        #expect(try connection.received() == "{\"acked\": 1}\n", "the acknowledgement counts the lines before it")
        #expect(!connection.channel.isActive)
    }

    @Test func aLastAcknowledgementRequestWithoutNewlineIsAnswered() throws {
        let connection = try Connection()
        try connection.send(Self.line(1) + Self.line(2) + "{\"ack\": true}")
        connection.shutdownInput()
        #expect(connection.channel.isActive)
        _ = connection.commitAll()
        #expect(try connection.received() == "{\"acked\": 2}\n")
        #expect(!connection.channel.isActive)
    }

    @Test func endOfInputWithNoAcknowledgementOwedClosesAtOnce() throws {
        let connection = try Connection()
        try connection.send(Self.line(1))
        connection.shutdownInput()
        connection.channel.embeddedEventLoop.run()
        #expect(!connection.channel.isActive)
        #expect(connection.commitAll().count == 1, "what was sent is still committed")
    }

    @Test func everyAcknowledgementBeforeTheEndIsAnsweredInOrder() throws {
        let connection = try Connection()
        try connection.send(Self.line(1) + "{\"ack\": true}\n" + Self.line(2) + Self.line(3) + "{\"ack\": true}\n")
        connection.shutdownInput()
        _ = connection.commitAll()
        #expect(try connection.received() == "{\"acked\": 1}\n{\"acked\": 3}\n")
        #expect(!connection.channel.isActive)
    }

    @Test func anAcknowledgementOfCommittedLinesIsAnsweredInTheSameRead() throws {
        let connection = try Connection()
        try connection.send(Self.line(1))
        _ = connection.commitAll()
        try connection.send("{\"ack\": true}\n")
        #expect(try connection.received() == "{\"acked\": 1}\n")
    }

    @Test func badLinesAndOverlongLinesAreCountedAndDeadLettered() throws {
        let connection = try Connection()
        let long = String(repeating: "x", count: IngestSettings().maxLineBytes + 10)
        try connection.send("not json\n" + long + "\n" + Self.line(1) + "{\"ack\": true}\n")
        let items = connection.commitAll()
        var rejections: [String] = []
        for item in items { if case .rejection(let line, _) = item { rejections.append(line.reason.rawValue) } }
        #expect(rejections == ["invalid_json", "line_too_long"])
        #expect(try connection.received() == "{\"acked\": 3}\n")
    }

    @Test func withoutHalfClosureTheEndOfInputStillKeepsTheLastLine() throws {
        let connection = try Connection(halfClosure: false)
        try connection.send(Self.line(1) + Self.line(2).dropLast())
        connection.channel.pipeline.fireChannelInactive()
        #expect(connection.commitAll().count == 2)
    }
}
