import DaemonSettings
import JourneyCore
import JourneyStore
import PostgresClient
import Testing

/// Migration 014 moves the rows of `cjm.events` into `cjm.event_rows` (numbered sources and
/// stages, primary key (ts, event_id)) and makes `cjm.events` a view that reads exactly what
/// the table held: every column of every event, from a database written by version 13 with
/// two sources and two journeys.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct CompactEventsMigrationTests {
    /// Two journeys, so that some events map to a stage of each.
    static func configuration(lookStage: String = "look") -> CJMConfiguration {
        var configuration = RetentionTests.configuration(retained: false)
        configuration.journeys.append(
            JourneyDefinition(
                name: "browse", conversionWindow: .days(3),
                stages: [
                    StageDefinition(name: lookStage, events: [EventPattern("product_view")]),
                    StageDefinition(name: "buy", events: [EventPattern("payment_done")]),
                ]))
        return configuration
    }

    static func halves() -> [String] {
        let lines = String(decoding: RetentionTests.chunks()[0], as: UTF8.self).split(separator: "\n")
        return [
            lines[..<(lines.count / 2)].joined(separator: "\n") + "\n",
            lines[(lines.count / 2)...].joined(separator: "\n") + "\n",
        ]
    }

    @Test func aVersionThirteenDatabaseReadsTheSameThroughTheView() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(conninfo: conninfo, configuration: Self.configuration())
            try harness.replay(files: Self.halves())
            let events = try harness.rows(PartitionMigrationTests.allEvents)
            let snapshot = try harness.snapshot()
            // Both journeys and both sources are in the data (else this test proves little).
            #expect(try harness.rows("SELECT count(DISTINCT source) FROM cjm.events") == [["2"]])
            #expect(
                try harness.rows("SELECT count(*) FROM cjm.events WHERE stages ?& ARRAY['purchase', 'browse']")
                    != [["0"]])
            #expect(try harness.rows("SELECT count(*) FROM cjm.events WHERE stages IS NULL") != [["0"]])

            try harness.connection.executeScript(SchemaDowngrade.toVersion13)
            #expect(
                try harness.rows("SELECT relkind::text FROM pg_class WHERE oid = 'cjm.events'::regclass") == [["p"]])
            #expect(try harness.rows(PartitionMigrationTests.allEvents) == events)
            #expect(try Migrator.migrate(harness.connection) == Array(14...Migrator.latestVersion))

            #expect(
                try harness.rows("SELECT relkind::text FROM pg_class WHERE oid = 'cjm.events'::regclass") == [["v"]])
            #expect(try harness.rows(PartitionMigrationTests.allEvents) == events)
            #expect(try harness.snapshot().withoutRepeatLoop == snapshot.withoutRepeatLoop)
            // Two bytes per matched journey; the key leads with the time.
            #expect(
                try harness.rows(
                    """
                    SELECT count(*) FROM cjm.event_rows e
                    WHERE coalesce(length(e.stage_ids), 0) <> 2 * coalesce((SELECT count(*) FROM jsonb_object_keys(
                        cjm.stage_map(e.stage_ids))), 0)
                    """) == [["0"]])
            // Each day's partition has its unique index on the time and the key's 16 bytes.
            #expect(
                try harness.rows(
                    """
                    SELECT count(*) FROM cjm.day_partitions('event_rows') p
                    WHERE NOT EXISTS (SELECT 1 FROM pg_indexes i
                                      WHERE i.schemaname = 'cjm' AND i.tablename = p.relation
                                        AND i.indexdef LIKE 'CREATE UNIQUE INDEX % (ts, cjm.event_key_hash(event_key))')
                    """) == [["0"]])
            #expect(try harness.rows("SELECT count(*) > 1 FROM cjm.day_partitions('event_rows')") == [["t"]])
            // The daemon goes on: a repeat is a duplicate.
            let again = try harness.replay(files: [Self.halves()[1]])
            #expect(again.0.outcome.duplicates > 0 && again.0.outcome.stored == 0)
            #expect(try harness.rows("SELECT count(*) FROM cjm.events") == [[String(events.count)]])
        }
    }

    /// A stage renamed in the configuration gets a new number; the events stored under the
    /// old name keep it.
    @Test func storedEventsKeepTheirStageNamesWhenTheConfigurationChanges() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let halves = Self.halves()
            let first = try StoreHarness(conninfo: conninfo, configuration: Self.configuration())
            try first.replay(halves[0])
            let before = try first.rows("SELECT seq, stages FROM cjm.events ORDER BY seq")
            #expect(before.contains { $0[1]?.contains("\"look\"") == true })

            let renamed = try StoreHarness(conninfo: conninfo, configuration: Self.configuration(lookStage: "viewed"))
            try renamed.replay(halves[1])
            let after = try renamed.rows("SELECT seq, stages FROM cjm.events ORDER BY seq")
            #expect(Array(after.prefix(before.count)) == before)
            let later = after.dropFirst(before.count)
            #expect(later.contains { $0[1]?.contains("\"viewed\"") == true })
            #expect(!later.contains { $0[1]?.contains("\"look\"") == true })
            #expect(
                try renamed.rows("SELECT stage FROM cjm.stage_ids WHERE journey = 'browse' ORDER BY id")
                    == [["look"], ["buy"], ["viewed"]])
        }
    }
}
