import DaemonSettings
import JourneyConfig
import JourneyCore
import Testing

/// Property: any valid configuration, written out as YAML, loads back equal to itself.
@Suite("Random valid configurations survive YAML and back")
struct RoundTripTests {
    @Test(arguments: 1...150)
    func randomConfigurationRoundTrips(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let original = RandomConfiguration.make(using: &random)
        let yaml = YAMLWriter.render(original, using: &random)
        let loaded: CJMConfiguration
        do {
            loaded = try ConfigurationLoader.parse(yaml: yaml, fileName: "seed-\(seed).yaml")
        } catch {
            Issue.record("seed \(seed) did not load:\n\(error)\n--- YAML ---\n\(yaml)")
            return
        }
        #expect(loaded == original, "seed \(seed)\n--- YAML ---\n\(yaml)")
    }
}

/// A small, seedable generator so failures reproduce from the seed alone.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Builds configurations that satisfy every rule of the loader.
enum RandomConfiguration {
    /// Characters YAML treats specially, non-ASCII text, and plain letters.
    static let alphabet: [Character] = Array("abcdefghijklmnopqrstuvwxyz_0123456789 -:#*&!|>%@`'\"\\,[]{}é✓日🙂")

    static func text<R: RandomNumberGenerator>(maxLength: Int, using random: inout R) -> String {
        let length = Int.random(in: 1...maxLength, using: &random)
        return String((0..<length).map { _ in alphabet.randomElement(using: &random) ?? "a" })
    }

    static func span<R: RandomNumberGenerator>(allowZero: Bool = false, using random: inout R) -> TimeSpan {
        if allowZero, Bool.random(using: &random) { return .zero }
        let value = Int64.random(in: 1...1000, using: &random)
        switch Int.random(in: 0..<6, using: &random) {
        case 0: return TimeSpan(microseconds: value)
        case 1: return .milliseconds(value)
        case 2: return .seconds(value)
        case 3: return .minutes(value)
        case 4: return .hours(value)
        default: return .days(value)
        }
    }

    static func make<R: RandomNumberGenerator>(using random: inout R) -> CJMConfiguration {
        var database = DatabaseSettings()
        if Bool.random(using: &random) {
            database.url = "postgresql://cjm@db:5432/" + text(maxLength: 8, using: &random)
        }

        var sources: [SourceSettings] = []
        for index in 0..<Int.random(in: 0...4, using: &random) {
            let kind: SourceSettings.Kind
            switch Int.random(in: 0..<4, using: &random) {
            case 0: kind = .unix(path: "/run/cjmd/s\(index).sock", mode: UInt32.random(in: 0...0o777, using: &random))
            case 1:
                let host =
                    ["127.0.0.1", "::1", "0.0.0.0", "localhost", "fe80::1%eth0"].randomElement(using: &random) ?? "::1"
                kind = .tcp(host: host, port: 1000 + index * 1000 + Int.random(in: 0..<1000, using: &random))
            case 2: kind = .tail(path: "/var/log/app\(index)/*.ndjson", startAtBeginning: Bool.random(using: &random))
            default:
                let keys = Set(
                    (0..<Int.random(in: 1...3, using: &random)).map { _ in text(maxLength: 12, using: &random) }
                        .filter { !$0.isEmpty })
                kind = .http(
                    HTTPSourceSettings(
                        host: "127.0.0.1", port: 20_000 + index, writeKeys: keys.isEmpty ? ["k"] : keys,
                        maxBodyBytes: Bool.random(using: &random)
                            ? HTTPSourceSettings.defaultMaxBodyBytes : Int.random(in: 1024...(1 << 30), using: &random))
                )
            }
            let name = Bool.random(using: &random) ? "n\(index) " + text(maxLength: 12, using: &random) : nil
            sources.append(SourceSettings(kind: kind, name: name))
        }
        // A bus half of the time, with some of the other sources publishing to it.
        if Bool.random(using: &random) {
            let partitions = Int.random(in: 1...64, using: &random)
            let owned: PartitionSelection
            switch Int.random(in: 0..<3, using: &random) {
            case 0: owned = .all
            case 1: owned = .none
            default:
                owned = .some(
                    Array(
                        Set(
                            (0..<Int.random(in: 1...4, using: &random)).map { _ in
                                Int.random(in: 0..<partitions, using: &random)
                            })
                    ).sorted())
            }
            let bus = SourceSettings(
                kind: .jetstream(
                    JetStreamSourceSettings(
                        servers: (0..<Int.random(in: 1...3, using: &random)).map { "nats://127.0.0.1:\(4222 + $0)" },
                        stream: ["CJM", "events_bus", "B-2"].randomElement(using: &random)!,
                        subject: ["cjm.p", "shop.events.part"].randomElement(using: &random)!, partitions: partitions,
                        ownedPartitions: owned, replicas: Int.random(in: 1...5, using: &random),
                        idleAfter: Bool.random(using: &random)
                            ? JetStreamSourceSettings.defaultIdleAfter
                            : .seconds(Int64.random(in: 1...600, using: &random)))),
                name: Bool.random(using: &random) ? "bus" : nil)
            for index in sources.indices where Bool.random(using: &random) { sources[index].forwardTo = bus.name }
            sources.insert(bus, at: Int.random(in: 0...sources.count, using: &random))
        }

        var ingest = IngestSettings()
        ingest.maxLineBytes = Int.random(in: 256...(64 << 20), using: &random)
        ingest.allowedLateness = span(allowZero: true, using: &random)
        ingest.maxFutureSkew = span(allowZero: true, using: &random)
        ingest.batchMaxEvents = Int.random(in: 1...100_000, using: &random)
        ingest.batchMaxDelay = span(using: &random)

        var journeys: [JourneyDefinition] = []
        for journeyIndex in 0..<Int.random(in: 1...3, using: &random) {
            let stageCount = Int.random(in: 2...5, using: &random)
            let stages = (0..<stageCount).map { stageIndex in
                StageDefinition(
                    name: "s\(stageIndex) " + text(maxLength: 10, using: &random),
                    events: (0..<Int.random(in: 1...4, using: &random)).map { _ in
                        EventPattern(text(maxLength: 24, using: &random))
                    },
                    touchpoints: Bool.random(using: &random)
                        ? (0..<Int.random(in: 1...3, using: &random)).map { _ in text(maxLength: 10, using: &random) }
                        : nil,
                    abandonAfter: stageIndex < stageCount - 1 && Bool.random(using: &random)
                        ? span(using: &random) : nil)
            }
            let critical = CriticalRules(
                events: (0..<Int.random(in: 0...3, using: &random)).map { _ in
                    EventPattern(text(maxLength: 16, using: &random))
                },
                sentimentBelow: Bool.random(using: &random) ? Double.random(in: -1...1, using: &random) : nil)
            journeys.append(
                JourneyDefinition(
                    name: "j\(journeyIndex) " + text(maxLength: 10, using: &random),
                    conversionWindow: span(using: &random), stages: stages, critical: critical))
        }

        var alerts = AlertSettings()
        alerts.window = span(using: &random)
        switch Int.random(in: 0..<3, using: &random) {
        case 0:
            alerts.window = .minutes(Int64.random(in: 1...1440, using: &random))
            alerts.baseline = .sameHourDays(Int.random(in: 1...28, using: &random))
        case 1:
            alerts.window = .minutes(Int64.random(in: 1...10080, using: &random))
            alerts.baseline = .sameHourWeeks(Int.random(in: 1...8, using: &random))
        default:
            alerts.baseline = .preceding(
                TimeSpan(microseconds: alerts.window.microseconds * Int64.random(in: 1...100, using: &random)))
        }
        alerts.minDecided = Int.random(in: 1...10_000, using: &random)
        if Bool.random(using: &random) {
            alerts.z = Double.random(in: 0.001...20, using: &random)
        } else {
            alerts.falseAlarmsPerMonth = Double.random(in: 0.001...1000, using: &random)
        }
        alerts.minDelta = Double.random(in: 0...1, using: &random)
        alerts.webhook =
            Bool.random(using: &random)
            ? "http://alerts.example:\(Int.random(in: 1...65535, using: &random))/api/v2/alerts" : nil

        var service = ServiceSettings()
        switch Int.random(in: 0..<3, using: &random) {
        case 0: service.metricsListen = nil
        case 1: service.metricsListen = "127.0.0.1:\(Int.random(in: 1...65535, using: &random))"
        default: service.metricsListen = "[::1]:\(Int.random(in: 1...65535, using: &random))"
        }
        var retention = RetentionSettings()
        // At least a day, and longer than the allowed lateness.
        if Bool.random(using: &random) {
            retention.events = max(ingest.allowedLateness, .days(1)) + .days(Int64.random(in: 0...400, using: &random))
        }
        if Bool.random(using: &random) { retention.rejectedEvents = .days(Int64.random(in: 1...400, using: &random)) }
        return CJMConfiguration(
            database: database, sources: sources, ingest: ingest, journeys: journeys,
            alerts: alerts, service: service, retention: retention)
    }
}

/// A test-side YAML writer, varying style (block or flow lists, quoted or plain text,
/// optional keys left out when they equal the default) so the loader meets many spellings.
enum YAMLWriter {
    /// Sorted partitions as ranges: [0, 1, 2, 5] is "0-2,5".
    static func ranges(_ list: [Int]) -> String {
        var parts: [String] = []
        var index = 0
        while index < list.count {
            var end = index
            while end + 1 < list.count, list[end + 1] == list[end] + 1 { end += 1 }
            parts.append(end == index ? "\(list[index])" : "\(list[index])-\(list[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }

    static func render<R: RandomNumberGenerator>(_ config: CJMConfiguration, using random: inout R) -> String {
        var out = "# generated\n"
        out += "database:\n  url: \(string(config.database.url, using: &random))\n"
        if !config.sources.isEmpty {
            out += "sources:\n"
            for source in config.sources {
                switch source.kind {
                case .unix(let path, let mode):
                    out += "  - type: unix\n    path: \(string(path, using: &random))\n"
                    let octal = String(mode, radix: 8)
                    out += "    mode: \"\(String(repeating: "0", count: 4 - octal.count) + octal)\"\n"
                case .tcp(let host, let port):
                    let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
                    out += "  - type: tcp\n    listen: \(string(address, using: &random))\n"
                case .tail(let path, let startAtBeginning):
                    out += "  - type: tail\n    path: \(string(path, using: &random))\n"
                    if startAtBeginning || Bool.random(using: &random) {
                        out += "    start_at: \(startAtBeginning ? "beginning" : "end")\n"
                    }
                case .http(let http):
                    out += "  - type: http\n    listen: \(string("\(http.host):\(http.port)", using: &random))\n"
                    out += "    write_keys:\n"
                    for key in http.writeKeys.sorted() { out += "      - \(string(key, using: &random))\n" }
                    if http.maxBodyBytes != HTTPSourceSettings.defaultMaxBodyBytes || Bool.random(using: &random) {
                        out += "    max_body_bytes: \(http.maxBodyBytes)\n"
                    }
                case .jetstream(let bus):
                    out += "  - type: jetstream\n    servers:\n"
                    for server in bus.servers { out += "      - \(string(server, using: &random))\n" }
                    if bus.stream != "CJM" || Bool.random(using: &random) {
                        out += "    stream: \(string(bus.stream, using: &random))\n"
                    }
                    if bus.subject != "cjm.p" || Bool.random(using: &random) {
                        out += "    subject: \(string(bus.subject, using: &random))\n"
                    }
                    out += "    partitions: \(bus.partitions)\n"
                    switch bus.ownedPartitions {
                    case .all: if Bool.random(using: &random) { out += "    owned_partitions: all\n" }
                    case .none: out += "    owned_partitions: none\n"
                    case .some(let list): out += "    owned_partitions: \"\(Self.ranges(list))\"\n"
                    }
                    if bus.replicas != 1 || Bool.random(using: &random) { out += "    replicas: \(bus.replicas)\n" }
                    if bus.idleAfter != JetStreamSourceSettings.defaultIdleAfter || Bool.random(using: &random) {
                        out += "    idle_after: \(bus.idleAfter.microseconds / 1_000_000)s\n"
                    }
                }
                if let target = source.forwardTo { out += "    forward_to: \(string(target, using: &random))\n" }
                if source.name != SourceSettings(kind: source.kind).name {
                    out += "    name: \(string(source.name, using: &random))\n"
                }
            }
        } else if Bool.random(using: &random) {
            out += "sources: []\n"
        }
        out += "ingest:\n"
        out += "  max_line_bytes: \(config.ingest.maxLineBytes)\n"
        out += "  allowed_lateness: \(config.ingest.allowedLateness)\n"
        out += "  max_future_skew: \(config.ingest.maxFutureSkew)\n"
        out += "  batch_max_events: \(config.ingest.batchMaxEvents)\n"
        out += "  batch_max_delay: \(config.ingest.batchMaxDelay)\n"
        out += "journeys:\n"
        for journey in config.journeys {
            out += "  - name: \(string(journey.name, using: &random))\n"
            if journey.conversionWindow != .days(30) || Bool.random(using: &random) {
                out += "    conversion_window: \(journey.conversionWindow)\n"
            }
            out += "    stages:\n"
            for stage in journey.stages {
                out += "      - name: \(string(stage.name, using: &random))\n"
                out += "        events: \(list(stage.events.map(\.text), indent: 10, using: &random))\n"
                if let touchpoints = stage.touchpoints {
                    out += "        touchpoints: \(list(touchpoints, indent: 10, using: &random))\n"
                }
                if let abandonAfter = stage.abandonAfter {
                    out += "        abandon_after: \(abandonAfter)\n"
                }
            }
            if journey.critical != CriticalRules() || Bool.random(using: &random) {
                out += "    critical:\n"
                out += "      events: \(list(journey.critical.events.map(\.text), indent: 8, using: &random))\n"
                if let below = journey.critical.sentimentBelow {
                    out += "      sentiment_below: \(below)\n"
                }
            }
        }
        out += "alerts:\n"
        out += "  window: \(config.alerts.window)\n  baseline: \(config.alerts.baseline)\n"
        out += "  min_decided: \(config.alerts.minDecided)\n"
        if let z = config.alerts.z {
            out += "  z: \(z)\n"
        } else {
            out += "  false_alarms_per_month: \(config.alerts.falseAlarmsPerMonth)\n"
        }
        out += "  min_delta: \(config.alerts.minDelta)\n"
        if let webhook = config.alerts.webhook { out += "  webhook: \(string(webhook, using: &random))\n" }
        if config.retention != RetentionSettings() || Bool.random(using: &random) {
            out += "retention:\n"
            if let events = config.retention.events { out += "  events: \(events)\n" }
            if let rejected = config.retention.rejectedEvents { out += "  rejected_events: \(rejected)\n" }
        }
        out += "service:\n  metrics_listen: "
        out +=
            config.service.metricsListen.map { string($0, using: &random) }
            ?? (Bool.random(using: &random) ? "off" : "~")
        return out + "\n"
    }

    /// Flow (`[a, "b"]`) or block (`- a` lines, starting on the next line) list.
    private static func list<R: RandomNumberGenerator>(_ items: [String], indent: Int, using random: inout R) -> String
    {
        if items.isEmpty || Bool.random(using: &random) {
            return "[" + items.map { quoted($0) }.joined(separator: ", ") + "]"
        }
        let padding = String(repeating: " ", count: indent)
        return items.map { "\n\(padding)- \(string($0, using: &random))" }.joined()
    }

    /// Plain when YAML would read it back as the same text, else double-quoted.
    private static func string<R: RandomNumberGenerator>(_ text: String, using random: inout R) -> String {
        let plainSafe =
            text.first.map { $0.isLetter && $0.isASCII } == true
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_./-".contains($0)) }
            && !["null", "Null", "NULL"].contains(text)
        return plainSafe && Bool.random(using: &random) ? text : quoted(text)
    }

    private static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
