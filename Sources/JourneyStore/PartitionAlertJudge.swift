import DaemonSettings
import JourneyCore
import Logging
import PostgresClient

/// Judges the drop-off alerts of a sharded database once, over every partition
/// (docs/scaling.md): a shard's engine counts its customers' decisions
/// (`cjm.stage_decisions_by_part`) but judges nothing, since a spike is a rate over all
/// customers. Each round reads where every partition stands; once the slowest partition's
/// watermark has passed minute boundaries not yet judged, it restores the detector from the
/// summed decisions (as a restarted single daemon does), evaluates through that watermark and
/// commits the alert episodes, their `pg_notify` and its position in one transaction. Every
/// decision dated before a partition's watermark is committed with it, so what is judged is
/// complete, and equals what one daemon over all the events would judge.
///
/// One judge per database: the caller holds its advisory lock (``lockKey``). It also keeps
/// `cjm.engine_state.watermark` at the slowest partition's, which the views read as the
/// database's watermark (`cjm.funnel_daily`'s `final`).
public final class PartitionAlertJudge {
    let configuration: CJMConfiguration
    let catalog: JourneyCatalog
    let connection: PostgresConnection
    let partitions: Int
    let logger: Logger
    private let writer: DerivedRowWriter

    /// The advisory lock (one key of `pg_try_advisory_lock(bigint)`) whose holder judges.
    public static let lockKey: Int64 = 0x636A_6D5F_6A75_6467  // "cjm_judg"

    public init(configuration: CJMConfiguration, partitions: Int, connection: PostgresConnection, logger: Logger) {
        self.configuration = configuration
        self.catalog = JourneyCatalog(journeys: configuration.journeys)
        self.connection = connection
        self.partitions = partitions
        self.logger = logger
        self.writer = DerivedRowWriter(connection: connection, catalog: catalog, announcesAlerts: true, logger: logger)
    }

    /// What one round did.
    public struct Round: Sendable {
        /// The slowest partition's watermark; nil while a partition has none.
        public var watermark: EventTime?
        /// Whether minute boundaries were judged.
        public var judged = false
        /// Alerts that fired or resolved, committed and notified.
        public var transitions: [AlertTransition] = []
    }

    /// One round (see the type's description), in a transaction of its own.
    public func judge() throws -> Round {
        var round = Round()
        try connection.transaction {
            let standing = try connection.execute(
                "SELECT count(*), count(watermark), min(watermark) FROM cjm.partition_state")
            let rows = try standing.int64(row: 0, column: 0) ?? 0
            let withWatermark = try standing.int64(row: 0, column: 1) ?? 0
            guard rows == Int64(partitions), withWatermark == rows,
                let slowest = try standing.timestampMicroseconds(row: 0, column: 2).map(EventTime.init(microseconds:))
            else { return }
            round.watermark = slowest
            // Locks the judge's row: a second judge (a lock lost with its session) waits here.
            let state = try connection.execute(
                "SELECT evaluated_through FROM cjm.alert_judge_state WHERE id = 1 FOR UPDATE")
            let through = try state.timestampMicroseconds(row: 0, column: 0).map(EventTime.init(microseconds:))
            _ = try connection.execute(
                "UPDATE cjm.engine_state SET watermark = $1, updated_at = now() WHERE id = 1 AND watermark IS DISTINCT FROM $1",
                [.timestamp(microsecondsSinceEpoch: slowest.microseconds)])
            if let through, slowest.minuteIndex <= through.minuteIndex { return }
            let snapshot = try AlertStateLoader.load(
                catalog: catalog, settings: configuration.alerts, evaluatedThrough: through, from: connection)
            var detector = DropOffDetector(catalog: catalog, settings: configuration.alerts, restoring: snapshot)
            detector.evaluate(through: slowest)
            let transitions = detector.takeTransitions()
            try writer.writeAlerts(detector.takeChangedAlerts(), transitions: transitions)
            let evaluated = detector.evaluatedThrough.map { EventTime(minuteIndex: $0) }
            _ = try connection.execute(
                "UPDATE cjm.alert_judge_state SET evaluated_through = $1, updated_at = now() WHERE id = 1",
                [evaluated.map { .timestamp(microsecondsSinceEpoch: $0.microseconds) }])
            round.judged = true
            round.transitions = transitions
        }
        writer.logAlerts(round.transitions)
        return round
    }
}
