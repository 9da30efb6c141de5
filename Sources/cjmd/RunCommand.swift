import Alerting
import ArgumentParser
import DaemonSettings
import Foundation
import Ingest
import IngestEnvelope
import JourneyConfig
import JourneyCore
import JourneyStore
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import PostgresClient
import Prometheus
import ServiceLifecycle
import ServiceMetrics
import SystemdSupport

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "The daemon: ingest from the configured sources until SIGTERM.")

    @OptionGroup var options: ConfigOption

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Seconds a shutdown keeps retrying commits while the database is unavailable, then exits 69 with what was left.",
            discussion:
                "Keep it below the systemd unit's TimeoutStopSec (60 s in systemd/cjmd.service), so that cjmd exits with a message instead of being killed.",
            valueName: "seconds"))
    var drainTimeout: Double = 30

    func validate() throws {
        guard drainTimeout >= 0, drainTimeout.isFinite else {
            throw ValidationError("--drain-timeout must be a number of seconds, 0 or more")
        }
    }

    func run() async throws {
        let level = ProcessInfo.processInfo.environment["CJMD_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        JournalAwareLogHandler.bootstrap(logLevel: level)
        let logger = Logger(label: "cjmd")
        let configuration = try CommandSupport.loadConfiguration(options.config)
        try CommandSupport.refuseWhatRunCannotDo(configuration, path: options.config)
        Self.checkDescriptorLimit(configuration, logger: logger)
        FreedMemory.configureAllocator(environment: ProcessInfo.processInfo.environment)
        let notifier: SystemdNotifier
        do {
            notifier = try SystemdNotifier(unsetEnvironment: true)
        } catch {
            // systemd would wait for READY=1 until its start timeout: say why it never comes.
            logger.critical("NOTIFY_SOCKET is unusable; systemd will not hear READY=1", metadata: ["error": "\(error)"])
            notifier = SystemdNotifier(address: nil)
        }
        let activated: [String: Int32]
        do {
            let listeners = try SocketActivation.listeners(unset: true)
            for listener in listeners {
                let description = try SocketDescription(fd: listener.fd)
                guard description.isListeningStream else {
                    printError(
                        "cjmd: socket-activated descriptor \(listener.fd) (\(listener.name)) is not a listening stream socket; use ListenStream= in the socket unit"
                    )
                    throw ExitStatus.configuration
                }
                guard configuration.sources.contains(where: { $0.name == listener.name }) else {
                    printError(
                        "cjmd: systemd passed a socket named \(listener.name), but no source has that name; set FileDescriptorName= to a source's name"
                    )
                    throw ExitStatus.configuration
                }
            }
            activated = Dictionary(listeners.map { ($0.name, $0.fd) }, uniquingKeysWith: { first, _ in first })
        } catch let exit as ExitCode {
            throw exit
        } catch {
            printError("cjmd: socket activation: \(error)")
            throw ExitStatus.configuration
        }
        let watchdog = try? WatchdogSettings.fromEnvironment(unset: true)

        do {
            try BusStartCheck.check(configuration, logger: logger)
        } catch {
            printError("cjmd: \(options.config): \(error)")
            throw ExitStatus.configuration
        }

        notifier.status("waiting for the database")
        try await Self.waitForDatabase(configuration, configPath: options.config, logger: logger)

        let health = DaemonHealth()
        var metrics: CJMMetrics? = nil
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        var observer = PipelineObserver()
        if let listen = configuration.service.metricsListen {
            let registry = PrometheusCollectorRegistry()
            let cjmMetrics = CJMMetrics(
                factory: CJMMetrics.bootstrapPrometheus(registry: registry),
                sources: configuration.sources.map(\.name),
                httpSources: Set(configuration.sources.filter { HTTPSources.runs($0.kind) }.map(\.name)))
            metrics = cjmMetrics
            observer = MetricsObserver.make(cjmMetrics, health: health)
            do {
                let server = try await MetricsHTTPServer.bind(
                    address: try MetricsListenAddress(parsing: listen), registry: registry,
                    health: { health.health },
                    pages: MapPages(conninfo: configuration.database.url, clock: CommandSupport.now).handler,
                    logger: logger)
                services.append(.init(service: MetricsService(server: server)))
            } catch {
                printError("cjmd: \(error)")
                throw ExitStatus.configuration
            }
        } else {
            observer.onDatabase = { health.setDatabaseUp($0) }
        }

        var webhook: AlertWebhook? = nil
        if let url = configuration.alerts.webhook {
            let alertWebhook = AlertWebhook(settings: .init(url: url), logger: logger)
            webhook = alertWebhook
            // Alerts that were firing when the daemon stopped are re-sent, so Alertmanager
            // keeps them active.
            do {
                let connection = try PostgresConnection(conninfo: configuration.database.url)
                defer { connection.close() }
                alertWebhook.resume(
                    firing: try StoredAlerts.firing(
                        catalog: JourneyCatalog(journeys: configuration.journeys), on: connection))
            } catch {
                logger.warning(
                    "could not read the firing alerts to re-send them; new transitions are sent anyway",
                    metadata: ["error": "\(error)"])
            }
            let recordMetrics = observer.onCommit
            observer.onCommit = { batch, outcome, seconds in
                recordMetrics(batch, outcome, seconds)
                outcome.alertTransitions.forEach(alertWebhook.send)
            }
        }
        let pipeline = LivePipeline(
            configuration: configuration, connect: { try PostgresConnection(conninfo: $0.database.url) },
            clock: CommandSupport.now, logger: logger, observer: observer, drainTimeout: drainTimeout)
        // Ready once the socket and the HTTP listeners are all bound.
        let listenersBound = NIOLockedValueBox(0)
        let listening: @Sendable () -> Void = {
            guard
                listenersBound.withLockedValue({ count in
                    count += 1
                    return count == 2
                })
            else { return }
            health.setListening(true)
            logger.info("ready", metadata: ["configuration": "\(configuration.logSummary)"])
            notifier.ready(status: "running")
        }
        let sources = SocketSources(
            sources: configuration.sources, inherited: activated, pipeline: pipeline,
            group: MultiThreadedEventLoopGroup.singleton, clock: CommandSupport.now, logger: logger,
            onListening: { _ in listening() },
            onConnections: { [metrics] source, open in metrics?.setConnections(source: source, count: open) })
        let tails = TailSources(
            sources: configuration.sources, pipeline: pipeline,
            loadCheckpoints: { source in
                let connection = try PostgresConnection(conninfo: pipeline.configuration.database.url)
                defer { connection.close() }
                return try SourceCheckpoint.load(source: source, from: connection)
            },
            clock: CommandSupport.now, logger: logger)
        let sdkSources = HTTPSources(
            sources: configuration.sources, pipeline: pipeline, group: MultiThreadedEventLoopGroup.singleton,
            clock: CommandSupport.now, logger: logger, onListening: listening,
            onConnections: { [metrics] source, open in metrics?.setConnections(source: source, count: open) },
            onResponse: { [metrics] source, status in metrics?.recordHTTPResponse(source: source, status: status) })
        // Every kind of source, in the order a reload applies them.
        let sourceServices: [any SourceService] = [sources, tails, sdkSources]
        // Shutdown runs in reverse order: STOPPING=1 first, then sources stop and hand over,
        // then the pipeline drains; metrics stay up until the end.
        services.insert(.init(service: pipeline), at: 0)
        if let shards = ShardWorkers(
            configuration: configuration, connect: { try PostgresConnection(conninfo: configuration.database.url) },
            clock: CommandSupport.now, logger: logger, observer: observer,
            onAlertTransitions: { [webhook] transitions in transitions.forEach { webhook?.send($0) } })
        {
            services.insert(
                .init(service: ShardService(workers: shards, drainTimeout: drainTimeout, logger: logger)), at: 0)
        }
        // The webhook stops last: transitions of the final commits still go out.
        if let webhook { services.insert(.init(service: webhook), at: 0) }
        if let watchdog {
            services.append(.init(service: WatchdogService(settings: watchdog, notifier: notifier, pipeline: pipeline)))
        }
        services.append(
            .init(
                service: ReloadService(
                    configPath: options.config, initial: configuration,
                    notifier: notifier, metrics: metrics, pipeline: pipeline,
                    sourceServices: sourceServices, logger: logger)))
        // Services stop in reverse order: the socket listeners first.
        for source in sourceServices.reversed() { services.append(.init(service: source)) }
        services.append(.init(service: StoppingNotifier(notifier: notifier, pipeline: pipeline)))
        let group = ServiceGroup(
            configuration: .init(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let abandoned as UncommittedAtShutdown {
            printError("cjmd: \(abandoned)")
            throw ExitStatus.unavailable
        } catch {
            printError("cjmd: \(error)")
            throw ExitCode.failure
        }
    }

    /// Connects, migrates and publishes the journeys, retrying with backoff while the
    /// database is unavailable (a daemon started before its database must not give up).
    static func waitForDatabase(_ configuration: CJMConfiguration, configPath: String, logger: Logger) async throws {
        var delay = 0.5
        var reported = false
        while true {
            do {
                let connection = try PostgresConnection(conninfo: configuration.database.url)
                try Migrator.migrate(connection)
                try JourneySink.publishJourneys(configuration, on: connection)
                connection.close()
                if reported { logger.notice("database reachable") }
                return
            } catch let error as PostgresError where error.isConnectionProblem || error.kind == .connectionFailed {
                if !reported {
                    logger.error(
                        "database unavailable; retrying",
                        metadata: [
                            "error": "\(error.message)", "hint": "check database.url in \(configPath)",
                        ])
                    reported = true
                }
                try await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 10)
            } catch {
                printError("cjmd: cannot prepare the database: \(error)")
                throw ExitStatus.unavailable
            }
        }
    }
}
