import DaemonSettings
import JourneyCore
import Logging
import PostgresClient

/// `cjmd rebuild`: recomputes every derived table from `cjm.events` under the current journey
/// definitions, in one transaction (readers see the old numbers until it commits).
///
/// Events are applied in (`ts`, arrival) order — as a replay with unlimited lateness would —
/// so no event is late in a rebuild. The watermark ends where it was before, so deadlines
/// that had fired fire again and nothing fires early.
public enum JourneyRebuilder {
    /// What a rebuild did.
    public struct Summary: Sendable {
        public var events = 0
        public var watermark: EventTime?
        /// When retention had dropped history: the time from which events were kept, the
        /// only ones this rebuild recomputed from.
        public var retainedFrom: EventTime?
    }

    /// Retention dropped events, and the rebuild was not told to recompute from the rest.
    public struct HistoryDropped: Error, CustomStringConvertible, Sendable {
        /// Every event before this time is gone.
        public var droppedBefore: EventTime
        public var description: String {
            "retention dropped every event before \(droppedBefore); a rebuild recomputes the journeys from "
                + "cjm.events alone, so it would replace the instances, critical moments, funnel and alerts of all "
                + "time with those of the retained events. Nothing was changed. To do that anyway, run "
                + "`cjmd rebuild --from-retained` (docs/storage.md says what it recomputes)"
        }
    }

    /// When retention has dropped events: the time before which they are gone.
    public static func eventsDroppedBefore(on connection: PostgresConnection) throws -> EventTime? {
        let result = try connection.execute("SELECT events_dropped_before FROM cjm.retention_state WHERE id = 1")
        guard result.rowCount == 1 else { return nil }
        return try result.timestampMicroseconds(row: 0, column: 0).map { EventTime(microseconds: $0) }
    }

    public static let defaultChunk = 20_000

    /// - Parameters:
    ///   - fromRetained: rebuild even when retention dropped events: from the retained ones
    ///     alone. Without it, such a database throws ``HistoryDropped``.
    ///   - chunk: events read and applied at a time (each chunk ends with a derived write).
    ///   - sealAfterClosedInstances: see ``JourneySink/WritePolicy/sealAfterClosedInstances``.
    public static func rebuild(
        configuration: CJMConfiguration, connection: PostgresConnection, logger: Logger, fromRetained: Bool = false,
        chunk: Int = defaultChunk,
        sealAfterClosedInstances: Int = JourneySink.WritePolicy().sealAfterClosedInstances
    ) throws -> Summary {
        if !fromRetained, let droppedBefore = try eventsDroppedBefore(on: connection) {
            throw HistoryDropped(droppedBefore: droppedBefore)
        }
        try JourneySink.publishJourneys(configuration, on: connection)
        return try connection.transaction {
            var summary = Summary()
            // Read again under the transaction: retention may have run since the check above.
            summary.retainedFrom = try eventsDroppedBefore(on: connection)
            if !fromRetained, let droppedBefore = summary.retainedFrom {
                throw HistoryDropped(droppedBefore: droppedBefore)
            }
            // Counted as a batch transaction, which also locks the row: a daemon or replay on
            // this database waits, then restores its engine from the rebuilt tables.
            let state = try connection.execute(
                "UPDATE cjm.engine_state SET commits = commits + 1 WHERE id = 1 RETURNING watermark")
            let oldWatermark = try state.rowCount == 1 ? state.timestampMicroseconds(row: 0, column: 0) : nil
            summary.watermark = oldWatermark.map { EventTime(microseconds: $0) }
            try connection.executeScript(
                """
                TRUNCATE cjm.instance_rows, cjm.moment_rows, cjm.seal_queue, cjm.sealed_instances, cjm.sealed_moments,
                         cjm.touchpoint_stats_by_part,
                         cjm.alerts, cjm.stage_decisions_by_part, cjm.funnel_stats_by_part, cjm.time_to_next_by_part, cjm.batch_journal,
                         cjm.customer_personas, cjm.repeat_stats_by_part, cjm.return_time_by_part, cjm.repeat_trigger_stats_by_part,
                         cjm.repeat_pending, cjm.partition_state;
                UPDATE cjm.alert_judge_state SET evaluated_through = NULL, updated_at = now();
                -- Shards' events are numbered per partition (docs/scaling.md): what this
                -- database's single daemon numbers next comes after all of them.
                UPDATE cjm.engine_state SET watermark = NULL, max_event_time = NULL, pending_from = NULL,
                       alerts_evaluated_through = NULL, updated_at = now(),
                       next_seq = greatest(next_seq, (SELECT coalesce(max(seq), 0) + 1 FROM cjm.event_rows))
                WHERE id = 1;
                CREATE TEMP TABLE IF NOT EXISTS rebuild_stages (event_key bytea, ts timestamptz, stage_ids bytea)
                    ON COMMIT DROP;
                DECLARE rebuild_events NO SCROLL CURSOR FOR
                    SELECT \(StoredEventRow.columns) FROM cjm.event_rows ORDER BY ts, seq;
                """)
            // History was announced when it happened: recomputing it announces nothing.
            var policy = JourneySink.WritePolicy()
            policy.announcesAlerts = false
            policy.sealAfterClosedInstances = sealAfterClosedInstances
            let sink = try JourneySink(
                configuration: configuration, connection: connection, logger: logger, policy: policy)
            while true {
                let rows = try connection.execute("FETCH \(chunk) FROM rebuild_events")
                if rows.rowCount == 0 { break }
                var events: [StoredEvent] = []
                events.reserveCapacity(rows.rowCount)
                for row in 0..<rows.rowCount {
                    let stored = try StoredEventRow.decode(rows, row: row)
                    events.append(
                        StoredEvent(
                            event: stored.event, sequence: stored.sequence,
                            stages: sink.catalog.stageMap(for: stored.event), source: ""))
                }
                // Re-map stages under the current definitions.
                try connection.copyInBinary("COPY pg_temp.rebuild_stages FROM STDIN (FORMAT binary)") { writer in
                    for stored in events {
                        writer.appendEventKey(stored.event.eventID)
                        writer.appendTimestamp(microsecondsSinceEpoch: stored.event.time.microseconds)
                        writer.appendBytes(sink.storedStageBytes(stored.stages))
                        try writer.endRow()
                    }
                }
                // Chunks follow `ts`: the range keeps the update to the chunk's days' partitions.
                _ = try connection.execute(
                    """
                    UPDATE cjm.event_rows e SET stage_ids = r.stage_ids FROM pg_temp.rebuild_stages r
                    WHERE e.ts BETWEEN $1 AND $2 AND e.event_key = r.event_key AND e.ts = r.ts
                      AND e.stage_ids IS DISTINCT FROM r.stage_ids
                    """,
                    [
                        .timestamp(microsecondsSinceEpoch: events[0].event.time.microseconds),
                        .timestamp(microsecondsSinceEpoch: events[events.count - 1].event.time.microseconds),
                    ])
                _ = try connection.execute("TRUNCATE pg_temp.rebuild_stages")
                summary.events += events.count
                // Everything before the last time of this chunk is complete: release it.
                let through = events[events.count - 1].event.time
                let limit = oldWatermark.map { min(through, EventTime(microseconds: $0)) } ?? through
                try sink.applyStored(events, rule: .through(limit))
            }
            _ = try connection.execute("CLOSE rebuild_events")
            if let oldWatermark {
                try sink.applyStored([], rule: .through(EventTime(microseconds: oldWatermark)))
            } else {
                try sink.applyStored([], rule: .finish(asOf: nil))
            }
            return summary
        }
    }
}
