import DaemonSettings
import Foundation
import JourneyCore
import JourneyStore
import PostgresClient
import Testing

/// `cjm.journey_map`, the to-be map: each stage's targets beside the funnel, and what
/// reaching them would bring — checked against the issue's formulas computed here in
/// decimal arithmetic from `cjm.funnel`'s own numbers.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct JourneyMapTests {
    static let configuration: CJMConfiguration = {
        var configuration = CJMConfiguration(journeys: [
            JourneyDefinition(
                name: "shop", conversionWindow: .days(30),
                stages: [
                    StageDefinition(
                        name: "visit", events: [EventPattern("visit")], target: StageTarget(stepConversion: "0.55")),
                    StageDefinition(
                        name: "cart", events: [EventPattern("cart")],
                        target: StageTarget(stepConversion: "0.6", medianTimeToNext: .hours(1))),
                    StageDefinition(
                        name: "review", events: [EventPattern("review")],
                        target: StageTarget(medianTimeToNext: .minutes(30))),
                    StageDefinition(name: "pay", events: [EventPattern("pay")]),
                ])
        ])
        configuration.ingest.allowedLateness = .zero
        return configuration
    }()

    /// 200 customers visit, 109 reach the cart (0.55 × 200 is exactly 110: one missing, where
    /// binary floating point would say two), 40 review, 30 pay 12.5 each.
    static func events() -> String {
        var lines: [String] = []
        let start = RFC3339.parse("2026-11-01T00:00:00Z")!
        func line(_ customer: Int, _ event: String, _ minutes: Int, revenue: String? = nil) -> String {
            let time = RFC3339.format(start + .minutes(Int64(customer + minutes)))
            return
                #"{"event_id": "\#(event)-\#(customer)", "customer_id": "c\#(customer)", "event": "\#(event)", "ts": "\#(time)""#
                + (revenue.map { #", "revenue": \#($0)"# } ?? "") + "}\n"
        }
        for customer in 0..<200 {
            lines.append(line(customer, "visit", 0))
            if customer < 109 { lines.append(line(customer, "cart", 20 + customer % 90)) }
            if customer < 40 { lines.append(line(customer, "review", 200 + customer)) }
            if customer < 30 { lines.append(line(customer, "pay", 300 + customer, revenue: "12.5")) }
        }
        return lines.joined()
    }

    @Test func theMapHoldsTheTargetsAndTheOpportunitiesTheFormulasGive() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(conninfo: conninfo, configuration: Self.configuration)
            try harness.replay(Self.events())
            let funnel = try harness.rows(
                "SELECT reached, median_time_to_next, revenue FROM cjm.funnel WHERE journey = 'shop' ORDER BY stage_index"
            )
            let map = try harness.rows(
                """
                SELECT persona, stage, reached, step_conversion, target_step_conversion, conversion_gap,
                       median_time_to_next, target_median_time_to_next, time_gap, drop_off, missing_to_target,
                       opportunity_revenue, opportunity_rank
                FROM cjm.journey_map WHERE journey = 'shop' AND persona = '*' ORDER BY stage_index
                """)
            #expect(map.map { $0[1] } == ["visit", "cart", "review", "pay"])
            #expect(map.allSatisfy { $0[0] == "*" })
            let reached = funnel.map { Decimal(string: $0[0] ?? "")! }
            #expect(reached == [200, 109, 40, 30])
            let revenueLast = Decimal(string: try #require(funnel[3][2]))!
            #expect(revenueLast == 375)

            func decimal(_ text: String?) -> Decimal? { text.flatMap { Decimal(string: $0) } }
            func ceiling(_ value: Decimal) -> Decimal {
                var value = value
                var result = Decimal()
                NSDecimalRound(&result, &value, 0, .up)
                return result
            }
            let targets: [Decimal?] = [Decimal(string: "0.55"), Decimal(string: "0.6"), nil, nil]
            var opportunities: [(stage: Int, revenue: Decimal, missing: Decimal)] = []
            for stage in 0..<4 {
                let row = map[stage]
                #expect(decimal(row[2]) == reached[stage])
                #expect(decimal(row[4]) == targets[stage])
                guard let target = targets[stage] else {
                    #expect(row[4] == nil && row[5] == nil && row[10] == nil && row[11] == nil && row[12] == nil)
                    continue
                }
                let missing = max(0, ceiling(target * reached[stage]) - reached[stage + 1])
                #expect(decimal(row[10]) == missing, "stage \(stage): missing \(row[10] ?? "nil"), expected \(missing)")
                let opportunity = missing * revenueLast / reached[stage + 1]
                let stored = try #require(decimal(row[11]))
                #expect(abs(NSDecimalNumber(decimal: stored - opportunity).doubleValue) < 1e-9)
                let conversion = try #require(Double(row[3] ?? ""))
                let gap = try #require(Double(row[5] ?? ""))
                #expect(abs(gap - (conversion - NSDecimalNumber(decimal: target).doubleValue)) < 1e-12)
                opportunities.append((stage, opportunity, missing))
            }
            // 0.55 × 200 = 110 exactly: one instance short of the target, not two.
            #expect(map[0][10] == "1")
            #expect(map[1][10] == "26")  // ceil(0.6 × 109) = 66, 40 reached the next stage
            let ranked = opportunities.sorted { (a, b) -> Bool in
                if a.revenue != b.revenue { return a.revenue > b.revenue }
                if a.missing != b.missing { return a.missing > b.missing }
                return a.stage < b.stage
            }
            for (rank, opportunity) in ranked.enumerated() {
                #expect(map[opportunity.stage][12] == String(rank + 1))
            }

            // Times: the target in seconds beside the median, and their difference.
            for stage in 0..<3 {
                let target = [nil, 3600.0, 1800.0][stage]
                #expect(Double(map[stage][7] ?? "") == target)
                let median = try #require(Double(funnel[stage][1] ?? ""))
                #expect(Double(map[stage][6] ?? "") == median)
                if let target {
                    #expect(abs(Double(map[stage][8] ?? "")! - (median - target)) < 1e-6)
                } else {
                    #expect(map[stage][8] == nil)
                }
            }
        }
    }

    @Test func targetsAreMirroredAndAnEmptyFunnelHasNoOpportunity() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(conninfo: conninfo, configuration: Self.configuration)
            let stages = try harness.rows(
                """
                SELECT stage, target_step_conversion::text, extract(epoch FROM target_median_time_to_next)::int8
                FROM cjm.journey_stages ORDER BY stage_index
                """)
            #expect(
                stages == [
                    ["visit", "0.55", nil], ["cart", "0.6", "3600"], ["review", nil, "1800"], ["pay", nil, nil],
                ])
            // Before any event: every stage reached by nobody, no opportunity and no division by zero.
            let empty = try harness.rows(
                "SELECT reached, missing_to_target, opportunity_revenue FROM cjm.journey_map WHERE persona = '*' ORDER BY stage_index"
            )
            #expect(empty == [["0", "0", nil], ["0", "0", nil], ["0", nil, nil], ["0", nil, nil]])
        }
    }
}
