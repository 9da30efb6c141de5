import DaemonSettings
import Foundation
import Ingest
import JourneyCore
import JourneyStore
import Logging
import PostgresClient

/// Runs the real replay path (framing, decoding, engine, store) against a test database and
/// reads the tables back in a canonical order.
final class StoreHarness {
    let conninfo: String
    let configuration: CJMConfiguration
    let connection: PostgresConnection
    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
    /// The wall clock the decoder sees (injected: no test depends on when it runs).
    let now: EventTime

    init(conninfo: String, configuration: CJMConfiguration, now: EventTime = RFC3339.parse("2026-11-22T00:00:00Z")!)
        throws
    {
        self.conninfo = conninfo
        self.configuration = configuration
        self.now = now
        self.connection = try PostgresConnection(conninfo: conninfo)
        try JourneySink.publishJourneys(configuration, on: connection)
    }

    /// Replays NDJSON text through a new sink (as a new `cjmd replay` process would).
    @discardableResult
    func replay(
        _ text: String, asOf: EventTime? = nil,
        derivedWriteInterval: Int = ReplayRunner.defaultDerivedWriteInterval,
        overlapsEngineWithCopy: Bool = true
    ) throws -> ReplayRunner.Summary {
        try replay(
            bytes: Array(text.utf8), asOf: asOf, derivedWriteInterval: derivedWriteInterval,
            overlapsEngineWithCopy: overlapsEngineWithCopy)
    }

    /// Closed instances before a seal, and instances per sealed row, in the harness's
    /// replays: few, so that most tests compare sealed instances through the views.
    var sealAfterClosedInstances = 64
    var sealedChunkSize = 32

    @discardableResult
    func replay(
        bytes: [UInt8], asOf: EventTime? = nil,
        derivedWriteInterval: Int = ReplayRunner.defaultDerivedWriteInterval,
        overlapsEngineWithCopy: Bool = true
    ) throws -> ReplayRunner.Summary {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cjm-test-\(UUID().uuidString).ndjson")
            .path
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fixed = now
        var runner = ReplayRunner(settings: configuration.ingest, clock: { fixed }, logger: logger)
        runner.derivedWriteInterval = derivedWriteInterval
        runner.overlapsEngineWithCopy = overlapsEngineWithCopy
        runner.sealAfterClosedInstances = sealAfterClosedInstances
        runner.sealedChunkSize = sealedChunkSize
        return try runner.replay([path], configuration: configuration, connection: connection, asOf: asOf)
    }

    /// Replays several NDJSON texts as files, in order, in one replay (as `cjmd replay A B C`
    /// would). Returns the summary and, per file, its size and the offset committed for it.
    func replay(files texts: [String]) throws -> (ReplayRunner.Summary, [(size: Int64, committed: Int64?)]) {
        let paths = texts.indices.map { i in
            FileManager.default.temporaryDirectory.appendingPathComponent("cjm-test-\(UUID().uuidString)-\(i).ndjson")
                .path
        }
        for (path, text) in zip(paths, texts) {
            _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        }
        defer { for path in paths { try? FileManager.default.removeItem(atPath: path) } }
        let fixed = now
        var runner = ReplayRunner(settings: configuration.ingest, clock: { fixed }, logger: logger)
        runner.sealAfterClosedInstances = sealAfterClosedInstances
        runner.sealedChunkSize = sealedChunkSize
        let summary = try runner.replay(paths, configuration: configuration, connection: connection, asOf: nil)
        var files: [(size: Int64, committed: Int64?)] = []
        for (path, text) in zip(paths, texts) {
            let stored = try connection.execute(
                "SELECT \"offset\" FROM cjm.source_checkpoints WHERE path = $1", [.text(path)])
            files.append((Int64(text.utf8.count), stored.rowCount > 0 ? try stored.int64(row: 0, column: 0) : nil))
        }
        return (summary, files)
    }

    /// The result of `sql` as text rows.
    func rows(_ sql: String) throws -> [[String?]] {
        let r = try connection.execute(sql)
        return (0..<r.rowCount).map { i in (0..<r.columnCount).map { r.string(row: i, column: $0) } }
    }

    /// Every table and view, as text rows in a canonical order.
    func snapshot() throws -> TablesSnapshot {
        // Sums of doubles depend on the order of addition in their last bits; compare 11 digits.
        try connection.executeScript("SET extra_float_digits = -4")
        defer { try? connection.executeScript("SET extra_float_digits = 3") }
        return TablesSnapshot(
            events: try rows(
                "SELECT event_id, customer_id, ts, event, touchpoint, sentiment, revenue, properties, journey, stages, persona FROM cjm.events ORDER BY event_id"
            ),
            instances: try rows("SELECT * FROM cjm.journey_instances ORDER BY journey, customer_id, instance"),
            moments: try rows("SELECT * FROM cjm.critical_moments ORDER BY journey, customer_id, instance, moment"),
            funnel: try rows("SELECT * FROM cjm.funnel"),
            touchpoints: try rows(
                "SELECT * FROM cjm.touchpoints ORDER BY journey, stage_index, touchpoint, persona COLLATE \"C\""),
            funnelByPersona: try rows("SELECT * FROM cjm.funnel_by_persona"),
            personas: try rows("SELECT * FROM cjm.customer_personas ORDER BY customer_id COLLATE \"C\""),
            repeatLoop: try rows("SELECT * FROM cjm.repeat_loop"),
            repeatTriggers: try rows("SELECT * FROM cjm.repeat_triggers"),
            repeatPending: try rows("SELECT * FROM cjm.repeat_pending ORDER BY journey, customer_id COLLATE \"C\""),
            exitPoints: try rows("SELECT * FROM cjm.exit_points"),
            daily: try rows("SELECT journey, day, stage_index, reached FROM cjm.funnel_daily"),
            rejected: try rows("SELECT source, reason, detail, raw FROM cjm.rejected_events ORDER BY id"),
            watermark: try rows("SELECT watermark, pending_from, alerts_evaluated_through FROM cjm.engine_state"),
            decisions: try rows(
                "SELECT * FROM cjm.stage_decisions ORDER BY journey, stage_index, minute, persona COLLATE \"C\""),
            alerts: try rows(
                """
                SELECT journey, stage_index, stage, window_start, window_end, decided, abandoned, rate, baseline_rate,
                       baseline_decided, z, fired_at, resolved_at, calm_since, persona
                FROM cjm.alerts ORDER BY journey, stage_index, fired_at, persona COLLATE "C"
                """))
    }

    /// Empties every table and drops the day partitions, as a fresh database would be.
    func reset() throws {
        try connection.executeScript(
            """
            TRUNCATE cjm.event_rows, cjm.rejected_events, cjm.instance_rows, cjm.moment_rows, cjm.seal_queue,
                     cjm.sealed_instances, cjm.sealed_moments, cjm.customer_traits,
                     cjm.touchpoint_stats_by_part,
                     cjm.alerts, cjm.source_checkpoints, cjm.stage_decisions_by_part,
                     cjm.funnel_stats_by_part, cjm.time_to_next_by_part, cjm.batch_journal, cjm.customer_personas,
                     cjm.repeat_stats_by_part, cjm.return_time_by_part, cjm.repeat_trigger_stats_by_part, cjm.repeat_pending,
                     cjm.partition_state;
            UPDATE cjm.alert_judge_state SET evaluated_through = NULL;
            TRUNCATE cjm.sources, cjm.stage_ids RESTART IDENTITY;
            UPDATE cjm.engine_state SET watermark = NULL, max_event_time = NULL, pending_from = NULL, next_seq = 1,
                   alerts_evaluated_through = NULL;
            SELECT cjm.drop_day_partitions('event_rows', 'infinity');
            SELECT cjm.drop_day_partitions('rejected_events', 'infinity');
            """)
    }
}

/// The whole observable state of a database, for equality checks.
struct TablesSnapshot: Equatable {
    var events: [[String?]]
    var instances: [[String?]]
    var moments: [[String?]]
    var funnel: [[String?]]
    var touchpoints: [[String?]]
    var funnelByPersona: [[String?]]
    var personas: [[String?]]
    var repeatLoop: [[String?]]
    var repeatTriggers: [[String?]]
    var repeatPending: [[String?]]
    var exitPoints: [[String?]]
    var daily: [[String?]]
    var rejected: [[String?]]
    var watermark: [[String?]]
    var decisions: [[String?]]
    var alerts: [[String?]]

    /// The snapshot without the repeat loop, which counts conversions from schema version 20
    /// on (a database migrated from an earlier version starts it empty; docs/sql.md).
    var withoutRepeatLoop: TablesSnapshot {
        var copy = self
        copy.repeatLoop = []
        copy.repeatTriggers = []
        copy.repeatPending = []
        return copy
    }

    /// Everything derived from events (not the raw rows, whose `seq`/`received_at` differ by run).
    var derived: [[[String?]]] {
        [
            instances, moments, funnel, touchpoints, funnelByPersona, personas, repeatLoop, repeatTriggers,
            repeatPending, exitPoints, daily, decisions, alerts,
        ]
    }
}
