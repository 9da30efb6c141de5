import DaemonSettings
import Foundation
import JourneyCore
import JourneyStore
import Logging
import PostgresClient

/// A shard's threads (docs/scaling.md): one ``PartitionWorker`` per partition the daemon's
/// jetstream sources own, and the alert judge (``PartitionAlertJudge``), which one daemon of
/// the database runs at a time. Started once; ``stop()`` lets every worker finish its batch.
public final class ShardWorkers: @unchecked Sendable {
    private let control = ShardControl()
    private let finished = DispatchGroup()
    private let workers: [PartitionWorker]
    private let judge: AlertJudgeLoop?

    /// The partitions a daemon of `configuration` processes, by jetstream source.
    public static func ownedPartitions(_ configuration: CJMConfiguration) -> [(
        source: String, bus: JetStreamSourceSettings, partitions: [Int]
    )] {
        configuration.sources.compactMap { source in
            guard case .jetstream(let bus) = source.kind else { return nil }
            let owned = bus.ownedPartitions.partitions(of: bus.partitions)
            return owned.isEmpty ? nil : (source.name, bus, owned)
        }
    }

    /// Nil when the configuration owns no partition.
    public init?(
        configuration: CJMConfiguration, connect: @escaping () throws -> PostgresConnection,
        clock: @escaping @Sendable () -> EventTime, logger: Logger, observer: PipelineObserver,
        onAlertTransitions: @escaping @Sendable ([AlertTransition]) -> Void = { _ in }
    ) {
        let owned = Self.ownedPartitions(configuration)
        guard let first = owned.first else { return nil }
        let control = self.control
        workers = owned.flatMap { source in
            source.partitions.map { index in
                PartitionWorker(
                    partition: BusPartition(index: index, count: source.bus.partitions), sourceName: source.source,
                    bus: source.bus, configuration: configuration, connect: connect, clock: clock, logger: logger,
                    observer: observer, control: control)
            }
        }
        judge = AlertJudgeLoop(
            configuration: configuration, partitions: first.bus.partitions, connect: connect, logger: logger,
            control: control, onTransitions: onAlertTransitions)
    }

    /// Starts every thread.
    public func start() {
        for worker in workers {
            finished.enter()
            let thread = Thread { [finished] in
                worker.run()
                finished.leave()
            }
            thread.name = "cjmd partition \(worker.partition.index)"
            thread.start()
        }
        if let judge {
            finished.enter()
            let thread = Thread { [finished] in
                judge.run()
                finished.leave()
            }
            thread.name = "cjmd alert judge"
            thread.start()
        }
    }

    /// Asks every thread to stop after its current batch.
    public func stop() { control.stop() }

    /// Waits until every thread has stopped (after ``stop()``), at most `seconds`; returns
    /// whether they did.
    public func wait(seconds: Double) -> Bool {
        finished.wait(timeout: .now() + seconds) == .success
    }
}

/// The alert judge's thread: waits for the judge's lock, then judges every second (at once
/// again after a round that judged, while a backlog moves the watermarks fast).
final class AlertJudgeLoop: @unchecked Sendable {
    let configuration: CJMConfiguration
    let partitions: Int
    let connect: () throws -> PostgresConnection
    let logger: Logger
    let control: ShardControl
    let onTransitions: @Sendable ([AlertTransition]) -> Void

    init(
        configuration: CJMConfiguration, partitions: Int, connect: @escaping () throws -> PostgresConnection,
        logger: Logger, control: ShardControl, onTransitions: @escaping @Sendable ([AlertTransition]) -> Void
    ) {
        self.configuration = configuration
        self.partitions = partitions
        self.connect = connect
        var logger = logger
        logger[metadataKey: "task"] = "alert judge"
        self.logger = logger
        self.control = control
        self.onTransitions = onTransitions
    }

    func run() {
        while !control.isStopped {
            do {
                let connection = try connect()
                defer { connection.close() }
                var waiting = true
                while !control.isStopped, waiting {
                    let granted = try connection.execute(
                        "SELECT pg_try_advisory_lock($1::bigint)", [.int(PartitionAlertJudge.lockKey)])
                    waiting = granted.string(row: 0, column: 0) != "t"
                    if waiting { control.sleep(seconds: 1) }
                }
                guard !control.isStopped else { return }
                let judge = PartitionAlertJudge(
                    configuration: configuration, partitions: partitions, connection: connection, logger: logger)
                while !control.isStopped {
                    let round = try judge.judge()
                    if !round.transitions.isEmpty { onTransitions(round.transitions) }
                    control.sleep(seconds: round.judged ? 0.2 : 1)
                }
            } catch {
                logger.warning("alert judging stopped; starting over", metadata: ["error": "\(error)"])
                control.sleep(seconds: 1)
            }
        }
    }
}
