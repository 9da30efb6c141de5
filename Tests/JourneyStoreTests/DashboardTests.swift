import Foundation
import JourneyStore
import PostgresClient
import Testing

/// `dashboards/cjmd.json`, the Grafana dashboard over the views. Grafana cannot run here, so
/// every panel's SQL runs as Grafana would send it — its time macros expanded for a range
/// that holds the simulated data, `$journey` set — against a database the shipped
/// configuration's simulated customers were replayed into: each query runs, returns rows,
/// and has the columns its panel reads (`time` first and `metric`/`value` for time series).
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct DashboardTests {
    static let dashboardPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("dashboards/cjmd.json").path

    /// Grafana's PostgreSQL macros and the journey variable, as Grafana expands them for
    /// the range [from, to).
    static func expand(_ sql: String, from: String, to: String, journey: String) -> String {
        var text = sql.replacingOccurrences(of: "$journey", with: journey)
        let filter = try! NSRegularExpression(pattern: #"\$__timeFilter\(([^)]+)\)"#)
        text = filter.stringByReplacingMatches(
            in: text, range: NSRange(text.startIndex..., in: text),
            withTemplate: "$1 BETWEEN '\(from)' AND '\(to)'")
        text = text.replacingOccurrences(of: "$__timeFrom()", with: "'\(from)'")
        text = text.replacingOccurrences(of: "$__timeTo()", with: "'\(to)'")
        return text
    }

    @Test func everyPanelsQueryRunsAndHasTheColumnsItsPanelReads() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let configuration = try JourneyMapQueryTests.configuration()
            let harness = try StoreHarness(conninfo: conninfo, configuration: configuration)
            try harness.replay(bytes: JourneyMapQueryTests.events(configuration))
            // The spike of an alert needs more than this small simulation; the alerts panel is
            // checked for its columns, not its rows.
            let mayBeEmpty: Set<String> = ["Drop-off alerts"]

            let data = try Data(contentsOf: URL(fileURLWithPath: Self.dashboardPath))
            let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let variables = try #require((dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]])
            let journeys = try harness.connection.execute(try #require(variables.first?["query"] as? String))
            #expect(journeys.rowCount == 1 && journeys.string(row: 0, column: 0) == "purchase")

            let panels = try #require(dashboard["panels"] as? [[String: Any]])
            #expect(panels.count >= 8)
            var titles: [String] = []
            for panel in panels {
                let title = panel["title"] as? String ?? "?"
                titles.append(title)
                let target = try #require((panel["targets"] as? [[String: Any]])?.first, "\(title) has no query")
                let sql = try #require(target["rawSql"] as? String)
                let expanded = Self.expand(
                    sql, from: "2026-01-01T00:00:00Z", to: "2026-12-31T00:00:00Z", journey: "purchase")
                #expect(!expanded.contains("$"), "\(title): an unexpanded macro or variable")
                let result: QueryResult
                do {
                    result = try harness.connection.execute(expanded)
                } catch {
                    Issue.record("\(title): \(error)")
                    continue
                }
                let columns = (0..<result.columnCount).map(result.columnName)
                if !mayBeEmpty.contains(title) { #expect(result.rowCount > 0, "\(title) shows nothing") }
                if target["format"] as? String == "time_series" {
                    #expect(columns == ["time", "metric", "value"], "\(title): \(columns)")
                    #expect(panel["type"] as? String == "timeseries")
                    // timestamptz: Grafana reads the time column as a time.
                    #expect(result.columnTypeOID(0) == 1184, "\(title): time is not a timestamptz")
                } else {
                    // Tables lead with what a row is about: its stage or its time (the loop's:
                    // its persona, or the event that brought customers back).
                    #expect(columns.count >= 3, "\(title): \(columns)")
                    #expect(
                        ["stage", "time", "persona", "event"].contains(columns.first ?? ""), "\(title): \(columns)")
                }
                #expect(Set(columns).count == columns.count, "\(title): duplicate column names")
            }
            for wanted in [
                "Funnel", "Drop-off rate per hour", "Drop-off alerts", "Touchpoints", "Exit points",
                "Critical moments", "To-be gaps and opportunities", "Repeat loop", "What brings customers back",
            ] {
                #expect(titles.contains(wanted), "no panel \(wanted)")
            }
        }
    }
}
