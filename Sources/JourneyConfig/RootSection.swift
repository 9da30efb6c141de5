import DaemonSettings
import JourneyCore
import Yams

/// The top level of the file and the small sections (`database`, `service`).
extension ConfigReader {
    static let topLevelKeys = [
        "database", "sources", "ingest", "journeys", "personas", "alerts", "service", "retention",
    ]

    /// The configuration read from `root`, with defaults where keys are absent. When
    /// `problems` is not empty afterwards, the result is incomplete and must not be used.
    func readConfiguration(root: Node?) -> CJMConfiguration {
        let empty = CJMConfiguration(journeys: [])
        guard let root, !Field(node: root, path: .root).isNull else {
            report(
                "the file is empty; it needs at least a journeys: list "
                    + "(the commented example config/cjmd.yaml shows every key)", line: 1, column: 1, path: .root)
            return empty
        }
        guard
            let top = mapping(
                Field(node: root, path: .root),
                expecting: "a mapping with the sections " + Self.topLevelKeys.joined(separator: ", "),
                knownKeys: Self.topLevelKeys
            )
        else { return empty }
        var ingest = readIngest(top["ingest"])
        let personas = readPersonas(top["personas"])
        ingest.personaPaths = personas.paths
        return CJMConfiguration(
            database: readDatabase(top["database"]),
            sources: readSources(top["sources"]),
            ingest: ingest,
            journeys: readJourneys(top["journeys"], in: top),
            personas: personas,
            alerts: readAlerts(top["alerts"]),
            service: readService(top["service"]),
            retention: readRetention(top["retention"], allowedLateness: ingest.allowedLateness)
        )
    }

    /// A section that may be left out or left empty (every key then takes its default).
    func section(_ field: Field?, named name: String, knownKeys: [String]) -> MappingView? {
        guard let field, !field.isNull else { return nil }
        return mapping(
            field, expecting: "the \(name) settings as key: value lines (\(knownKeys.joined(separator: ", ")))",
            knownKeys: knownKeys)
    }

    func readDatabase(_ field: Field?) -> DatabaseSettings {
        var settings = DatabaseSettings()
        guard let section = section(field, named: "database", knownKeys: ["url"]) else { return settings }
        let url = text(section["url"], expecting: "a libpq connection string or URL such as postgresql:///cjm")
        settings.url = url.or(settings.url)
        return settings
    }

    func readService(_ field: Field?) -> ServiceSettings {
        var settings = ServiceSettings()
        guard let section = section(field, named: "service", knownKeys: ["metrics_listen"]),
            let listen = section["metrics_listen"]
        else { return settings }
        if listen.isNull {
            settings.metricsListen = nil
            return settings
        }
        let expected = "host:port such as 127.0.0.1:9464, or off to disable the metrics endpoint"
        guard let address = text(listen, expecting: expected).value else { return settings }
        if ["off", "false", "no"].contains(address.lowercased()) {
            settings.metricsListen = nil
            return settings
        }
        switch ValueFormats.listenAddress(address) {
        case .success(let parsed):
            // Written out, so a port alone (loopback) reaches the endpoint as host:port.
            settings.metricsListen =
                parsed.host.contains(":")
                ? "[\(parsed.host)]:\(parsed.port)" : "\(parsed.host):\(parsed.port)"
        case .failure(let error): report(error.message + "; or write off to disable the endpoint", at: listen)
        }
        return settings
    }
}
