import JourneyCore
import Logging
import PostgresClient

/// Writes what the journey engine changed since the last derived write — instances,
/// critical moments, touchpoint and funnel totals, time-to-next buckets, stage decisions,
/// alert episodes and their notifications — inside the caller's transaction. One job: the
/// SQL of the derived tables (one file per group of tables). ``JourneySink`` decides when;
/// this writes.
///
/// New rows are COPYed in primary-key order straight into their tables; rows that may
/// exist already go through per-session staging tables (`pg_temp.stage_*`, emptied at
/// commit) and one upsert each.
final class DerivedRowWriter {
    let connection: PostgresConnection
    let catalog: JourneyCatalog
    /// Whether alert transitions are announced (`pg_notify`, log); see
    /// ``JourneySink/WritePolicy/announcesAlerts``.
    let announcesAlerts: Bool
    let logger: Logger
    /// The `part` column of every row written: the bus partition of a shard's sink, -1 for a
    /// single daemon's (docs/scaling.md).
    let part: Int16

    init(
        connection: PostgresConnection, catalog: JourneyCatalog, announcesAlerts: Bool, logger: Logger,
        part: Int16 = -1
    ) {
        self.connection = connection
        self.catalog = catalog
        self.announcesAlerts = announcesAlerts
        self.logger = logger
        self.part = part
    }

    /// Writes `changes`; returns the alert transitions among them (in the tables and, when
    /// announced, notified on ``JourneySink/alertChannel``). With `chunkSize`, every closed
    /// instance — in the tables or among `changes` — is sealed with its moments, that many
    /// per row (see ``writeSealing(_:chunkSize:)``).
    func write(_ changes: EngineChanges, sealingChunksOf chunkSize: Int? = nil) throws -> [AlertTransition] {
        var marks: [(String, ContinuousClock.Instant)] = [("start", .now)]
        if let chunkSize {
            try writeSealing(changes, chunkSize: chunkSize)
            marks.append(("sealing", .now))
        } else {
            try writeInstances(changes.instances, newCount: changes.newInstanceCount)
            marks.append(("instances", .now))
            try writeMoments(changes.moments, newCount: changes.newMomentCount)
            marks.append(("moments", .now))
            try queueForSealing(changes.instances)
            marks.append(("queue", .now))
        }
        try writeTouchpoints(changes.touchpoints)
        marks.append(("touchpoints", .now))
        try writePersonas(changes.personas)
        marks.append(("personas", .now))
        try writeDecisions(changes.decisions)
        marks.append(("decisions", .now))
        try writeFunnel(changes.funnel, timeToNext: changes.timeToNext)
        marks.append(("funnel", .now))
        try writeRepeatLoop(changes)
        marks.append(("repeat_loop", .now))
        try writeAlerts(changes.alerts, transitions: changes.alertTransitions)
        marks.append(("alerts", .now))
        if logger.logLevel <= .debug {
            var metadata: Logger.Metadata = [
                "instance_rows": "\(changes.instances.count)", "new_instance_rows": "\(changes.newInstanceCount)",
                "moment_rows": "\(changes.moments.count)",
            ]
            for (previous, mark) in zip(marks, marks.dropFirst()) {
                metadata[mark.0] = "\((mark.1 - previous.1) / .milliseconds(1))"
            }
            logger.debug("derived rows written; milliseconds per part", metadata: metadata)
        }
        return changes.alertTransitions
    }
}
