// swift-tools-version:6.0
import PackageDescription

// The layout follows the pipeline: sources → decode → reorder/journey state → sink → alerts.
let package = Package(
    name: "cjmd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cjmd", targets: ["cjmd"]),
        .executable(name: "cjmd-alertsim", targets: ["cjmd-alertsim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
    ],
    targets: [
        // libpq, from the system (Debian: libpq-dev).
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // A thin, typed libpq client: connections, parameters, transactions, COPY, LISTEN/NOTIFY.
        .target(name: "PostgresClient", dependencies: ["CLibPQ"]),
        // nats.c, from the system (Debian: libnats-dev).
        .systemLibrary(
            name: "CNATS",
            pkgConfig: "libnats",
            providers: [.apt(["libnats-dev"])]
        ),
        // A thin, typed nats.c client: connections, JetStream streams, acknowledged publishes,
        // durable pull consumers.
        .target(name: "NATSClient", dependencies: ["CNATS"]),
        // Pure journey logic: events, configuration model, stage matching, reorder buffer,
        // instance state machine. No I/O.
        .target(name: "JourneyCore", dependencies: [.product(name: "RealModule", package: "swift-numerics")]),
        // What only a running service needs beside the journey model: the database, the
        // sources, the metrics address; with it, the whole configuration. Pure.
        .target(name: "DaemonSettings", dependencies: ["JourneyCore"]),
        // NDJSON line → event or dead-letter reason. Pure.
        .target(
            name: "EventDecoding",
            dependencies: ["JourneyCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // What every source hands on: accepted events, dead letters, file positions. Pure.
        .target(name: "IngestEnvelope", dependencies: ["JourneyCore", "EventDecoding"]),
        // YAML configuration → JourneyCore model, with every problem named by key and line.
        .target(name: "JourneyConfig", dependencies: ["JourneyCore", "DaemonSettings", "Yams"]),
        // Versioned SQL migrations, embedded in the binary (sources of truth: sql/*.sql).
        .target(
            name: "CJMSchema",
            path: "sql",
            exclude: ["README.md"],
            resources: [.embedInCode("migrations")]
        ),
        // The journey map as a picture: a self-contained HTML document from the views' numbers. Pure.
        .target(name: "JourneyMap"),
        // PostgreSQL sink: migrations, batch writer, state loading, checkpoints.
        .target(
            name: "JourneyStore",
            dependencies: [
                "PostgresClient", "JourneyCore", "DaemonSettings", "EventDecoding", "IngestEnvelope", "CJMSchema",
                "JourneyMap", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Following log files: discovery by glob, identity (device, inode, fingerprint),
        // rotation, truncation, inotify or polling. Only file-system I/O.
        .target(
            name: "FileTail",
            dependencies: [
                "EventDecoding", "IngestEnvelope", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Sources and the pipeline that drives decode → engine → store.
        .target(
            name: "Ingest",
            dependencies: [
                "JourneyCore", "DaemonSettings", "EventDecoding", "IngestEnvelope", "JourneyStore", "PostgresClient",
                "FileTail", "NATSClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Alert delivery beyond the database: Alertmanager's v2 API webhook with a bounded queue.
        .target(
            name: "Alerting",
            dependencies: [
                "JourneyCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // systemd integration: sd_notify, watchdog, socket activation, journald log lines.
        .target(name: "SystemdSupport", dependencies: [.product(name: "Logging", package: "swift-log")]),
        // Prometheus metrics and the health endpoint on a local HTTP address.
        .target(
            name: "ServiceMetrics",
            dependencies: [
                "EventDecoding",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Seeded, deterministic generator of realistic journeys.
        .target(name: "JourneySimulator", dependencies: ["JourneyCore"]),
        // The alert simulation of docs/alerts.md: steady traffic and spikes through the
        // daemon's drop-off detector; false alarms per stage-month and detection delays.
        .target(name: "AlertSimulation", dependencies: ["JourneyCore", "JourneySimulator"]),
        .executableTarget(
            name: "cjmd-alertsim",
            dependencies: ["AlertSimulation", "JourneyCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "cjmd",
            dependencies: [
                "JourneyCore", "DaemonSettings", "EventDecoding", "IngestEnvelope", "JourneyConfig", "JourneyStore",
                "Ingest", "JourneySimulator", "JourneyMap",
                "PostgresClient", "SystemdSupport", "ServiceMetrics", "Alerting",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A plain recomputation of docs/semantics.md and docs/sql.md written from those pages alone, for differential tests.
        // It uses JourneyCore's data types only, never its matching or engine code.
        .target(name: "JourneyReference", dependencies: ["JourneyCore"], path: "Tests/JourneyReference"),
        .testTarget(name: "PostgresClientTests", dependencies: ["PostgresClient"]),
        // Real nats-server processes (JetStream on loopback) for the tests.
        .target(name: "NATSTestServer", dependencies: ["NATSClient"], path: "Tests/NATSTestServer"),
        .testTarget(name: "NATSClientTests", dependencies: ["NATSClient", "JourneyCore", "NATSTestServer"]),
        .testTarget(name: "SystemdSupportTests", dependencies: ["SystemdSupport"]),
        .testTarget(
            name: "ServiceMetricsTests",
            dependencies: [
                "ServiceMetrics", "EventDecoding", .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Drives the real `cjmd` binary: exit codes, messages, output formats.
        .testTarget(
            name: "CJMDTests",
            dependencies: ["cjmd", "JourneyStore", "PostgresClient", "JourneyMap", "NATSClient", "NATSTestServer", "JourneyCore"],
            // Run by the SDK tests with the SDKs' own Python, not built.
            exclude: ["sdk"]),
        .testTarget(name: "JourneyCoreTests", dependencies: ["JourneyCore", "JourneyReference"]),
        .testTarget(
            name: "JourneyMapTests", dependencies: ["JourneyMap"],
            // Run by the screenshot test with the system's Python, not built.
            exclude: ["png_regions.py"]),
        .testTarget(name: "AlertSimulationTests", dependencies: ["AlertSimulation", "JourneyCore"]),
        .testTarget(name: "EventDecodingTests", dependencies: ["EventDecoding", "JourneyCore"]),
        .testTarget(
            name: "FileTailTests",
            dependencies: ["FileTail", "EventDecoding", "IngestEnvelope", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "AlertingTests",
            dependencies: [
                "Alerting", "JourneyCore", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The ingest side without a database: connection state and handler on EmbeddedChannel.
        .testTarget(
            name: "IngestTests",
            dependencies: [
                "Ingest", "JourneyCore", "DaemonSettings", "EventDecoding", "IngestEnvelope",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "JourneyConfigTests", dependencies: ["JourneyConfig", "JourneyCore", "DaemonSettings"]),
        .testTarget(
            name: "JourneyStoreTests",
            dependencies: [
                "JourneyStore", "JourneyCore", "DaemonSettings", "PostgresClient", "JourneySimulator", "Ingest",
                "EventDecoding", "IngestEnvelope", "CJMSchema",
                "JourneyReference", "JourneyConfig", "JourneyMap",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
