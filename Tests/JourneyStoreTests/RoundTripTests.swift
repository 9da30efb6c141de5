import DaemonSettings
import Foundation
import JourneyCore
import JourneyReference
import JourneyStore
import PostgresClient
import Testing

/// Strings with every character that trips up an escaping layer — quotes, backslashes, tabs,
/// newlines, COPY's `\N` and `\.`, emoji, non-Latin scripts, combining marks, every Unicode
/// plane — go through JSON decoding, COPY and PostgreSQL and come back byte for byte, in the
/// raw events and in the derived tables (issue 7).
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct RoundTripTests {
    static let fragments = [
        "\"", "\\", "\t", "\n", "\r", "\r\n", "\\N", "\\.", "'", "''", ";--", "$$", "{", "}", "[]", ",", " ",
        "😀", "👩‍👩‍👧", "🇩🇪", "日本語", "中文", "한국어", "العربية", "עברית", "Ελληνικά", "Кириллица", "हिन्दी",
        "e\u{301}", "\u{FEFF}", "\u{2028}", "\u{1}", "\u{1F}", "\u{7F}", "\u{A0}", "\u{FFFD}", "\u{10000}",
        "\u{20000}", "\u{E0001}", "\u{F0000}", "\u{10FFFD}", "%s", "%n", "NULL", "null", "true", "0x00",
    ]

    static let journeys = [
        JourneyDefinition(
            name: "any", conversionWindow: .days(7),
            stages: [
                StageDefinition(name: "first", events: [EventPattern("*")]),
                StageDefinition(name: "second", events: [EventPattern("no event is called this")]),
            ])
    ]

    struct Expected {
        var id, customer, event, touchpoint, note: String
    }

    @Test func awkwardStringsComeBackByteForByte() throws {
        let count = Self.fragments.count
        var expected: [Expected] = []
        var lines = ""
        for i in 0..<(count * 3) {
            func mix(_ k: Int) -> String {
                Self.fragments[(i + k) % count] + Self.fragments[(i * 7 + k) % count]
                    + Self.fragments[(i / 3 + k) % count]
            }
            let row = Expected(
                id: "id\(i)-" + mix(1), customer: mix(2) + "\(i)", event: mix(3),
                touchpoint: mix(4), note: mix(5))
            expected.append(row)
            // Every other line escapes all non-ASCII as \u (surrogate pairs beyond the BMP).
            func json(_ text: String) -> String { JSONText.string(text, escapingNonASCII: i % 2 == 1) }
            let ts = "2026-03-01T10:\(String(format: "%02d", i / 60 % 60)):\(String(format: "%02d", i % 60))Z"
            lines +=
                "{\"event_id\":\(json(row.id)),\"customer_id\":\(json(row.customer)),"
                + "\"event\":\(json(row.event)),\"ts\":\"\(ts)\",\"touchpoint\":\(json(row.touchpoint)),"
                + "\"properties\":{\"note\":\(json(row.note)),\(json(row.note)):1}}\n"
        }
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(conninfo: conninfo, configuration: CJMConfiguration(journeys: Self.journeys))
            let summary = try harness.replay(lines)
            #expect(summary.outcome.rejected == 0)
            #expect(summary.outcome.stored == expected.count)
            let c = harness.connection
            let events = try c.execute(
                """
                SELECT event_id, customer_id, event, touchpoint, properties->>'note', properties ? (properties->>'note')
                FROM cjm.events
                """)
            var byID: [[UInt8]: [String?]] = [:]
            for row in 0..<events.rowCount {
                let values = (0..<6).map { events.string(row: row, column: $0) }
                byID[Array((values[0] ?? "").utf8)] = values
            }
            #expect(byID.count == expected.count)
            for row in expected {
                let stored = try #require(byID[Array(row.id.utf8)], "event \(row.id.debugDescription) missing")
                #expect(
                    stored[1].map { Array($0.utf8) } == Array(row.customer.utf8),
                    "customer \(row.customer.debugDescription)")
                #expect(
                    stored[2].map { Array($0.utf8) } == Array(row.event.utf8), "event \(row.event.debugDescription)")
                #expect(
                    stored[3].map { Array($0.utf8) } == Array(row.touchpoint.utf8),
                    "touchpoint \(row.touchpoint.debugDescription)")
                #expect(stored[4].map { Array($0.utf8) } == Array(row.note.utf8), "note \(row.note.debugDescription)")
                #expect(stored[5] == "t", "property key \(row.note.debugDescription)")
            }
            // The derived tables carry the same bytes: each customer's instance names its last
            // event and touchpoint, and the touchpoint tallies name every touchpoint.
            let instances = try c.execute("SELECT customer_id, last_event, last_touchpoint FROM cjm.journey_instances")
            var instanceByCustomer: [[UInt8]: ([UInt8], [UInt8])] = [:]
            for row in 0..<instances.rowCount {
                instanceByCustomer[Array((instances.string(row: row, column: 0) ?? "").utf8)] =
                    (
                        Array((instances.string(row: row, column: 1) ?? "").utf8),
                        Array((instances.string(row: row, column: 2) ?? "").utf8)
                    )
            }
            #expect(instanceByCustomer.count == Set(expected.map { Array($0.customer.utf8) }).count)
            for row in expected {
                let instance = instanceByCustomer[Array(row.customer.utf8)]
                #expect(instance?.0 == Array(row.event.utf8), "last_event of \(row.customer.debugDescription)")
                #expect(
                    instance?.1 == Array(row.touchpoint.utf8), "last_touchpoint of \(row.customer.debugDescription)")
            }
            let touchpoints = try c.execute("SELECT DISTINCT touchpoint FROM cjm.touchpoint_stats")
            let storedTouchpoints = Set(
                (0..<touchpoints.rowCount).map { Array((touchpoints.string(row: $0, column: 0) ?? "").utf8) })
            #expect(storedTouchpoints == Set(expected.map { Array($0.touchpoint.utf8) }))
        }
    }
}
