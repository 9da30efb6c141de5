import DaemonSettings
import Foundation
import JourneyConfig
import JourneyCore
import Testing

@Suite("Valid configurations load with the right values")
struct ValidConfigurationTests {
    static let shippedConfigPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/cjmd.yaml").path

    @Test func shippedConfigurationLoadsWithTheSpecExampleValues() throws {
        let config = try ConfigurationLoader.load(path: Self.shippedConfigPath)
        #expect(config.database.url == "postgresql:///cjm")
        #expect(
            config.sources.map(\.kind) == [
                .unix(path: "/run/cjmd/events.sock", mode: 0o660),
                .tcp(host: "127.0.0.1", port: 7410),
                .tail(path: "/var/log/shop/events.ndjson", startAtBeginning: true),
            ])
        #expect(config.sources.map(\.name) == ["events", "tcp:127.0.0.1:7410", "tail:/var/log/shop/events.ndjson"])
        var ingest = IngestSettings()
        ingest.personaPaths = config.personas.paths
        #expect(config.ingest == ingest)
        #expect(config.alerts.webhook == "http://127.0.0.1:9093/api/v2/alerts")
        #expect(config.alerts.window == .hours(1) && config.alerts.baseline == .preceding(.hours(24)))
        #expect(config.alerts.minDecided == 50 && config.alerts.z == nil && config.alerts.minDelta == 0.05)
        #expect(config.alerts.falseAlarmsPerMonth == 0.5)
        #expect(config.alerts.byPersona == false)
        #expect(config.service.metricsListen == "127.0.0.1:9464")
        let journey = try #require(config.journeys.first)
        #expect(config.journeys.count == 1)
        #expect(journey.name == "purchase")
        #expect(journey.conversionWindow == .days(30))
        #expect(journey.repeatWindow == .days(90))
        #expect(journey.stages.map(\.name) == ["awareness", "consideration", "purchase", "loyalty"])
        #expect(journey.stages[0].events.map(\.text) == ["ad_impression", "email_open", "landing_*"])
        #expect(journey.stages.map(\.abandonAfter) == [.days(7), .days(3), nil, nil])
        #expect(journey.stages.map(\.touchpoints) == [nil, nil, ["web", "mobile", "store"], nil])
        #expect(
            journey.stages.map(\.target) == [
                nil, StageTarget(stepConversion: "0.45", medianTimeToNext: .days(2)), nil, nil,
            ])
        #expect(journey.critical.events.map(\.text) == ["payment_failed", "support_ticket", "refund_requested"])
        #expect(journey.critical.sentimentBelow == -0.5)
        #expect(config.logSummary.contains("1 journey (purchase: 4 stages)"))
        #expect(
            config.personas.paths == [
                ["traits", "persona"], ["context", "traits", "persona"], ["properties", "persona"],
            ])
        #expect(config.ingest.personaPaths == config.personas.paths)
        #expect(config.personas.defaultPersona == "unknown")
    }

    @Test func personasReadPathsInOrderAndTheirDefault() throws {
        let config = try ConfigurationLoader.parse(
            yaml: minimalJourneys + "\npersonas:\n  from: [user.segment, traits.persona]\n  default: anonymous\n",
            fileName: "p.yaml")
        #expect(config.personas.paths == [["user", "segment"], ["traits", "persona"]])
        #expect(config.ingest.personaPaths == [["user", "segment"], ["traits", "persona"]])
        #expect(config.personas.defaultPersona == "anonymous")
        let single = try ConfigurationLoader.parse(
            yaml: minimalJourneys + "\npersonas:\n  from: properties.persona\n", fileName: "p.yaml")
        #expect(single.personas.paths == [["properties", "persona"]])
        #expect(single.personas.defaultPersona == "unknown")
        let renamed = try ConfigurationLoader.parse(
            yaml: minimalJourneys + "\npersonas:\n  default: guest\n", fileName: "p.yaml")
        #expect(renamed.personas.paths.isEmpty && renamed.personas.defaultPersona == "guest")
        let alerting = try ConfigurationLoader.parse(
            yaml: minimalJourneys + "\nalerts:\n  by_persona: true\n", fileName: "p.yaml")
        #expect(alerting.alerts.byPersona)
        let none = try ConfigurationLoader.parse(yaml: minimalJourneys, fileName: "p.yaml")
        #expect(none.personas == PersonaSettings() && none.ingest.personaPaths.isEmpty)
    }

    @Test func absentKeysTakeTheirDefaults() throws {
        let config = try ConfigurationLoader.parse(yaml: minimalJourneys, fileName: "min.yaml")
        #expect(config.database.url == "postgresql:///cjm")
        #expect(config.sources.isEmpty)
        #expect(config.ingest.maxLineBytes == 65_536)
        #expect(config.ingest.allowedLateness == .seconds(5))
        #expect(config.ingest.maxFutureSkew == .minutes(5))
        #expect(config.ingest.batchMaxEvents == 5000)
        #expect(config.ingest.batchMaxDelay == .milliseconds(200))
        #expect(config.alerts == AlertSettings())
        #expect(config.alerts.webhook == nil)
        #expect(config.service.metricsListen == "127.0.0.1:9464")
        let journey = try #require(config.journeys.first)
        #expect(journey.conversionWindow == .days(30))
        #expect(journey.repeatWindow == journey.conversionWindow, "the repeat window defaults to the conversion window")
        #expect(journey.stages.allSatisfy { $0.abandonAfter == nil && $0.touchpoints == nil })
        #expect(journey.critical == CriticalRules())
    }

    @Test func emptySectionsAndNullOptionalKeysMeanDefaults() throws {
        let yaml = """
            database:
            sources:
            ingest:
            alerts:
              webhook:
            service:
            journeys:
              - name: j
                stages:
                  - {name: a, events: [x], abandon_after: ~, touchpoints: null}
                  - {name: b, events: [y]}
                critical:
            """
        let config = try ConfigurationLoader.parse(yaml: yaml, fileName: "nulls.yaml")
        #expect(
            config
                == CJMConfiguration(journeys: [
                    JourneyDefinition(
                        name: "j", conversionWindow: .days(30),
                        stages: [
                            StageDefinition(name: "a", events: [EventPattern("x")]),
                            StageDefinition(name: "b", events: [EventPattern("y")]),
                        ])
                ]))
    }

    @Test(arguments: [
        ("250us", TimeSpan(microseconds: 250)),
        ("200ms", TimeSpan.milliseconds(200)),
        ("90s", TimeSpan.seconds(90)),
        ("15m", TimeSpan.minutes(15)),
        ("36h", TimeSpan.hours(36)),
        ("7d", TimeSpan.days(7)),
        ("\"45s\"", TimeSpan.seconds(45)),
    ])
    func durationsOfEveryUnit(text: String, expected: TimeSpan) throws {
        let yaml = minimalJourneys + "\ningest:\n  batch_max_delay: \(text)\n  max_future_skew: \(text)\n"
        let config = try ConfigurationLoader.parse(yaml: yaml, fileName: "d.yaml")
        #expect(config.ingest.batchMaxDelay == expected)
        #expect(config.ingest.maxFutureSkew == expected)
    }

    @Test func allowedLatenessMayBeZero() throws {
        for zero in ["0", "0s", "0ms"] {
            let yaml = minimalJourneys + "\ningest:\n  allowed_lateness: \(zero)\n"
            let config = try ConfigurationLoader.parse(yaml: yaml, fileName: "z.yaml")
            #expect(config.ingest.allowedLateness == .zero)
        }
    }

    @Test(arguments: ["off", "null", "~", "Off", "false"])
    func metricsEndpointCanBeDisabled(value: String) throws {
        let yaml = minimalJourneys + "\nservice:\n  metrics_listen: \(value)\n"
        #expect(try ConfigurationLoader.parse(yaml: yaml, fileName: "m.yaml").service.metricsListen == nil)
    }

    @Test func listenAddressesAcceptHostNamesAndBracketedIPv6() throws {
        let yaml =
            minimalJourneys + """

                sources:
                  - {type: tcp, listen: "[::1]:7410"}
                  - {type: tcp, listen: ingest.example.internal:80}
                  - {type: tcp, listen: 0.0.0.0:65535}
                  - {type: unix, path: /run/s.sock, mode: 0600}
                  - {type: unix, path: /run/t.sock, mode: "666"}
                  - {type: tail, path: "/var/log/*.ndjson"}
                service:
                  metrics_listen: "[::1]:9464"
                """
        let config = try ConfigurationLoader.parse(yaml: yaml, fileName: "l.yaml")
        #expect(
            config.sources.map(\.kind) == [
                .tcp(host: "::1", port: 7410), .tcp(host: "ingest.example.internal", port: 80),
                .tcp(host: "0.0.0.0", port: 65535), .unix(path: "/run/s.sock", mode: 0o600),
                .unix(path: "/run/t.sock", mode: 0o666), .tail(path: "/var/log/*.ndjson", startAtBeginning: false),
            ])
        #expect(config.service.metricsListen == "[::1]:9464")
    }

    @Test func httpSourcesReadTheirKeysAndBodyLimit() throws {
        let yaml =
            minimalJourneys + """

                sources:
                  - {type: http, name: sdk, listen: "8088", write_keys: [wk_live_1, phc_2]}
                  - {type: http, listen: 0.0.0.0:8089, write_keys: ["k"], max_body_bytes: 512KiB}
                  - {type: http, listen: 8090, write_keys: ["k"], max_body_bytes: 2000000}
                ingest:
                  clock_skew_tolerance: 10m
                """
        let config = try ConfigurationLoader.parse(yaml: yaml, fileName: "h.yaml")
        #expect(
            config.sources.map(\.kind) == [
                .http(HTTPSourceSettings(host: "127.0.0.1", port: 8088, writeKeys: ["wk_live_1", "phc_2"])),
                .http(HTTPSourceSettings(host: "0.0.0.0", port: 8089, writeKeys: ["k"], maxBodyBytes: 512 * 1024)),
                .http(HTTPSourceSettings(host: "127.0.0.1", port: 8090, writeKeys: ["k"], maxBodyBytes: 2_000_000)),
            ])
        #expect(config.sources.map(\.name) == ["sdk", "http:0.0.0.0:8089", "http:127.0.0.1:8090"])
        #expect(HTTPSourceSettings.defaultMaxBodyBytes == 8 << 20)
        #expect(config.ingest.clockSkewTolerance == .minutes(10))
    }

    /// Listening beyond this machine is always written out: a port alone means loopback.
    @Test func listenWithoutHostIsLoopback() throws {
        let yaml =
            minimalJourneys + """

                sources:
                  - {type: tcp, listen: ":7410"}
                  - {type: tcp, listen: 7411}
                  - {type: tcp, listen: "7412"}
                service:
                  metrics_listen: ":9464"
                """
        let config = try ConfigurationLoader.parse(yaml: yaml, fileName: "l.yaml")
        #expect(
            config.sources.map(\.kind) == [
                .tcp(host: "127.0.0.1", port: 7410), .tcp(host: "127.0.0.1", port: 7411),
                .tcp(host: "127.0.0.1", port: 7412),
            ])
        #expect(config.service.metricsListen == "127.0.0.1:9464")
    }

    @Test func eventPatternsAreTextAsWritten() throws {
        let yaml = """
            journeys:
              - name: j
                stages:
                  - name: a
                    events: [404, "*_view", 'checkout_*', yes, 1.50]
                  - name: b
                    events:
                      - order placed
            """
        let config = try ConfigurationLoader.parse(yaml: yaml, fileName: "p.yaml")
        let stages = try #require(config.journeys.first?.stages)
        #expect(stages[0].events.map(\.text) == ["404", "*_view", "checkout_*", "yes", "1.50"])
        #expect(stages[1].events.map(\.text) == ["order placed"])
        #expect(stages[0].events[1].matches("product_view"))
    }

    @Test func baselineEqualToWindowIsAccepted() throws {
        let yaml =
            minimalJourneys
            + "\nalerts:\n  window: 1h\n  baseline: 60m\n  min_delta: 0\n  webhook: https://hooks.example.com/a\n"
        let alerts = try ConfigurationLoader.parse(yaml: yaml, fileName: "a.yaml").alerts
        #expect(alerts.baseline == .preceding(alerts.window))
        #expect(alerts.minDelta == 0)
        #expect(alerts.webhook == "https://hooks.example.com/a")
    }

    @Test func seasonalBaselinesAndTheBudgetAreRead() throws {
        let daily = try ConfigurationLoader.parse(
            yaml: minimalJourneys + "\nalerts:\n  baseline: same_hour_7d\n  false_alarms_per_month: 2\n",
            fileName: "a.yaml"
        ).alerts
        #expect(daily.baseline == .sameHourDays(7) && daily.falseAlarmsPerMonth == 2 && daily.z == nil)
        #expect(daily.level != nil)
        let weekly = try ConfigurationLoader.parse(
            yaml: minimalJourneys + "\nalerts:\n  window: 30m\n  baseline: same_hour_4w\n  z: 4\n", fileName: "a.yaml"
        ).alerts
        #expect(weekly.baseline == .sameHourWeeks(4) && weekly.z == 4 && weekly.level == nil)
        // A larger budget is a lower bar: the level rises with it.
        #expect((daily.level ?? 0) > (AlertSettings().level ?? 1))
    }
}
