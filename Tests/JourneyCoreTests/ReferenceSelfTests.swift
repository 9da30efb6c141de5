import Foundation
import JourneyCore
import JourneyReference
import Testing

// Hand-derived checks of the reference implementation (Tests/JourneyReference) against docs/semantics.md and docs/sql.md
// and docs/semantics.md. Every expected value below was worked out from the documents, not
// copied from a run.

/// 2026-01-01T00:00:00Z; scenario times are seconds after it.
private let origin = EventTime(seconds: 1_767_225_600)

private func at(_ seconds: Double) -> EventTime {
    origin + TimeSpan(microseconds: Int64((seconds * 1_000_000).rounded()))
}

private func event(
    _ name: String, _ seconds: Double, customer: String = "c1", touchpoint: String = "web", journey: String? = nil,
    sentiment: Double? = nil, revenue: String? = nil, id: String? = nil
) -> TouchpointEvent {
    TouchpointEvent(
        eventID: id ?? "\(customer)/\(name)/\(seconds)/\(touchpoint)/\(journey ?? "")", customerID: customer,
        name: name, time: at(seconds), touchpoint: touchpoint, journey: journey, sentiment: sentiment,
        revenue: revenue.flatMap { DecimalText(json: $0) }
    )
}

private func stage(_ name: String, _ patterns: [String], touchpoints: [String]? = nil, abandonAfter: Double? = nil)
    -> StageDefinition
{
    StageDefinition(
        name: name, events: patterns.map(EventPattern.init), touchpoints: touchpoints,
        abandonAfter: abandonAfter.map { TimeSpan(microseconds: Int64($0 * 1_000_000)) }
    )
}

/// Three stages a → b → c, a 100 s window, no abandonment.
private let plain = JourneyDefinition(
    name: "plain", conversionWindow: .seconds(100), stages: [stage("A", ["a"]), stage("B", ["b"]), stage("C", ["c"])]
)

/// Three stages with abandonment after 30 s at stage 0 and 20 s at stage 1; a 100 s window.
private let shop = JourneyDefinition(
    name: "shop", conversionWindow: .seconds(100),
    stages: [
        stage("visit", ["landing_*"], abandonAfter: 30), stage("view", ["product_view"], abandonAfter: 20),
        stage("pay", ["payment_done"], touchpoints: ["web", "store"], abandonAfter: 5),
    ],
    critical: CriticalRules(events: [EventPattern("payment_failed"), EventPattern("*_error")], sentimentBelow: -0.5)
)

private func compute(_ journeys: [JourneyDefinition], _ events: [TouchpointEvent], asOf: Double? = nil)
    -> ReferenceResult
{
    ReferenceJourneys.compute(journeys: journeys, arrivals: events, asOf: asOf.map(at))
}

@Suite("Reference implementation: hand-computed scenarios")
struct ReferenceSelfTests {
    @Test func progressesStageByStageAndConverts() throws {
        let result = compute(
            [shop],
            [
                event("landing_home", 0), event("product_view", 10, sentiment: 0.5),
                event("payment_done", 25, revenue: "19.99", id: "pay"),
            ])
        let instance = try #require(result.instances.first)
        #expect(result.instances.count == 1)
        #expect(instance.instance == 1 && instance.status == .converted)
        #expect(instance.stageIndex == 2 && instance.stage == "pay")
        #expect(instance.reachedAt == [at(0), at(10), at(25)])
        #expect(instance.exitedAt == at(25) && instance.lastSeen == at(25))
        #expect(instance.events == [1, 1, 1])
        #expect(instance.revenue == [DecimalText(micros: 0), DecimalText(micros: 0), DecimalText(micros: 19_990_000)])
        #expect(result.moments.isEmpty)
        let funnel = result.funnel
        #expect(funnel.map(\.reached) == [1, 1, 1])
        #expect(funnel.map(\.medianTimeToNext) == [10, 15, nil])
        #expect(funnel[0].stepConversion == 1 && funnel[0].dropOff == 0 && funnel[0].dropOffRate == 0)
        #expect(funnel[2].convertedToNext == nil && funnel[2].stepConversion == nil && funnel[2].overallConversion == 1)
        #expect(funnel[1].avgSentiment == 0.5 && funnel[0].avgSentiment == nil)
        #expect(funnel[2].revenue == DecimalText(micros: 19_990_000))
    }

    @Test func windowBoundaryIsInclusive() throws {
        let onTime = compute([plain], [event("a", 0), event("b", 50), event("c", 100)])
        #expect(onTime.instances.map(\.status) == [.converted])
        #expect(onTime.instances.first?.exitedAt == at(100))
        #expect(onTime.moments.isEmpty)

        // One microsecond late: the expiry at 100 s takes effect before the event, which then
        // matches stage 2 with no instance open and opens nothing.
        let late = compute([plain], [event("a", 0), event("b", 50), event("c", 100.000001)])
        let instance = try #require(late.instances.first)
        #expect(late.instances.count == 1)
        #expect(instance.status == .expired && instance.stageIndex == 1 && instance.exitedAt == at(100))
        #expect(instance.lastSeen == at(50))
        let moment = try #require(late.moments.first)
        #expect(moment.reason == .windowExpired && moment.stageIndex == 1 && moment.stage == "B")
        #expect(moment.detectedAt == at(100) && moment.timeInStage == .seconds(50) && moment.recoveredAt == nil)
        #expect(moment.lastEvent == "b" && moment.lastSeen == at(50))
    }

    @Test func expiryTakesEffectOnlyOnceTheWatermarkPassesTheDeadline() throws {
        let events = [event("a", 0), event("noise", 100, touchpoint: "app")]
        // as-of defaults to the largest ts (100 s): a deadline at 100 s is not before it.
        #expect(compute([plain], events).instances.map(\.status) == [.active])
        #expect(compute([plain], events, asOf: 100).moments.isEmpty)
        let expired = compute([plain], events, asOf: 100.000001)
        #expect(expired.instances.map(\.status) == [.expired])
        #expect(expired.instances.first?.exitedAt == at(100))
        #expect(expired.instances.first?.lastSeen == at(100))
        let moment = try #require(expired.moments.first)
        #expect(moment.lastEvent == "noise" && moment.lastTouchpoint == "app" && moment.detectedAt == at(100))
        #expect(moment.timeInStage == .seconds(100))
        #expect(expired.funnel[0].expired == 1 && expired.funnel[0].active == 0)
    }

    @Test func abandonmentIsFlaggedRecoveredAndFlaggedAgain() throws {
        let result = compute(
            [shop],
            [
                event("landing_home", 0, touchpoint: "ads"), event("product_view", 45), event("payment_failed", 50),
            ], asOf: 80)
        // Stage 0 deadline 0 + 30 = 30 < 45: flagged at 30, recovered by the event at 45, which
        // also advances to stage 1. Stage 1 deadline 50 + 20 = 70 < 80: flagged again.
        #expect(result.moments.count == 2)
        let first = try #require(result.moments.first)
        #expect(first.reason == .inactive && first.stageIndex == 0 && first.stage == "visit")
        #expect(first.detectedAt == at(30) && first.recoveredAt == at(45) && first.timeInStage == .seconds(30))
        #expect(first.lastEvent == "landing_home" && first.lastTouchpoint == "ads" && first.lastSeen == at(0))
        #expect(first.painPoints.isEmpty)
        let second = try #require(result.moments.last)
        #expect(second.stageIndex == 1 && second.detectedAt == at(70) && second.recoveredAt == nil)
        #expect(second.timeInStage == .seconds(25) && second.lastEvent == "payment_failed" && second.lastSeen == at(50))
        #expect(
            second.painPoints == [
                ReferencePainPoint(
                    event: "payment_failed", touchpoint: "web", ts: at(50), stage: "view", stageIndex: 1, sentiment: nil
                )
            ])
        let instance = try #require(result.instances.first)
        #expect(instance.status == .abandoned && instance.exitedAt == nil && instance.stageIndex == 1)
        #expect(result.funnel[1].abandoned == 1 && result.funnel[0].abandoned == 0)
    }

    @Test func anEventExactlyAtTheAbandonmentDeadlineComesFirst() {
        // Deadline 0 + 30 = 30; the event at 30 is applied first and moves it to 60; as-of 60 is
        // not after 60.
        let result = compute([shop], [event("landing_home", 0), event("ping", 30)], asOf: 60)
        #expect(result.moments.isEmpty)
        #expect(result.instances.map(\.status) == [.active])
        let flagged = compute([shop], [event("landing_home", 0), event("ping", 30)], asOf: 60.000001)
        #expect(flagged.moments.map(\.detectedAt) == [at(60)])
    }

    @Test func abandonmentAndExpiryAtTheSameInstantLeaveItAbandoned() throws {
        let journey = JourneyDefinition(
            name: "tight", conversionWindow: .seconds(60),
            stages: [stage("A", ["a"], abandonAfter: 60), stage("B", ["b"])]
        )
        let result = compute([journey], [event("a", 0)], asOf: 61)
        let instance = try #require(result.instances.first)
        #expect(instance.status == .abandoned && instance.exitedAt == at(60))
        #expect(result.moments.count == 1)
        #expect(result.moments.first?.reason == .inactive && result.moments.first?.detectedAt == at(60))
        #expect(result.funnel[0].abandoned == 1 && result.funnel[0].expired == 0)
        // A later event neither recovers the closed instance nor opens one (b is not stage 0).
        let after = compute([journey], [event("a", 0), event("b", 70)])
        #expect(after.moments.first?.recoveredAt == nil && after.instances.count == 1)
    }

    @Test func reEntryAfterAnExitOpensTheNextInstance() {
        let result = compute(
            [plain],
            [
                event("a", 0), event("a", 10), event("a", 150), event("b", 160), event("c", 170), event("a", 171),
            ])
        #expect(result.instances.map(\.instance) == [1, 2, 3])
        #expect(result.instances.map(\.status) == [.expired, .converted, .active])
        #expect(result.instances.map(\.enteredAt) == [at(0), at(150), at(171)])
        // The second a (10 s) only counts as activity of instance 1, at stage 0.
        #expect(result.instances[0].events == [2, 0, 0])
        #expect(result.funnel.map(\.reached) == [3, 1, 1])
        #expect(result.funnel[0].customers == 1 && result.funnel[0].expired == 1 && result.funnel[0].active == 1)
    }

    @Test func journeyRestrictionLimitsMappingButNotActivity() throws {
        let wide = JourneyDefinition(
            name: "wide", conversionWindow: .seconds(100),
            stages: [stage("in", ["landing_*"], abandonAfter: 5), stage("done", ["product_view"])]
        )
        let narrow = JourneyDefinition(
            name: "narrow", conversionWindow: .seconds(100),
            stages: [stage("in", ["landing_home"]), stage("done", ["product_view"])]
        )
        let result = compute(
            [wide, narrow],
            [
                event("landing_home", 0, journey: "narrow"), event("product_view", 10, journey: "ghost"),
                event("landing_home", 20), event("product_view", 28, journey: "ghost", sentiment: -0.9),
                event("product_view", 30, journey: "wide"),
            ])
        let narrowRow = try #require(result.instances.first { $0.journey == "narrow" })
        let wideRow = try #require(result.instances.first { $0.journey == "wide" })
        #expect(narrowRow.enteredAt == at(0) && narrowRow.status == .active && narrowRow.stageIndex == 0)
        #expect(narrowRow.lastSeen == at(30))  // every event is activity, restricted or not
        #expect(narrowRow.events == [2, 0])  // landing_home at 0 and 20; the ghost/wide ones are restricted away
        #expect(wideRow.enteredAt == at(20) && wideRow.status == .converted && wideRow.exitedAt == at(30))
        // wide: flagged at 25 (20 + 5), recovered by the ghost event at 28, which is not a pain point there.
        #expect(result.moments.map(\.detectedAt) == [at(25)])
        #expect(result.moments.first?.recoveredAt == at(28))
        #expect(wideRow.events == [1, 1] && wideRow.sentimentCount == [0, 0])
    }

    @Test func skippedStagesAdvanceNothing() {
        let result = compute([plain], [event("c", -1), event("a", 0), event("c", 10), event("b", 20), event("c", 30)])
        #expect(result.instances.count == 1)
        #expect(result.instances.first?.reachedAt == [at(0), at(20), at(30)])
        #expect(result.instances.first?.events == [2, 1, 1])  // the c at -1 had no instance: no stage
    }

    @Test func theFirstMatchingStageWins() {
        let journey = JourneyDefinition(
            name: "overlap", conversionWindow: .seconds(100),
            stages: [
                stage("entry", ["landing_*"]), stage("look", ["*_view"], touchpoints: ["web"]),
                stage("compare", ["product_view", "compare"]), stage("buy", ["buy"]),
            ]
        )
        let result = compute(
            [journey],
            [
                event("landing_x", 0), event("product_view", 1, touchpoint: "mobile"), event("product_view", 2),
                event("product_view", 3), event("compare", 4), event("buy", 5),
            ])
        // mobile product_view skips to "compare" (ignored); web product_view always maps to "look".
        #expect(result.instances.first?.reachedAt == [at(0), at(2), at(4), at(5)])
        #expect(ReferenceMatching.mappedStage(of: event("product_view", 9), in: journey) == 1)
        #expect(ReferenceMatching.mappedStage(of: event("product_view", 9, touchpoint: "app"), in: journey) == 2)
        #expect(ReferenceMatching.mappedStage(of: event("product_view", 9, journey: "other"), in: journey) == nil)
    }

    @Test func globMatching() {
        #expect(ReferenceMatching.glob("landing_*", matches: "landing_"))
        #expect(ReferenceMatching.glob("landing_*", matches: "landing_home"))
        #expect(!ReferenceMatching.glob("landing_*", matches: "Landing_home"))
        #expect(ReferenceMatching.glob("*_view", matches: "product_view"))
        #expect(!ReferenceMatching.glob("*_view", matches: "product_viewed"))
        #expect(
            ReferenceMatching.glob("*a*b*", matches: "xxaxxbxx") && !ReferenceMatching.glob("*a*b*", matches: "bxa"))
        #expect(ReferenceMatching.glob("a*a", matches: "aa") && !ReferenceMatching.glob("a*a", matches: "a"))
        #expect(ReferenceMatching.glob("*", matches: "") && ReferenceMatching.glob("**", matches: "x"))
        #expect(
            ReferenceMatching.glob("café_*", matches: "café_ü") && !ReferenceMatching.glob("exact", matches: "exactly"))
    }

    @Test func painPointsKeepTheLatestFifty() throws {
        var events = [event("landing_home", 0)]
        for i in 1...60 { events.append(event("checkout_error", Double(i) / 10, sentiment: -0.1)) }
        events.append(event("ping", 7, sentiment: -0.5))  // exactly at the threshold: not below it
        events.append(event("ping", 8, sentiment: -0.51))
        let result = compute([shop], events, asOf: 40)
        let moment = try #require(result.moments.first)
        #expect(moment.detectedAt == at(38))
        #expect(moment.painPoints.count == 50)
        #expect(moment.painPoints.first?.ts == at(1.2))  // checkout_error 12…60, then the ping at 8
        #expect(
            moment.painPoints.last
                == ReferencePainPoint(
                    event: "ping", touchpoint: "web", ts: at(8), stage: "visit", stageIndex: 0, sentiment: -0.51
                ))
    }

    @Test func attributionFollowsTheStageAfterTheEvent() {
        let result = compute(
            [shop],
            [
                event("review", -5, sentiment: 1, revenue: "5"),  // no instance: attributed nowhere
                event("landing_home", 0, sentiment: -1, revenue: "0.01"),
                event("product_view", 1, sentiment: 0.25, revenue: "2.5"),
                event("chat", 2, sentiment: 0.5),
                event("payment_done", 3, touchpoint: "mobile", revenue: "100"),  // filtered out of "pay": stays at view
            ])
        let instance = result.instances[0]
        #expect(instance.events == [1, 3, 0])
        #expect(instance.sentimentCount == [1, 2, 0] && instance.sentimentSum == [-1, 0.75, 0])
        #expect(instance.revenue.map(\.micros) == [10_000, 102_500_000, 0])
        #expect(result.funnel[1].avgSentiment == 0.375 && result.funnel[1].revenue.description == "102.5")
        #expect(result.funnel[2].revenue == DecimalText(micros: 0) && result.funnel[2].avgSentiment == nil)
    }

    @Test func duplicatesKeepTheFirstArrival() {
        let first = event("a", 0, id: "same")
        let second = event("b", 1, id: "same")
        let result = compute([plain], [first, second, first])
        #expect(result.acceptedEvents == 1 && result.duplicateEvents == 2)
        #expect(result.instances.map(\.stageIndex) == [0])
    }

    @Test func equalTimestampsApplyInArrivalOrder() {
        let a = event("a", 0)
        let b = event("b", 0)
        #expect(compute([plain], [a, b]).instances.map(\.stageIndex) == [1])
        #expect(compute([plain], [b, a]).instances.map(\.stageIndex) == [0])
    }

    @Test func percentileContInterpolatesLinearly() {
        #expect(ReferenceFunnel.percentileCont([], fraction: 0.5) == nil)
        #expect(ReferenceFunnel.percentileCont([7], fraction: 0.5) == 7)
        #expect(ReferenceFunnel.percentileCont([7], fraction: 0.9) == 7)
        #expect(ReferenceFunnel.percentileCont([20, 10], fraction: 0.5) == 15)
        #expect(abs((ReferenceFunnel.percentileCont([20, 10], fraction: 0.9) ?? 0) - 19) < 1e-9)
        #expect(ReferenceFunnel.percentileCont([10, 1, 3, 2], fraction: 0.5) == 2.5)
        #expect(abs((ReferenceFunnel.percentileCont([10, 1, 3, 2], fraction: 0.9) ?? 0) - 7.9) < 1e-9)
    }

    @Test func funnelTimesToNextUsePercentileCont() {
        // Four customers take 1, 2, 3 and 10 s from A to B; one never reaches B.
        var events: [TouchpointEvent] = []
        for (index, seconds) in [1.0, 2, 3, 10].enumerated() {
            events += [event("a", 0, customer: "k\(index)"), event("b", seconds, customer: "k\(index)")]
        }
        events.append(event("a", 0, customer: "k9"))
        let funnel = compute([plain], events).funnel
        #expect(funnel[0].reached == 5 && funnel[0].customers == 5 && funnel[0].convertedToNext == 4)
        #expect(funnel[0].stepConversion == 0.8 && funnel[0].dropOff == 1)
        #expect(abs((funnel[0].dropOffRate ?? 0) - 0.2) < 1e-12)
        #expect(funnel[0].medianTimeToNext == 2.5 && abs((funnel[0].p90TimeToNext ?? 0) - 7.9) < 1e-9)
        #expect(
            funnel[1].medianTimeToNext == nil && funnel[1].stepConversion == 0 && funnel[1].overallConversion == 0.8)
        #expect(funnel[2].reached == 0 && funnel[2].overallConversion == 0 && funnel[2].medianTimeToNext == nil)
        let empty = compute([plain], []).funnel
        #expect(empty.count == 3 && empty[0].overallConversion == nil && empty[0].stepConversion == nil)
    }
}

@Suite("Reference implementation: scenario generator")
struct ReferenceScenarioGeneratorTests {
    @Test(arguments: 1...12)
    func arrivalOrdersRespectLatenessAndAgree(seed: UInt64) {
        let scenario = RandomScenario.make(seed: seed)
        #expect(scenario == RandomScenario.make(seed: seed))
        #expect(scenario.respectsLateness(scenario.arrivals))
        let expected = scenario.reference()
        for permutation in 1...3 {
            let order = scenario.permutedArrivals(seed: UInt64(permutation))
            #expect(order != scenario.arrivals)
            #expect(scenario.respectsLateness(order))
            #expect(ReferenceJourneys.compute(journeys: scenario.journeys, arrivals: order, asOf: nil) == expected)
        }
        // Distinct timestamps per customer among distinct events.
        var seen: [String: Set<EventTime>] = [:]
        var ids = Set<String>()
        for event in scenario.arrivals where ids.insert(event.eventID).inserted {
            #expect(seen[event.customerID, default: []].insert(event.time).inserted)
        }
    }

    @Test func scenariosCoverTheInterestingCases() {
        var totals: [String: Int] = [:]
        for seed in UInt64(1)...40 {
            let scenario = RandomScenario.make(seed: seed)
            let result = scenario.reference()
            totals["journeys", default: 0] += scenario.journeys.count
            totals["events", default: 0] += scenario.arrivals.count
            totals["duplicates", default: 0] += result.duplicateEvents
            totals["without id", default: 0] += scenario.arrivals.filter { !Scenario.hasWireID($0) }.count
            totals["restricted", default: 0] += scenario.arrivals.filter { $0.journey != nil }.count
            totals["instances", default: 0] += result.instances.count
            totals["re-entries", default: 0] += result.instances.filter { $0.instance > 1 }.count
            for status in ReferenceStatus.allCases {
                totals[status.rawValue, default: 0] += result.instances.filter { $0.status == status }.count
            }
            totals["inactive", default: 0] += result.moments.filter { $0.reason == .inactive }.count
            totals["recovered", default: 0] += result.moments.filter { $0.recoveredAt != nil }.count
            totals["window_expired", default: 0] += result.moments.filter { $0.reason == .windowExpired }.count
            totals["with pain points", default: 0] += result.moments.filter { !$0.painPoints.isEmpty }.count
            totals["abandoned then expired", default: 0] +=
                result.instances.filter { $0.status == .abandoned && $0.exitedAt != nil }.count
        }
        print("scenario coverage over 40 seeds:", totals.sorted { $0.key < $1.key })
        for (name, count) in totals {
            #expect(count > 0, "no \(name) in 40 scenarios")
        }
        #expect(totals.count == 16)
    }

    @Test(arguments: [3, 17, 29] as [UInt64])
    func ndjsonLinesCarryTheEvents(seed: UInt64) throws {
        let scenario = RandomScenario.make(seed: seed)
        let lines = scenario.ndjsonLines(for: scenario.arrivals)
        #expect(lines.count == scenario.arrivals.count)
        for (line, event) in zip(lines, scenario.arrivals) {
            #expect(line.hasSuffix("\n") && line.dropLast().firstIndex(of: "\n") == nil)
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not an object: \(line)"
            )
            let customer = ["customer_id", "user_id", "userId", "anonymous_id", "anonymousId"].lazy
                .compactMap { object[$0] as? String }.first
            #expect(customer == event.customerID)
            #expect(object["event"] as? String == event.name)
            let time = object["ts"] ?? object["timestamp"]
            if let text = time as? String {
                #expect(text == event.time.description)  // JourneyCore's formatter agrees with the generator's
            } else {
                #expect((time as? NSNumber)?.int64Value == event.time.microseconds / 1000)
            }
            let id = ["event_id", "messageId", "message_id"].lazy.compactMap { object[$0] as? String }.first
            #expect(id == (Scenario.hasWireID(event) ? event.eventID : nil))
            let channel =
                (object["touchpoint"] ?? object["channel"] ?? (object["context"] as? [String: Any])?["channel"])
            #expect((channel as? String ?? "unknown") == event.touchpoint)
            #expect(object["journey"] as? String == event.journey)
            let properties = object["properties"] as? [String: Any]
            let sentiment = (object["sentiment"] ?? properties?["sentiment"]) as? NSNumber
            #expect(sentiment?.doubleValue == event.sentiment)
            if let revenue = event.revenue {
                let number = try #require(
                    (object["revenue"] ?? properties?["revenue"] ?? properties?["amount"]) as? NSNumber)
                #expect(abs(number.doubleValue - Double(revenue.micros) / 1_000_000) < 1e-6)
            }
        }
    }

    @Test func jsonEscaping() {
        #expect(JSONText.string("a\"b\\c\n\u{01}") == "\"a\\\"b\\\\c\\n\\u0001\"")
        #expect(JSONText.string("é😀/", escapingNonASCII: true).lowercased() == "\"\\u00e9\\ud83d\\ude00\\/\"")
        #expect(JSONText.string("é😀/") == "\"é😀/\"")
        #expect(WireTime.rfc3339(EventTime(microseconds: 951_782_400_000_001)) == "2000-02-29T00:00:00.000001Z")
        #expect(WireTime.rfc3339(EventTime(seconds: 1_767_225_599)) == "2025-12-31T23:59:59.000000Z")
    }
}
