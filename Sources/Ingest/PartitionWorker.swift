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
        // Derived rows with every batch: the batch's one transaction holds its events, their
        // derived rows and the partition's stream sequence.
        let sink = try JourneySink(
            configuration: configuration, connection: connection, logger: logger, scope: .partition(partition))
        let nats = try NATSConnection(
            servers: bus.servers, name: "cjmd shard (\(sourceName) partition \(partition.index))")
        defer { nats.close() }
        let jetStream = try nats.jetStream()
        let stream = bus.streamName(partition: partition.index)
        try jetStream.ensureStream(bus.streamSettings(partition: partition.index))
        let batchSize = max(1, configuration.ingest.batchMaxEvents)
        let filter = bus.subjectFilter(partition: partition.index)
        func consumerAfterCommitted() throws(NATSError) -> JetStreamPullConsumer {
            try jetStream.pullConsumer(
                stream: stream, subject: filter, durable: "cjmd_\(partition.index)",
                startingAfter: UInt64(max(0, sink.committedStreamSequence)), maxAckPending: Int64(2 * batchSize))
        }
        var consumer = try consumerAfterCommitted()
        var decoders: [String: RecordDecoder] = [:]
        var lastIdleCheck = ContinuousClock.now - .seconds(3600)
        // Since when the partition has been seen caught up without a break (nil: not now).
        var caughtUpSince: ContinuousClock.Instant? = nil
        let idleAfter = Duration.microseconds(bus.idleAfter.microseconds)
        while !control.isStopped {
            let messages = try consumer.fetch(count: batchSize, timeoutMilliseconds: 500)
            if messages.isEmpty {
                // Caught up for `idle_after` without a break: the wall clock moves the
                // watermark, at most once a second. Caught up means the stream holds nothing
                // after the committed sequence, as its leader says: an empty fetch alone is
                // also what a stalled server or a leaderless stream gives, and moving to the
                // wall clock then would make the backlog behind the outage late.
                let now = ContinuousClock.now
                guard now - lastIdleCheck >= .seconds(1) else { continue }
                lastIdleCheck = now
                let last = try? jetStream.streamMessages(stream)?.lastSequence
                if let last, last <= UInt64(max(0, sink.committedStreamSequence)) {
                    caughtUpSince = caughtUpSince ?? now
                } else {
                    caughtUpSince = nil
                }
                if let since = caughtUpSince, now - since >= idleAfter {
                    let wall = clock()
                    if wall - configuration.ingest.allowedLateness > sink.watermark {
                        try commit(IngestBatch(), rule: .live(now: wall), sink: sink)
                    }
                }
                continue
            }
            caughtUpSince = nil
            let taken = try contiguousRun(
                of: messages, after: UInt64(sink.committedStreamSequence), stream: stream, jetStream: jetStream)
            var batch = IngestBatch()
            for message in taken.fresh { decode(message, into: &batch, decoders: &decoders) }
            if let through = taken.through {
                batch.streamSequence = Int64(through)
                batch.token = Int64.random(in: 1...Int64.max)
                try commit(batch, rule: .replay, sink: sink)
            }
            // After COMMIT, every message taken (skipped redeliveries too); waiting for the last
            // one's confirmation confirms those sent before it.
            if let lastTaken = taken.acknowledged.last {
                for message in taken.acknowledged.dropLast() { try message.acknowledgeWithoutWaiting() }
                try lastTaken.acknowledge()
            }
            if taken.strayed {
                // A delivery went astray (a pull request given up while a server was slow, its
                // messages delivered after): the consumer is made anew after the committed
                // sequence, so that the partition is read in order, every message once.
                logger.notice(
                    "messages came out of order; reading the partition again from its committed sequence",
                    metadata: ["committed": "\(sink.committedStreamSequence)"])
                consumer = try consumerAfterCommitted()
            }
        }
    }

    /// What of a fetched list goes into the next batch.
    struct ContiguousRun {
        /// Messages after the committed sequence, in stream order without a gap.
        var fresh: [NATSMessage] = []
        /// The sequence of the last of them (nil: none).
        var through: UInt64?
        /// Every message dealt with: `fresh` and the redeliveries skipped.
        var acknowledged: [NATSMessage] = []
        /// A message came after a gap the stream does not have: the rest was left.
        var strayed = false
    }

    /// The messages that follow the committed sequence `committed` one by one. A message at or
    /// below what is taken is a redelivery, skipped; one past a gap ends the run, unless the
    /// stream no longer holds the messages of the gap (removed by its limits: said, and
    /// passed over). The stream's sequences are the truth; the consumer only delivers them.
    private func contiguousRun(
        of messages: [NATSMessage], after committed: UInt64, stream: String, jetStream: JetStream
    ) throws -> ContiguousRun {
        var run = ContiguousRun()
        var expected = committed + 1
        for message in messages {
            let sequence = try message.jetStreamPosition().streamSequence
            if sequence < expected {
                run.acknowledged.append(message)
                continue
            }
            if sequence > expected {
                let first = try jetStream.streamFirstSequence(stream) ?? 0
                guard first > expected, sequence <= first else {
                    run.strayed = true
                    break
                }
                logger.warning(
                    "the stream no longer holds these messages (removed by its limits); going on after them",
                    metadata: ["from": "\(expected)", "to": "\(first - 1)"])
            }
            run.fresh.append(message)
            run.acknowledged.append(message)
            run.through = sequence
            expected = sequence + 1
        }
        return run
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
