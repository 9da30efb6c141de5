import DaemonSettings
import EventDecoding
import Foundation
import Ingest
import JourneyCore
import JourneySimulator
import JourneyStore
import PostgresClient
import Testing

/// docs/alerts.md end to end: simulated journeys with an injected drop-off spike are replayed into
/// PostgreSQL; `cjm.alerts` must hold exactly one episode for the spiked stage, fired inside
/// the spike and resolved after it, and a LISTENer on `cjm_alerts` hears both transitions.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct AlertEndToEndTests {
    static let start = RFC3339.parse("2026-03-02T00:00:00Z")!
    static let spikeStart = start + .days(5) + .hours(10)
    static let spikeLength = TimeSpan.hours(6)

    /// Where a test stops: the simulated arrivals end after `days`, which changes the traffic
    /// for real (new customers stop while earlier ones still go silent).
    static func endOfArrivals(days: Int64) -> EventTime { start + .days(days) - .hours(3) }

    static func describe(_ transition: AlertTransition) -> String {
        let a = transition.alert
        let kind = if case .fired = transition { "fired" } else { "resolved" }
        return
            "\(kind) \(a.stageName) at \(a.resolvedAt ?? a.firedAt): rate \(a.rate) vs \(a.baselineRate), decided \(a.decided), z \(a.z ?? .infinity)"
    }

    /// Short abandonment periods, so that a customer's decision shows within the hour.
    static func configuration() -> CJMConfiguration {
        var configuration = CJMConfiguration(journeys: [
            JourneyDefinition(
                name: "purchase", conversionWindow: .days(7),
                stages: [
                    StageDefinition(
                        name: "awareness", events: [EventPattern("ad_impression"), EventPattern("landing_*")],
                        abandonAfter: .hours(2)),
                    StageDefinition(
                        name: "consideration", events: [EventPattern("product_view"), EventPattern("compare")],
                        abandonAfter: .hours(1)),
                    StageDefinition(name: "purchase", events: [EventPattern("payment_done")], abandonAfter: .hours(1)),
                    StageDefinition(name: "loyalty", events: [EventPattern("repeat_purchase")]),
                ], critical: CriticalRules(events: [EventPattern("payment_failed")]))
        ])
        configuration.ingest.batchMaxEvents = 5000
        configuration.alerts.window = .hours(1)
        configuration.alerts.baseline = .preceding(.hours(24))
        configuration.alerts.minDecided = 50
        return configuration
    }

    static func simulate(days: Int64, customers: Int, seed: UInt64, spike: Bool) -> [UInt8] {
        var options = SimulationOptions()
        options.seed = seed
        options.customers = customers
        options.start = start
        options.duration = .days(days)
        options.withoutEventID = 0.1
        if spike {
            options.spike = .init(
                journey: "purchase", stage: "consideration", start: spikeStart,
                duration: spikeLength, progression: 0.05)
        }
        var simulator = JourneySimulator(journeys: configuration().journeys, options: options)
        // The simulated world is observed until shortly before its arrivals end (see
        // endOfArrivals): later lines are left out, as a daemon running then would not have them.
        let end = endOfArrivals(days: days)
        let decoder = EventDecoder(settings: configuration().ingest)
        var bytes: [UInt8] = []
        simulator.run { line in
            let future = EventTime.distantFuture - .days(1)
            if case .event(let event) = decoder.decode(line.dropLast(), now: future), event.time > end { return }
            bytes += line
        }
        return bytes
    }

    @Test func aSpikeOnDaySixGivesExactlyOneAlertFiredInsideItAndResolvedAfter() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(conninfo: conninfo, configuration: Self.configuration())
            let listener = try PostgresConnection(conninfo: conninfo)
            defer { listener.close() }
            try listener.listen(channel: JourneySink.alertChannel)

            let t0 = Date()
            let lines = Self.simulate(days: 7, customers: 30_000, seed: 6, spike: true)
            let t1 = Date()
            let summary = try harness.replay(bytes: lines, asOf: Self.endOfArrivals(days: 7))
            print(
                "simulated in \(t1.timeIntervalSince(t0)) s, replayed \(summary.lines) lines in \(Date().timeIntervalSince(t1)) s"
            )
            #expect(summary.outcome.stored > 100_000)

            let alerts = try harness.connection.execute(
                """
                SELECT stage, fired_at, resolved_at, rate, baseline_rate, decided, id FROM cjm.alerts ORDER BY fired_at
                """)
            let described = (0..<alerts.rowCount).map { row in
                (0..<alerts.columnCount).map { alerts.string(row: row, column: $0) ?? "∅" }.joined(separator: " ")
            }
            #expect(alerts.rowCount == 1, "alerts: \(described)")
            guard alerts.rowCount == 1 else { return }
            #expect(alerts.string(row: 0, column: 0) == "consideration")
            let fired = EventTime(microseconds: try #require(try alerts.timestampMicroseconds(row: 0, column: 1)))
            let resolved = EventTime(microseconds: try #require(try alerts.timestampMicroseconds(row: 0, column: 2)))
            #expect(fired > Self.spikeStart && fired < Self.spikeStart + Self.spikeLength, "fired at \(fired)")
            #expect(resolved >= Self.spikeStart + Self.spikeLength, "resolved at \(resolved)")
            #expect(
                try #require(try alerts.double(row: 0, column: 3)) >= (try alerts.double(row: 0, column: 4) ?? 1) + 0.1)
            let delay = fired - Self.spikeStart
            print("alert: fired \(fired) (\(Int(delay.seconds / 60)) min after the spike began), resolved \(resolved)")

            // Both transitions were announced, in order, with the row's id.
            var heard: [[String: Any]] = []
            while heard.count < 2, let notification = try listener.waitForNotification(timeout: .seconds(5)) {
                let json = try JSONSerialization.jsonObject(with: Data(notification.payload.utf8)) as? [String: Any]
                heard.append(try #require(json))
            }
            #expect(heard.count == 2)
            #expect(heard.map { $0["status"] as? String } == ["firing", "resolved"])
            #expect(
                heard.allSatisfy { $0["stage"] as? String == "consideration" && $0["journey"] as? String == "purchase" }
            )
            #expect(heard.allSatisfy { ($0["id"] as? Int).map(String.init) == alerts.string(row: 0, column: 6) })
            #expect(heard.first?["resolved_at"] is NSNull)
            #expect(heard.last?["resolved_at"] is String)
            #expect(try listener.waitForNotification(timeout: .milliseconds(200)) == nil)

            // Replaying the same file again announces nothing and changes no alert.
            let before = try harness.snapshot()
            try harness.replay(
                bytes: Self.simulate(days: 7, customers: 30_000, seed: 6, spike: true),
                asOf: Self.endOfArrivals(days: 7))
            #expect(try harness.snapshot().alerts == before.alerts)
            #expect(try listener.waitForNotification(timeout: .milliseconds(200)) == nil)
        }
    }

    /// Counted per stage and minute, `cjm.stage_decisions` equals a recount from the tables
    /// it summarizes: advances from the instances' reach times, abandonments from the
    /// critical moments (an abandonment when the customer fell silent, an expiry when it
    /// was detected).
    @Test func stageDecisionsEqualARecountFromInstancesAndMoments() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(conninfo: conninfo, configuration: Self.configuration())
            try harness.replay(bytes: Self.simulate(days: 2, customers: 3_000, seed: 9, spike: false))
            func rows(_ sql: String) throws -> [[String?]] { try harness.rows(sql) }
            let stored = try rows(
                """
                SELECT journey, stage_index, minute, abandoned, advanced FROM cjm.stage_decisions
                WHERE abandoned + advanced > 0 ORDER BY 1, 2, 3
                """)
            let recounted = try rows(
                """
                WITH decisions AS (
                    SELECT journey, n - 2 AS stage_index, date_trunc('minute', r) AS minute, 0 AS abandoned, 1 AS advanced
                    FROM cjm.journey_instances, unnest(reached_at) WITH ORDINALITY u(r, n)
                    WHERE n >= 2 AND r IS NOT NULL
                    UNION ALL
                    SELECT journey, stage_index,
                           date_trunc('minute', CASE reason WHEN 'inactive' THEN last_seen ELSE detected_at END), 1, 0
                    FROM cjm.critical_moments
                )
                SELECT journey, stage_index, minute, sum(abandoned)::bigint, sum(advanced)::bigint
                FROM decisions GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
                """)
            #expect(stored.count > 100)
            #expect(stored == recounted)
        }
    }
}

extension AlertEndToEndTests {
    /// A seasonal baseline and lagged stages through the store: a replay stopped part-way and
    /// continued by a new process (which restores the detector from `cjm.stage_decisions`,
    /// reaching back the baseline's days) ends with the alerts and counts of one replay.
    @Test func aSeasonalBaselineRestoresExactly() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            var configuration = Self.configuration()
            configuration.alerts.baseline = .sameHourDays(2)
            configuration.alerts.minDecided = 20
            configuration.alerts.falseAlarmsPerMonth = 50
            let harness = try StoreHarness(conninfo: conninfo, configuration: configuration)
            let bytes = Self.simulate(days: 7, customers: 30_000, seed: 6, spike: true)
            try harness.replay(bytes: bytes)
            let whole = try harness.snapshot()
            #expect(!whole.alerts.isEmpty, "the spike should fire against the same hours of the days before")

            try harness.reset()
            // Stop after about 60 % of the lines (at a line boundary), then replay all of it.
            var cut = bytes.count * 6 / 10
            while bytes[cut - 1] != UInt8(ascii: "\n") { cut += 1 }
            try harness.replay(bytes: Array(bytes[..<cut]))
            try harness.replay(bytes: bytes)
            let continued = try harness.snapshot()
            #expect(continued.alerts == whole.alerts)
            #expect(continued.decisions == whole.decisions)
        }
    }
}
