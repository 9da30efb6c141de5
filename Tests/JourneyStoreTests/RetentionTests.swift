import DaemonSettings
import EventDecoding
import Foundation
import IngestEnvelope
import JourneyCore
import Logging
import PostgresClient
import Testing

@testable import JourneyStore

/// docs/storage.md: retention drops whole days of raw events behind the horizon and nothing
/// else; every view reads the same as without retention; a restart after a drop restores
/// exactly; a late event behind the horizon is dead-lettered with its reason; rebuild
/// refuses a history with a hole unless told to rebuild from the retained events.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct RetentionTests {
    static let retention = TimeSpan.days(3)

    static func configuration(retained: Bool) -> CJMConfiguration {
        var configuration = AlertEndToEndTests.configuration()
        if retained { configuration.retention.events = retention }
        return configuration
    }

    /// Ten simulated days, cut into four files replayed one after another, each by a new
    /// replay (so every replay after the first starts by restoring what the last one left,
    /// after retention dropped days).
    static func chunks() -> [[UInt8]] {
        let bytes = AlertEndToEndTests.simulate(days: 10, customers: 4_000, seed: 31, spike: false)
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        let size = (lines.count + 3) / 4
        return stride(from: 0, to: lines.count, by: size).map { start in
            lines[start..<min(start + size, lines.count)].flatMap { Array($0) + [UInt8(ascii: "\n")] }
        }
    }

    static func dayText(_ time: EventTime) -> String { String(time.description.prefix(10)) }

    @Test func dropsExactlyTheDaysBehindTheHorizonAndChangesNoView() throws {
        let chunks = Self.chunks()
        let (without, allDays) = try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(conninfo: conninfo, configuration: Self.configuration(retained: false))
            for chunk in chunks { try harness.replay(bytes: chunk) }
            let days = try harness.rows(
                "SELECT DISTINCT ((ts AT TIME ZONE 'UTC')::date)::text FROM cjm.events ORDER BY 1"
            ).map { $0[0]! }
            return (try harness.snapshot(), days)
        }
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(conninfo: conninfo, configuration: Self.configuration(retained: true))
            // Where retained history began after each replay.
            var droppedBefore: [String?] = []
            for chunk in chunks {
                try harness.replay(bytes: chunk)
                droppedBefore.append(
                    try harness.rows("SELECT events_dropped_before::text FROM cjm.retention_state")[0][0])
            }
            let watermark = EventTime(
                microseconds: try harness.connection.execute("SELECT watermark FROM cjm.engine_state")
                    .timestampMicroseconds(row: 0, column: 0)!)
            let horizon = watermark - Self.retention
            // Exactly the days that end at or before the horizon are gone.
            let keptDays = allDays.filter { $0 >= Self.dayText(horizon) }
            #expect(keptDays.count < allDays.count - 4, "the test must drop several days: \(allDays) \(horizon)")
            let partitions = try harness.rows("SELECT day::text FROM cjm.day_partitions('event_rows')").map { $0[0]! }
            #expect(partitions == keptDays)
            // Dropped while the replays went on (so later replays restored after a drop).
            #expect(droppedBefore.first! == nil)
            #expect(droppedBefore.dropLast().contains { $0 != nil }, "\(droppedBefore)")
            #expect(
                try harness.rows(
                    "SELECT (events_dropped_before AT TIME ZONE 'UTC')::date::text FROM cjm.retention_state")
                    == [[keptDays.first]])
            #expect(
                try harness.rows(
                    "SELECT ((retained_from AT TIME ZONE 'UTC')::date)::text, partitions FROM cjm.storage WHERE relation = 'event_rows'"
                ) == [[keptDays.first, String(keptDays.count)]])
            // Every view and derived table reads as without retention; the raw events are
            // those of the kept days.
            let with = try harness.snapshot()
            #expect(with.derived == without.derived)
            #expect(with.watermark == without.watermark)
            let firstKept = try #require(keptDays.first)
            let keptEvents = without.events.filter { ($0[2] ?? "") >= firstKept }
            #expect(!keptEvents.isEmpty && keptEvents.count < without.events.count)
            #expect(with.events == keptEvents)
            #expect(try harness.rows("SELECT count(*) FROM cjm.rejected_events") == [["0"]])
        }
    }

    @Test func aLateEventBehindTheHorizonIsDeadLetteredWithItsReason() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(conninfo: conninfo, configuration: Self.configuration(retained: true))
            for chunk in Self.chunks() { try harness.replay(bytes: chunk) }
            let before = try harness.snapshot()
            let horizon = try #require(
                try harness.rows(
                    "SELECT to_char((watermark - interval '3 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM cjm.engine_state"
                )[0][0])
            let behind = RFC3339.format(RFC3339.parse(horizon)! - .seconds(1))
            let kept = RFC3339.format(RFC3339.parse(horizon)! + .hours(1))
            // A repeat of a stored event on a kept day is a duplicate, as without retention.
            let stored = try harness.rows(
                "SELECT event_id, customer_id, event, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM cjm.events ORDER BY ts DESC LIMIT 1"
            )[0]
            let lines = [
                #"{"event_id":"late-1","customer_id":"c-late","event":"ad_impression","ts":"\#(behind)","properties":{"a":[1,"x\"y"]}}"#,
                #"{"event_id":"kept-1","customer_id":"c-kept","event":"ad_impression","ts":"\#(kept)"}"#,
                #"{"event_id":"\#(stored[0]!)","customer_id":"\#(stored[1]!)","event":"\#(stored[2]!)","ts":"\#(stored[3]!)"}"#,
            ]
            let summary = try harness.replay(lines.joined(separator: "\n") + "\n")
            #expect(summary.outcome.rejected == 1)
            #expect(summary.outcome.duplicates == 1)
            #expect(summary.outcome.stored == 1)
            let rejected = try harness.rows(
                "SELECT reason, detail, convert_from(raw, 'UTF8') FROM cjm.rejected_events")
            #expect(rejected.count == 1)
            #expect(rejected.first?[0] == "behind_retention")
            #expect(rejected.first?[1]?.hasPrefix("ts: \(behind) is before the retention horizon") == true)
            // The raw column holds the event as accepted: it decodes to the same event.
            let raw = try #require(rejected.first?[2])
            guard
                case .event(let event) = EventDecoder(settings: IngestSettings()).decode(
                    Array(raw.utf8)[...], now: harness.now)
            else {
                Issue.record("the dead letter's raw text is not an event: \(raw)")
                return
            }
            #expect(event.eventID == "late-1" && event.customerID == "c-late" && RFC3339.format(event.time) == behind)
            #expect(event.propertiesJSON == #"{"a":[1,"x\"y"]}"#)
            #expect(
                try harness.rows("SELECT count(*) FROM cjm.events WHERE event_id IN ('late-1', 'kept-1')") == [["1"]])
            // Only the kept event reached the journeys.
            #expect(
                try harness.rows(
                    "SELECT customer_id FROM cjm.journey_instances WHERE customer_id LIKE 'c-%' ORDER BY 1")
                    == [["c-kept"]])
            #expect(try harness.snapshot().funnel != before.funnel)
        }
    }

    @Test func nothingIsDroppedWhileTheJournalHoldsBatches() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(conninfo: conninfo, configuration: Self.configuration(retained: false))
            for chunk in Self.chunks() { try harness.replay(bytes: chunk) }
            let partitions = try harness.rows("SELECT count(*) FROM cjm.day_partitions('event_rows')")
            // A batch waits in the journal, as after a crash between two writes of derived rows.
            _ = try harness.connection.execute(
                "INSERT INTO cjm.batch_journal (first_seq, end_seq, watermark) SELECT next_seq, next_seq, watermark FROM cjm.engine_state"
            )
            let sink = try JourneySink(
                configuration: Self.configuration(retained: true), connection: harness.connection,
                logger: harness.logger)
            #expect(sink.maintainRetention(now: harness.now) == RetentionRun())
            #expect(try harness.rows("SELECT count(*) FROM cjm.day_partitions('event_rows')") == partitions)
            // Once derived rows are written (the journal emptied), the days go.
            try sink.commit(IngestBatch(), watermark: .finish(asOf: nil))
            let dropped = sink.maintainRetention(now: harness.now)
            #expect(dropped.eventDays > 0)
            #expect(
                try harness.rows("SELECT count(*) FROM cjm.day_partitions('event_rows')")
                    == [[String(Int(partitions[0][0]!)! - dropped.eventDays)]])
        }
    }

    @Test func yearsOfHistoryAreDroppedInSeveralTransactions() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let connection = try PostgresConnection(conninfo: conninfo)
            // 152 days of (empty) partitions, more than one transaction drops.
            _ = try connection.execute(
                """
                SELECT count(cjm.ensure_day_partition('event_rows', d::date))
                FROM generate_series(DATE '2026-01-01', DATE '2026-06-01', interval '1 day') d
                """)
            _ = try connection.execute("UPDATE cjm.engine_state SET watermark = '2026-06-05 12:00:00+00'")
            let configuration = Self.configuration(retained: true)
            try JourneySink.publishJourneys(configuration, on: connection)
            let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            let sink = try JourneySink(configuration: configuration, connection: connection, logger: logger)
            #expect(152 > 2 * RetentionKeeper.partitionsPerTransaction)
            // The horizon, 2026-06-02 12:00, ends every day through 2026-06-01.
            #expect(sink.maintainRetention(now: RFC3339.parse("2026-06-05T12:00:00Z")!).eventDays == 152)
            #expect(
                try connection.execute("SELECT count(*) FROM cjm.day_partitions('event_rows')").int64(row: 0, column: 0)
                    == 0)
            #expect(
                try connection.execute(
                    "SELECT (events_dropped_before AT TIME ZONE 'UTC')::date::text FROM cjm.retention_state"
                ).string(row: 0, column: 0) == "2026-06-02")
        }
    }

    @Test func deadLettersGoByTheirReceiveTime() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            var configuration = Self.configuration(retained: false)
            configuration.retention.rejectedEvents = .days(2)
            let connection = try PostgresConnection(conninfo: conninfo)
            try JourneySink.publishJourneys(configuration, on: connection)
            let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            let sink = try JourneySink(configuration: configuration, connection: connection, logger: logger)
            let today = RFC3339.parse("2026-11-22T12:00:00Z")!
            var batch = IngestBatch()
            for daysAgo in 0..<5 {
                batch.rejections.append(
                    RejectedLine(
                        reason: .invalidJSON, detail: "line: test", raw: Array("x\(daysAgo)".utf8), source: "t",
                        receivedAt: today - .days(Int64(daysAgo))))
            }
            try sink.commit(batch, watermark: .live(now: today))
            #expect(sink.maintainRetention(now: today).rejectedDays == 2)
            // Received 2026-11-18 and -19 are gone; -20 ends after the horizon (-20 12:00).
            let left = try connection.execute("SELECT convert_from(raw, 'UTF8') FROM cjm.rejected_events ORDER BY 1")
            #expect((0..<left.rowCount).map { left.string(row: $0, column: 0) } == ["x0", "x1", "x2"])
            #expect(
                try connection.execute(
                    "SELECT (rejected_dropped_before AT TIME ZONE 'UTC')::date::text FROM cjm.retention_state"
                ).string(row: 0, column: 0) == "2026-11-20")
            // Nothing more is due the same day.
            #expect(sink.maintainRetention(now: today + .hours(1)) == RetentionRun())
        }
    }

    @Test func rebuildRefusesAHistoryWithAHoleUnlessToldToUseTheRetainedEvents() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let configuration = Self.configuration(retained: true)
            let harness = try StoreHarness(conninfo: conninfo, configuration: configuration)
            for chunk in Self.chunks() { try harness.replay(bytes: chunk) }
            let before = try harness.snapshot()
            #expect(throws: JourneyRebuilder.HistoryDropped.self) {
                try JourneyRebuilder.rebuild(
                    configuration: configuration, connection: harness.connection, logger: harness.logger)
            }
            #expect(try harness.snapshot() == before)
            let droppedBefore = try #require(try JourneyRebuilder.eventsDroppedBefore(on: harness.connection))
            let summary = try JourneyRebuilder.rebuild(
                configuration: configuration, connection: harness.connection, logger: harness.logger,
                fromRetained: true)
            #expect(summary.retainedFrom == droppedBefore)
            #expect(summary.events == before.events.count)
            let after = try harness.snapshot()
            // Recomputed from the retained events alone: no instance began before them, and
            // fewer customers reached the first stage than with the whole history.
            #expect(
                try harness.rows(
                    "SELECT count(*) FROM cjm.journey_instances WHERE entered_at < (SELECT events_dropped_before FROM cjm.retention_state)"
                ) == [["0"]])
            #expect(after.funnel != before.funnel)
            #expect(after.events == before.events)
            #expect(after.watermark == before.watermark)
        }
    }
}
