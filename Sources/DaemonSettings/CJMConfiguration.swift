import JourneyCore

/// The whole validated configuration of cjmd (docs/configuration.md). Built by `JourneyConfig` from YAML;
/// everything here has already been checked, so the engine never meets an impossible value.
///
/// The journey model (`journeys`, `ingest`, `alerts`) belongs to the pure `JourneyCore`;
/// what only a running service needs — where the database is, the sources, the metrics
/// address — lives here, beside it.
public struct CJMConfiguration: Sendable, Equatable {
    public var database: DatabaseSettings
    public var sources: [SourceSettings]
    public var ingest: IngestSettings
    public var journeys: [JourneyDefinition]
    /// Where personas come from; the paths are also in ``ingest`` (`personaPaths`), which is
    /// what the decoder reads.
    public var personas: PersonaSettings
    public var alerts: AlertSettings
    public var service: ServiceSettings
    public var retention: RetentionSettings

    public init(
        database: DatabaseSettings = .init(), sources: [SourceSettings] = [], ingest: IngestSettings = .init(),
        journeys: [JourneyDefinition], personas: PersonaSettings = .init(), alerts: AlertSettings = .init(),
        service: ServiceSettings = .init(), retention: RetentionSettings = .init()
    ) {
        self.personas = personas
        self.database = database
        self.sources = sources
        self.ingest = ingest
        self.journeys = journeys
        self.alerts = alerts
        self.service = service
        self.retention = retention
    }
}
