import DaemonSettings
import Foundation
import JourneyCore
import JourneyStore
import PostgresClient
import Testing

/// Every rejection reason of docs/events.md lands in `cjm.rejected_events` with the raw bytes, the
/// source and a detail naming the field; good lines around bad ones are never lost.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct DeadLetterTests {
    static let journeys = [
        JourneyDefinition(
            name: "shop", conversionWindow: .days(7),
            stages: [
                StageDefinition(name: "visit", events: [EventPattern("visit")]),
                StageDefinition(name: "buy", events: [EventPattern("buy")]),
            ])
    ]

    static func configuration() -> CJMConfiguration {
        var configuration = CJMConfiguration(journeys: journeys)
        configuration.ingest.maxLineBytes = 256
        configuration.ingest.batchMaxEvents = 7
        return configuration
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var reason: String
        var line: [UInt8]
        /// A word the detail must contain (the field it names).
        var detailMentions: String
        var testDescription: String { reason }
    }

    static let cases: [Case] = [
        Case(
            reason: "invalid_utf8",
            line: Array(#"{"customer_id":"a"#.utf8) + [0xFF, 0xFE]
                + Array(#"","event":"visit","ts":"2026-01-01T00:00:00Z"}"#.utf8), detailMentions: "UTF-8"),
        Case(
            reason: "invalid_json", line: Array(#"{"customer_id": "a", "event": "visit", "ts": }"#.utf8),
            detailMentions: "expected a value"),
        Case(reason: "not_an_object", line: Array(#"["customer_id", "a"]"#.utf8), detailMentions: "object"),
        Case(
            reason: "missing_field", line: Array(#"{"event":"visit","ts":"2026-01-01T00:00:00Z"}"#.utf8),
            detailMentions: "customer_id"),
        Case(
            reason: "invalid_field",
            line: Array(#"{"customer_id":42,"event":"visit","ts":"2026-01-01T00:00:00Z"}"#.utf8),
            detailMentions: "customer_id"),
        Case(
            reason: "invalid_field",
            line: Array(#"{"customer_id":"a","event":"visit","ts":"2026-01-01T00:00:00Z","sentiment":3}"#.utf8),
            detailMentions: "sentiment"),
        Case(
            reason: "ts_out_of_range",
            line: Array(#"{"customer_id":"a","event":"visit","ts":"1999-12-31T23:59:59Z"}"#.utf8), detailMentions: "ts"),
        Case(
            reason: "ts_out_of_range",
            line: Array(#"{"customer_id":"a","event":"visit","ts":"2030-01-01T00:00:00Z"}"#.utf8), detailMentions: "ts"),
        Case(
            reason: "line_too_long",
            line: Array(#"{"customer_id":"a","event":"visit","ts":"2026-01-01T00:00:00Z","properties":{"pad":""#.utf8)
                + Array(repeating: UInt8(ascii: "x"), count: 5000) + Array(#""}}"#.utf8), detailMentions: "256"),
    ]

    @Test(arguments: cases)
    func eachRejectionIsStoredWithReasonDetailAndRawBytes(_ testCase: Case) throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(conninfo: conninfo, configuration: Self.configuration())
            let summary = try harness.replay(bytes: testCase.line + [0x0A])
            #expect(summary.outcome.rejected == 1)
            #expect(summary.outcome.stored == 0)
            let rows = try harness.connection.execute("SELECT reason, detail, raw, source FROM cjm.rejected_events")
            try #require(rows.rowCount == 1)
            #expect(rows.string(row: 0, column: 0) == testCase.reason)
            let detail = rows.string(row: 0, column: 1) ?? ""
            #expect(detail.contains(testCase.detailMentions), "detail: \(detail)")
            let raw = try rows.bytea(row: 0, column: 2) ?? []
            #expect(raw == Array(testCase.line.prefix(256)))
            #expect(rows.string(row: 0, column: 3)?.hasPrefix("replay:") == true)
        }
    }

    @Test func mixedGoodAndBadLinesLoseNoGoodLine() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(conninfo: conninfo, configuration: Self.configuration())
            var bytes: [UInt8] = []
            var good = 0
            var bad = 0
            let start = RFC3339.parse("2026-03-01T00:00:00Z")!
            for i in 0..<600 {
                let time = RFC3339.format(start + TimeSpan.seconds(Int64(i)))
                let line =
                    #"{"event_id":"g\#(i)","customer_id":"c\#(i % 37)","event":"\#(i % 3 == 0 ? "buy" : "visit")","ts":"\#(time)"}"#
                bytes += Array(line.utf8) + [0x0A]
                good += 1
                if i % 5 == 0 {
                    let garbage = Self.cases[i / 5 % Self.cases.count].line
                    bytes += garbage + [0x0A]
                    bad += 1
                }
            }
            let summary = try harness.replay(bytes: bytes)
            #expect(summary.outcome.stored == good)
            #expect(summary.outcome.rejected == bad)
            let stored = try harness.connection.execute(
                "SELECT count(*), count(DISTINCT event_id) FROM cjm.events WHERE event_id LIKE 'g%'")
            #expect(try stored.int64(row: 0, column: 0) == Int64(good))
            #expect(try stored.int64(row: 0, column: 1) == Int64(good))
            let rejected = try harness.connection.execute("SELECT count(*) FROM cjm.rejected_events")
            #expect(try rejected.int64(row: 0, column: 0) == Int64(bad))
        }
    }

    @Test func migrateIsIdempotentAndRecordsVersions() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let connection = try PostgresConnection(conninfo: conninfo)
            #expect(try Migrator.migrate(connection).isEmpty)
            #expect(try Migrator.currentVersion(connection) == Migrator.latestVersion)
            let recorded = try connection.execute("SELECT count(*) FROM cjm.schema_migrations")
            #expect(try recorded.int64(row: 0, column: 0) == Int64(Migrator.latestVersion))
        }
    }

    /// An older binary must not write into a schema a newer one migrated: it stops before
    /// applying or writing anything, and says which versions met.
    @Test func databaseMigratedByANewerBinaryIsRefused() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let connection = try PostgresConnection(conninfo: conninfo)
            let newer = Migrator.latestVersion + 1
            _ = try connection.execute(
                "INSERT INTO cjm.schema_migrations (version, name) VALUES ($1, 'from_a_newer_cjmd')",
                [.int(Int64(newer))])
            // A migration this binary knows is missing too: it must not be applied either.
            _ = try connection.execute("DELETE FROM cjm.schema_migrations WHERE version = 1")
            #expect(throws: SchemaNewerThanBinaryError(databaseVersion: newer, binaryVersion: Migrator.latestVersion)) {
                try Migrator.migrate(connection)
            }
            let recorded = try connection.execute("SELECT count(*) FROM cjm.schema_migrations WHERE version = 1")
            #expect(try recorded.int64(row: 0, column: 0) == 0)
            let error = SchemaNewerThanBinaryError(databaseVersion: newer, binaryVersion: Migrator.latestVersion)
            #expect(error.description.contains("version \(newer)"))
            #expect(error.description.contains("newer cjmd"))
        }
    }

    /// Every file in sql/migrations is embedded, in order.
    @Test func everyMigrationFileIsEmbedded() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../sql/migrations").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }
            .sorted()
        #expect(files.count == Migrator.latestVersion)
        for (index, file) in files.enumerated() {
            #expect(file.hasPrefix(String(format: "%03d_", index + 1)), "\(file) out of sequence")
        }
    }
}
