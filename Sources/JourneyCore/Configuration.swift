/// The whole validated configuration of cjmd (docs/configuration.md). Built by `JourneyConfig` from YAML;
/// everything here has already been checked, so the engine never meets an impossible value.
public struct CJMConfiguration: Sendable, Equatable {
    public var database: DatabaseSettings
    public var sources: [SourceSettings]
    public var ingest: IngestSettings
    public var journeys: [JourneyDefinition]
    public var alerts: AlertSettings
    public var service: ServiceSettings

    public init(
        database: DatabaseSettings = .init(), sources: [SourceSettings] = [], ingest: IngestSettings = .init(),
        journeys: [JourneyDefinition], alerts: AlertSettings = .init(), service: ServiceSettings = .init()
    ) {
        self.database = database
        self.sources = sources
        self.ingest = ingest
        self.journeys = journeys
        self.alerts = alerts
        self.service = service
    }
}

/// Where the database is.
public struct DatabaseSettings: Sendable, Equatable {
    /// A libpq connection string or URL; `PG*` environment variables fill in what it omits.
    public var url: String
    public init(url: String = "postgresql:///cjm") { self.url = url }
}

/// One input of events.
public struct SourceSettings: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A Unix stream socket at `path`, created with file mode `mode`.
        case unix(path: String, mode: UInt32)
        /// A TCP listener.
        case tcp(host: String, port: Int)
        /// Log files to follow; `path` may be a glob.
        case tail(path: String, startAtBeginning: Bool)
    }
    public var kind: Kind
    /// The name used to match a socket-activated descriptor (`FileDescriptorName=`) and in
    /// the `source` column; defaults to a description of the kind.
    public var name: String

    public init(kind: Kind, name: String? = nil) {
        self.kind = kind
        switch kind {
        case .unix(let path, _): self.name = name ?? "unix:\(path)"
        case .tcp(let host, let port): self.name = name ?? "tcp:\(host):\(port)"
        case .tail(let path, _): self.name = name ?? "tail:\(path)"
        }
    }
}

/// Limits and batching of ingestion.
public struct IngestSettings: Sendable, Equatable {
    public var maxLineBytes: Int = 65_536
    public var allowedLateness: TimeSpan = .seconds(5)
    public var maxFutureSkew: TimeSpan = .minutes(5)
    public var batchMaxEvents: Int = 5000
    public var batchMaxDelay: TimeSpan = .milliseconds(200)
    /// Client connections the socket sources accept at once, over all of them; one more is
    /// told so and closed. Bounds memory (each connection buffers up to `maxLineBytes`).
    public var maxConnections: Int = 1024
    /// A socket client that completes no line for this long is closed, unless it is waiting
    /// for the daemon (its acknowledgements are not committed yet, or reading is paused
    /// because the commit queue is full). Frees the slots of idle, trickling (slowloris)
    /// and non-reading clients. Zero: never.
    public var idleTimeout: TimeSpan = .minutes(10)
    public init() {}
}

/// Drop-off spike detection (docs/alerts.md).
public struct AlertSettings: Sendable, Equatable {
    public var window: TimeSpan = .minutes(15)
    public var baseline: TimeSpan = .hours(24)
    public var minDecided: Int = 50
    public var z: Double = 3.0
    public var minDelta: Double = 0.05
    public var webhook: String? = nil
    public init() {}
}

/// Service-level settings: the local HTTP address for metrics and health.
public struct ServiceSettings: Sendable, Equatable {
    /// `host:port` for `/metrics` and `/healthz`; nil disables the endpoint.
    public var metricsListen: String? = "127.0.0.1:9464"
    public init() {}
}

/// One journey: ordered stages, a conversion window, and what counts as a pain point.
public struct JourneyDefinition: Sendable, Equatable {
    public var name: String
    /// How long after entry an instance may still progress; ends it as expired after that.
    public var conversionWindow: TimeSpan
    /// At least two stages, in order.
    public var stages: [StageDefinition]
    public var critical: CriticalRules

    public init(name: String, conversionWindow: TimeSpan, stages: [StageDefinition], critical: CriticalRules = .init())
    {
        self.name = name
        self.conversionWindow = conversionWindow
        self.stages = stages
        self.critical = critical
    }
}

/// One stage of a journey.
public struct StageDefinition: Sendable, Equatable {
    public var name: String
    /// Event-name patterns; `*` matches any run of characters.
    public var events: [EventPattern]
    /// When set, only events from these touchpoints match the stage.
    public var touchpoints: [String]?
    /// Silence after which an instance waiting at this stage is flagged abandoned; nil: never.
    public var abandonAfter: TimeSpan?

    public init(name: String, events: [EventPattern], touchpoints: [String]? = nil, abandonAfter: TimeSpan? = nil) {
        self.name = name
        self.events = events
        self.touchpoints = touchpoints
        self.abandonAfter = abandonAfter
    }
}

/// What makes an event a pain point in an instance.
public struct CriticalRules: Sendable, Equatable {
    public var events: [EventPattern]
    /// Events with sentiment strictly below this are pain points.
    public var sentimentBelow: Double?

    public init(events: [EventPattern] = [], sentimentBelow: Double? = nil) {
        self.events = events
        self.sentimentBelow = sentimentBelow
    }
}
