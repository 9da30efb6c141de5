import DaemonSettings
import Dispatch
import EventDecoding
import IngestEnvelope
import JourneyCore
import JourneyStore
import Logging
import NATSClient
import NIOConcurrencyHelpers
import PostgresClient

/// One partition of a shard (docs/scaling.md), on a thread of its own (libpq and nats.c
/// block): waits for the partition's PostgreSQL advisory lock, restores the partition's
/// journey state, then pulls its stream from the message after the committed sequence,
/// commits each batch — events, derived rows and the partition's stream sequence in one
/// transaction — and acknowledges JetStream only after COMMIT.
///
/// Any failure (the database, the bus, a partition taken over) drops the lock, the state and
/// the consumer and starts over from what is committed: the consumer is made anew after the
/// committed sequence, so a message delivered but not committed is delivered again in order,
/// and one at or below the committed sequence is skipped.
final class PartitionWorker: @unchecked Sendable {
    let partition: BusPartition
    let sourceName: String
    let bus: JetStreamSourceSettings
    let configuration: CJMConfiguration
    let connect: () throws -> PostgresConnection
    let clock: @Sendable () -> EventTime
    let logger: Logger
    let observer: PipelineObserver
    let control: ShardControl

    init(
        partition: BusPartition, sourceName: String, bus: JetStreamSourceSettings, configuration: CJMConfiguration,
        connect: @escaping () throws -> PostgresConnection, clock: @escaping @Sendable () -> EventTime,
        logger: Logger, observer: PipelineObserver, control: ShardControl
    ) {
        self.partition = partition
        self.sourceName = sourceName
        self.bus = bus
        self.configuration = configuration
        self.connect = connect
        self.clock = clock
        var logger = logger
        logger[metadataKey: "partition"] = "\(partition.index)"
        self.logger = logger
        self.observer = observer
        self.control = control
    }

    /// The advisory lock of partition `index` (`pg_try_advisory_lock(int, int)`).
    static let lockClass: Int64 = 0x636A_6D70  // "cjmp"

    /// Runs until the control stops; returns after the partition's current batch is
    /// committed and acknowledged.
    func run() {
        var failures = 0
        while !control.isStopped {
            do {
                try owningPartition()
                failures = 0
            } catch let moved as PartitionMoved {
                logger.warning("\(moved)")
            } catch {
                failures += 1
                let delay = min(5.0, 0.25 * Double(1 << min(failures, 5)))
                logger.warning(
                    "partition stopped; starting over from what is committed",
                    metadata: ["error": "\(error)", "retry_in_seconds": "\(delay)"])
                control.sleep(seconds: delay)
            }
        }
    }

    /// Takes the lock, then processes the partition until the control stops or a failure.
    private func owningPartition() throws {
        let connection = try connect()
        defer { connection.close() }
        guard try waitForLock(on: connection) else { return }
        logger.info("took the partition")
        let sink = try JourneySink(
            configuration: configuration, connection: connection, logger: logger, scope: .partition(partition))
        let nats = try NATSConnection(
            servers: bus.servers, name: "cjmd shard (\(sourceName) partition \(partition.index))")
        defer { nats.close() }
        let jetStream = try nats.jetStream()
        let stream = bus.streamName(partition: partition.index)
        try jetStream.ensureStream(
            JetStream.StreamSettings(
                name: stream, subjects: [bus.subjectFilter(partition: partition.index)], replicas: bus.replicas))
        let batchSize = max(1, configuration.ingest.batchMaxEvents)
        let consumer = try jetStream.pullConsumer(
            stream: stream, subject: bus.subjectFilter(partition: partition.index), durable: "cjmd_\(partition.index)",
            startingAfter: UInt64(max(0, sink.committedStreamSequence)), maxAckPending: Int64(2 * batchSize))
        var decoders: [String: RecordDecoder] = [:]
        var lastMessage = ContinuousClock.now
        var lastIdleCommit = ContinuousClock.now - .seconds(3600)
        let idleAfter = Duration.microseconds(bus.idleAfter.microseconds)
        while !control.isStopped {
            let messages = try consumer.fetch(count: batchSize, timeoutMilliseconds: 250)
            if messages.isEmpty {
                // Caught up (nothing to fetch) and quiet for `idle_after`: the wall clock moves
                // the watermark, at most once a second.
                let now = ContinuousClock.now
                if now - lastMessage >= idleAfter, now - lastIdleCommit >= .seconds(1) {
                    lastIdleCommit = now
                    let wall = clock()
                    if wall - configuration.ingest.allowedLateness > sink.watermark {
                        try commit(IngestBatch(), rule: .live(now: wall), sink: sink)
                    }
                }
                continue
            }
            lastMessage = ContinuousClock.now
            var batch = IngestBatch()
            var last: (message: NATSMessage, position: JetStreamPosition)?
            for message in messages {
                let position = try message.jetStreamPosition()
                if let previous = last?.position.streamSequence ?? Optional(UInt64(sink.committedStreamSequence)),
                    position.streamSequence > previous + 1
                {
                    logger.warning(
                        "the stream holds no messages between these sequences (removed by its limits?)",
                        metadata: ["after": "\(previous)", "before": "\(position.streamSequence)"])
                }
                last = (message, position)
                // Committed before (a redelivery): its effect is in the database already.
                guard position.streamSequence > UInt64(sink.committedStreamSequence) else { continue }
                decode(message, into: &batch, decoders: &decoders)
            }
            guard let last else { continue }
            if last.position.streamSequence > UInt64(sink.committedStreamSequence) {
                batch.streamSequence = Int64(last.position.streamSequence)
                batch.token = Int64.random(in: 1...Int64.max)
                try commit(batch, rule: .replay, sink: sink)
            }
            // After COMMIT: one acknowledgement covers the batch (AckAll).
            try last.message.acknowledge()
        }
    }

    private func commit(_ batch: IngestBatch, rule: WatermarkRule, sink: JourneySink) throws {
        let started = ContinuousClock.now
        let outcome = try sink.commit(batch, watermark: rule)
        let elapsed = ContinuousClock.now - started
        observer.onCommit(
            batch, outcome, Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))
        _ = sink.maintainRetention(now: clock())
    }

    /// A message as the gateway received it: its line, source and time of receipt.
    private func decode(_ message: NATSMessage, into batch: inout IngestBatch, decoders: inout [String: RecordDecoder])
    {
        let source = message.header(BusForwarder.sourceHeader) ?? sourceName
        let receivedAt =
            message.header(BusForwarder.receivedAtHeader).flatMap(Int64.init).map(EventTime.init(microseconds:))
            ?? clock()
        let decoder =
            decoders[source]
            ?? {
                let made = RecordDecoder(source: source, settings: configuration.ingest)
                decoders[source] = made
                return made
            }()
        let payload = message.payload
        let record = payload.withUnsafeBytes { decoder.decode($0, receivedAt: receivedAt) }
        switch record {
        case .event(let event): batch.events.append(event)
        case .rejection(let rejection): batch.rejections.append(rejection)
        case .blank: break
        }
    }

    /// Polls the partition's advisory lock every second until it is granted (true) or the
    /// control stops (false). A standby daemon waits here while the owner lives.
    private func waitForLock(on connection: PostgresConnection) throws -> Bool {
        var announced = false
        while !control.isStopped {
            let granted = try connection.execute(
                "SELECT pg_try_advisory_lock($1::int, $2::int)",
                [.int(Self.lockClass), .int(Int64(partition.index))])
            if granted.string(row: 0, column: 0) == "t" { return true }
            if !announced {
                logger.info("another daemon processes the partition; standing by for its lock")
                announced = true
            }
            control.sleep(seconds: 1)
        }
        return false
    }
}

/// Stops a shard's threads: set once at shutdown, read by every worker between batches.
final class ShardControl: @unchecked Sendable {
    private let stopped = DispatchSemaphore(value: 0)
    private let flag = NIOLockedValueBox(false)

    var isStopped: Bool { flag.withLockedValue { $0 } }

    func stop() {
        let already = flag.withLockedValue { stopped in
            defer { stopped = true }
            return stopped
        }
        guard !already else { return }
        // Wakes sleepers (each takes one signal and gives it back).
        stopped.signal()
    }

    /// Sleeps `seconds`, or less when stopped meanwhile.
    func sleep(seconds: Double) {
        if stopped.wait(timeout: .now() + seconds) == .success { stopped.signal() }
    }
}
