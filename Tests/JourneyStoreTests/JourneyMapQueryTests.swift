import DaemonSettings
import Foundation
import JourneyConfig
import JourneyCore
import JourneyMap
import JourneySimulator
import JourneyStore
import PostgresClient
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// `cjmd map` from a fixed database state: the shipped journey (with its target), simulated
/// customers replayed. Every stage name and every number on the page equals the views'
/// value as ``MapFormat`` writes it, and the page asks for nothing outside itself.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct JourneyMapQueryTests {
    static func configuration() throws -> CJMConfiguration {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/cjmd.yaml").path
        return try ConfigurationLoader.load(path: path)
    }

    static func events(_ configuration: CJMConfiguration) -> [UInt8] {
        var options = SimulationOptions()
        options.seed = 11
        options.customers = 3_000
        var simulator = JourneySimulator(journeys: configuration.journeys, options: options)
        var bytes: [UInt8] = []
        simulator.run { bytes += $0 }
        return bytes
    }

    @Test func everyStageNameAndNumberOnTheMapIsTheViews() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let configuration = try Self.configuration()
            let harness = try StoreHarness(conninfo: conninfo, configuration: configuration)
            try harness.replay(bytes: Self.events(configuration))
            let now = try #require(RFC3339.parse("2026-12-07T09:00:00Z"))
            let map = try #require(try JourneyMapQuery.load(harness.connection, journey: "purchase", now: now))
            let html = JourneyMapRenderer.render(map)
            let lanes = try Self.lanes(of: html)

            let funnel = try harness.rows(
                """
                SELECT stage, reached, customers, step_conversion, overall_conversion, drop_off, abandoned, expired,
                       active, median_time_to_next, p90_time_to_next, avg_sentiment, revenue
                FROM cjm.funnel WHERE journey = 'purchase' ORDER BY stage_index
                """)
            #expect(funnel.count == 4)
            #expect(map.stages.map(\.name) == funnel.map { $0[0] ?? "" })
            func count(_ text: String?) -> String { MapFormat.count(Int64(text ?? "") ?? -1) }
            for (index, row) in funnel.enumerated() {
                #expect(html.contains(">\(row[0] ?? "")</text>"), "stage \(row[0] ?? "") is drawn")
                let reach = try #require(lanes["reach"]?[index])
                #expect(reach["reached"] == count(row[1]))
                #expect(reach["customers"] == count(row[2]))
                #expect(reach["to next stage"] == MapFormat.percent(row[3].flatMap(Double.init)))
                #expect(reach["of entries"] == MapFormat.percent(row[4].flatMap(Double.init)))
                let dropOff = try #require(lanes["dropoff"]?[index])
                #expect(dropOff["lost here"] == (row[5] == nil ? "–" : count(row[5])))
                #expect(dropOff["abandoned"] == count(row[6]))
                #expect(dropOff["expired"] == count(row[7]))
                #expect(dropOff["still active"] == count(row[8]))
                let time = try #require(lanes["time"]?[index])
                #expect(time["median"] == MapFormat.duration(row[9].flatMap(Double.init)))
                #expect(time["90th percentile"] == MapFormat.duration(row[10].flatMap(Double.init)))
                let emotion = try #require(lanes["emotion"]?[index])
                #expect(emotion["average sentiment"] == MapFormat.sentiment(row[11].flatMap(Double.init)))
                let moments = try #require(lanes["moments"]?[index])
                #expect(moments["revenue"] == MapFormat.money(row[12]))
            }
            // The target of the shipped configuration, and the opportunity it gives.
            #expect(lanes["reach"]?[1]["target"] == "45.0 %")
            #expect(lanes["time"]?[1]["target median"] == "2.0 d")
            let opportunity = try harness.rows(
                "SELECT missing_to_target, opportunity_revenue FROM cjm.journey_map WHERE persona = '*' AND opportunity_rank = 1"
            )
            #expect(opportunity.count == 1)
            let row =
                "<td>1</td><td>consideration</td><td>\(count(opportunity.first?[0]))</td>"
                + "<td>\(MapFormat.money(opportunity.first?[1]))</td>"
            #expect(html.contains(row), "the opportunity row \(row)")

            // Critical moments and the top exits, from their views.
            let flagged = try harness.rows(
                """
                SELECT stage_index, count(*), count(recovered_at) FROM cjm.critical_moments
                WHERE journey = 'purchase' AND reason = 'inactive' GROUP BY 1 ORDER BY 1
                """)
            #expect(!flagged.isEmpty, "the simulation abandons customers")
            for moment in flagged {
                let index = Int(moment[0] ?? "") ?? -1
                #expect(lanes["moments"]?[index]["flagged"] == count(moment[1]))
                #expect(lanes["moments"]?[index]["came back"] == count(moment[2]))
            }
            let exits = try harness.rows(
                """
                SELECT last_event, last_touchpoint, abandonments FROM cjm.exit_points
                WHERE journey = 'purchase' AND rank = 1 ORDER BY stage_index
                """)
            for exit in exits {
                #expect(html.contains("\(exit[0] ?? "") @ \(exit[1] ?? ""): \(count(exit[2]))"))
            }
            let touchpoints = try harness.rows(
                """
                SELECT touchpoint, customers FROM cjm.touchpoints WHERE journey = 'purchase' AND stage_index = 0
                ORDER BY customers DESC, touchpoint LIMIT 5
                """)
            #expect(touchpoints.count == 5)
            for touchpoint in touchpoints {
                #expect(html.contains(">\(touchpoint[0] ?? "") \(count(touchpoint[1]))</text>"))
            }
            // The loop back from the last stage: cjm.repeat_loop's numbers and the top trigger.
            let loopRow = try #require(
                try harness.rows(
                    """
                    SELECT converted, returned, pending, did_not_return, return_rate, median_time_to_return,
                           p90_time_to_return
                    FROM cjm.repeat_loop WHERE journey = 'purchase' AND persona = '*'
                    """
                ).first)
            #expect((Int(loopRow[1] ?? "") ?? 0) > 0, "simulated customers come back")
            let loop = try #require(lanes["loop"]?.first)
            #expect(loop["converted"] == count(loopRow[0]))
            #expect(loop["returned"] == count(loopRow[1]))
            #expect(loop["pending (window open)"] == count(loopRow[2]))
            #expect(loop["did not return"] == count(loopRow[3]))
            #expect(loop["return rate"] == MapFormat.percent(loopRow[4].flatMap(Double.init)))
            #expect(
                loop["median / p90 to return"]
                    == "\(MapFormat.duration(loopRow[5].flatMap(Double.init))) / \(MapFormat.duration(loopRow[6].flatMap(Double.init)))"
            )
            #expect(html.contains(">\(MapFormat.percent(loopRow[4].flatMap(Double.init))) return within 90.0 d"))
            let trigger = try #require(
                try harness.rows(
                    "SELECT event, touchpoint, returns FROM cjm.repeat_triggers WHERE journey = 'purchase' LIMIT 1"
                ).first)
            #expect(html.contains("\(trigger[0] ?? "") @ \(trigger[1] ?? ""): \(count(trigger[2]))"))
            #expect(map.watermark != nil)
            #expect(html.contains("Complete up to: \(map.watermark ?? "?")"))
            for pattern in ["http:", "https:", "//", "src=", "href=", "url("] {
                #expect(!html.contains(pattern), "the document contains \(pattern)")
            }
        }
    }

    @Test func aJourneyTheDatabaseDoesNotKnowHasNoMap() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(conninfo: conninfo, configuration: try Self.configuration())
            #expect(try JourneyMapQuery.journeys(harness.connection) == ["purchase"])
            let now = try #require(RFC3339.parse("2026-12-07T09:00:00Z"))
            #expect(try JourneyMapQuery.load(harness.connection, journey: "nope", now: now) == nil)
            // An empty database still draws: every stage at zero, no watermark yet.
            let empty = try #require(try JourneyMapQuery.load(harness.connection, journey: "purchase", now: now))
            #expect(empty.stages.map(\.reached) == [0, 0, 0, 0])
            #expect(empty.watermark == nil)
            #expect(JourneyMapRenderer.render(empty).contains("Complete up to: no events yet"))
        }
    }

    /// Per lane (`h2` id), per stage cell, the label → value pairs of its definition list.
    /// `cjmd simulate --personas`: three kinds of customer that behave differently; their
    /// funnels differ as their profiles say, some change persona, and the map holds one
    /// section per persona whose numbers are that persona's.
    @Test func simulatedPersonasHaveTheirOwnFunnelsAndMaps() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let configuration = try Self.configuration()
            var options = SimulationOptions()
            options.seed = 12
            options.customers = 4_000
            options.personas = SimulationOptions.standardPersonas
            var simulator = JourneySimulator(journeys: configuration.journeys, options: options)
            var bytes: [UInt8] = []
            simulator.run { bytes += $0 }
            let harness = try StoreHarness(conninfo: conninfo, configuration: configuration)
            try harness.replay(bytes: bytes)
            let funnels = Dictionary(
                grouping: try FunnelQuery.funnelByPersona(harness.connection, journey: "purchase"),
                by: { $0.persona ?? "" })
            #expect(Set(funnels.keys) == ["loyalist", "bargain_hunter", "first_timer"])
            let converted = funnels.mapValues { $0.last?.overallConversion ?? 0 }
            #expect(converted["loyalist"]! > converted["bargain_hunter"]!)
            #expect(converted["bargain_hunter"]! > converted["first_timer"]!)
            // First-timers who bought come back as loyalists.
            let changed = try harness.rows(
                """
                SELECT count(*) FROM (SELECT customer_id FROM cjm.journey_instances GROUP BY customer_id
                                      HAVING count(DISTINCT persona) > 1) c
                """)
            #expect(Int(changed.first?[0] ?? "0") ?? 0 > 3)

            let now = try #require(RFC3339.parse("2026-12-07T09:00:00Z"))
            let all = try #require(try JourneyMapQuery.load(harness.connection, journey: "purchase", now: now))
            let personas = try JourneyMapQuery.personas(harness.connection, journey: "purchase")
            let maps = try personas.map {
                try #require(try JourneyMapQuery.load(harness.connection, journey: "purchase", persona: $0, now: now))
            }
            for map in maps {
                #expect(map.stages.map(\.reached) == funnels[map.persona ?? ""]?.map(\.reached))
            }
            let html = JourneyMapRenderer.render(all, personas: maps)
            let document = try XMLDocument(data: Data(html.utf8))
            let ids = try document.nodes(forXPath: "//@id").compactMap(\.stringValue)
            #expect(ids.count == Set(ids).count, "ids repeat")
            for (index, persona) in personas.enumerated() {
                #expect(html.contains("<a href=\"#persona-\(index + 1)\">persona \(persona)</a>"))
                #expect(ids.contains("persona-\(index + 1)"))
            }
            let labelled = try document.nodes(forXPath: "//@aria-labelledby").compactMap(\.stringValue)
            #expect(labelled.allSatisfy { Set(ids).contains($0) }, "a label points nowhere")
        }
    }

    static func lanes(of html: String) throws -> [String: [[String: String]]] {
        let document = try XMLDocument(data: Data(html.utf8))
        var lanes: [String: [[String: String]]] = [:]
        for section in try document.nodes(forXPath: "//section[h2/@id]") {
            guard let element = section as? XMLElement,
                let id = element.elements(forName: "h2").first?.attribute(forName: "id")?.stringValue
            else { continue }
            lanes[id] = element.elements(forName: "div").compactMap { cell in
                guard let list = cell.elements(forName: "dl").first else { return nil }
                let labels = list.elements(forName: "dt").map { $0.stringValue ?? "" }
                let values = list.elements(forName: "dd").map { $0.stringValue ?? "" }
                return Dictionary(zip(labels, values), uniquingKeysWith: { first, _ in first })
            }
        }
        return lanes
    }
}
