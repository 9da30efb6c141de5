import DaemonSettings
import Foundation
import JourneyCore
import JourneyStore
import PostgresClient
import Testing

/// `cjm_reader` (docs/sql.md): dashboards can read every view and analytical table, the dead
/// letters without their raw bytes, and can change nothing (issue 7, least privilege).
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct ReaderRoleTests {
    @Test func readerReadsViewsButNotRawDeadLettersAndWritesNothing() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(
                conninfo: conninfo, configuration: CJMConfiguration(journeys: DeadLetterTests.journeys))
            try harness.replay(
                """
                {"customer_id":"a","event":"visit","ts":"2026-01-01T00:00:00Z"}
                not json at all
                """)
            let c = harness.connection
            try c.executeScript("SET ROLE cjm_reader")
            defer { try? c.executeScript("RESET ROLE") }
            for readable in [
                "cjm.funnel", "cjm.funnel_daily", "cjm.touchpoints", "cjm.exit_points", "cjm.dropoff_hourly",
                "cjm.events", "cjm.journey_instances", "cjm.critical_moments", "cjm.alerts",
                "cjm.stage_decisions", "cjm.storage", "cjm.funnel_stats", "cjm.time_to_next",
                "cjm.time_to_next_percentiles", "cjm.event_rows", "cjm.sources", "cjm.stage_ids", "cjm.instance_rows",
                "cjm.moment_rows", "cjm.sealed_instances", "cjm.sealed_moments", "cjm.funnel_by_persona",
                "cjm.customer_personas", "cjm.journey_map", "cjm.repeat_loop", "cjm.repeat_triggers",
                "cjm.repeat_stats", "cjm.return_time", "cjm.repeat_trigger_stats", "cjm.repeat_pending",
                "cjm.return_time_percentiles", "cjm.funnel_stats_by_part", "cjm.stage_decisions_by_part",
                "cjm.touchpoint_stats_by_part", "cjm.partition_state", "cjm.alert_judge_state",
            ] {
                #expect(throws: Never.self, "\(readable)") { _ = try c.execute("SELECT * FROM \(readable) LIMIT 1") }
            }
            #expect(throws: Never.self) {
                _ = try c.execute("SELECT * FROM cjm.funnel_between('shop', '-infinity', 'infinity')")
                _ = try c.execute("SELECT * FROM cjm.funnel_between('shop', '-infinity', 'infinity', 'unknown')")
            }
            let deadLetters = try c.execute("SELECT reason, detail, source FROM cjm.rejected_events")
            #expect(deadLetters.rowCount == 1)

            func refused(_ sql: String) -> Bool {
                do {
                    _ = try c.execute(sql)
                    return false
                } catch {
                    return error.sqlState == "42501"  // insufficient_privilege
                }
            }
            #expect(refused("SELECT raw FROM cjm.rejected_events"))
            #expect(
                refused(
                    "INSERT INTO cjm.event_rows (event_key, customer_id, ts, event, touchpoint, source_id, received_at, seq) VALUES ('\\x78ff', 'x', now(), 'x', 'x', 1, now(), 0)"
                ))
            #expect(refused("UPDATE cjm.funnel_stats_by_part SET reached = 0"))
            #expect(refused("UPDATE cjm.partition_state SET stream_sequence = 0"))
            #expect(refused("DELETE FROM cjm.instance_rows"))
            #expect(refused("DELETE FROM cjm.sealed_instances"))
            #expect(refused("TRUNCATE cjm.alerts"))
            #expect(refused("UPDATE cjm.engine_state SET watermark = NULL"))
            #expect(refused("CREATE TABLE cjm.intruder (x int)"))
        }
    }
}
