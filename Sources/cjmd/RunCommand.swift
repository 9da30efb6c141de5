import ArgumentParser
import Foundation
import Ingest
import JourneyConfig
import JourneyCore
import JourneyStore
import Logging
import NIOPosix
import PostgresClient
import ServiceLifecycle

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "The daemon: ingest from the configured sources until SIGTERM.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let configuration = try CommandSupport.loadConfiguration(options.config)
        let logger = CommandSupport.makeLogger()
        let conninfo = configuration.database.url
        // The schema must be in place before anything is accepted; wait for the database.
        try await Self.waitForDatabase(configuration, configPath: options.config, logger: logger)

        let pipeline = LivePipeline(
            configuration: configuration, connect: { try PostgresConnection(conninfo: conninfo) },
            clock: CommandSupport.now, logger: logger)
        let sources = SocketSources(
            sources: configuration.sources, pipeline: pipeline, group: MultiThreadedEventLoopGroup.singleton,
            clock: CommandSupport.now, logger: logger,
            onListening: { _ in
                logger.info("ready", metadata: ["configuration": "\(configuration.logSummary)"])
            })
        // Shutdown runs in reverse order: sources stop and hand over first, then the pipeline drains.
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: pipeline), .init(service: sources)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
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
                    logger.error("database unavailable; retrying", metadata: [
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
