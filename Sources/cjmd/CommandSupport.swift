import ArgumentParser
import DaemonSettings
import Foundation
import Ingest
import JourneyConfig
import JourneyCore
import JourneyStore
import Logging
import PostgresClient

/// Options every command that reads the configuration shares.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The configuration file.")
    var config: String = ConfigurationLoader.defaultPath
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

enum CommandSupport {
    /// Loads and validates the configuration, or exits 66/78 with every problem listed.
    static func loadConfiguration(_ path: String) throws -> CJMConfiguration {
        do {
            return try ConfigurationLoader.load(path: path)
        } catch {
            printError(error.description)
            if case .invalid = error {
                printError("cjmd: fix the problems above in \(path); `cjmd check-config --config \(path)` checks again")
            }
            throw ExitCode(error.exitCode)
        }
    }

    /// Exits 78 when the configuration asks `cjmd run` for what cannot be: a shard (a jetstream
    /// source owning partitions) with a source that processes its events itself. A shard's
    /// database is written by shards only (docs/scaling.md); its other sources forward to the bus.
    static func refuseWhatRunCannotDo(_ configuration: CJMConfiguration, path: String) throws {
        guard let shard = ShardWorkers.ownedPartitions(configuration).first else { return }
        for source in configuration.sources where source.forwardTo == nil {
            if case .jetstream = source.kind { continue }
            printError(
                "cjmd: \(path): source \"\(source.name)\" processes its events here, but this daemon is a shard "
                    + "(source \"\(shard.source)\" owns partitions), whose database shards write alone; "
                    + "add forward_to: \(shard.source) to the source, or set owned_partitions: none")
            throw ExitStatus.configuration
        }
    }

    /// Connects to the configured database, or exits 69 saying what to check.
    static func connect(_ configuration: CJMConfiguration, configPath: String) throws -> PostgresConnection {
        do {
            return try PostgresConnection(conninfo: configuration.database.url)
        } catch {
            printError("cjmd: cannot connect to PostgreSQL: \(error.message)")
            printError("cjmd: check database.url in \(configPath) (and PG* variables), and that the server is running")
            throw ExitStatus.unavailable
        }
    }

    /// Connects and brings the schema up to date.
    static func connectMigrated(_ configuration: CJMConfiguration, configPath: String) throws -> PostgresConnection {
        let connection = try connect(configuration, configPath: configPath)
        do {
            try Migrator.migrate(connection)
        } catch {
            printError("cjmd: cannot apply the schema: \(error)")
            throw ExitStatus.unavailable
        }
        return connection
    }

    static func makeLogger(_ label: String = "cjmd") -> Logger {
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        if let level = ProcessInfo.processInfo.environment["CJMD_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) {
            logger.logLevel = level
        }
        return logger
    }

    /// Wall-clock time as an event time.
    @Sendable static func now() -> EventTime {
        EventTime(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000))
    }

    /// Maps a database failure during work to exit 69 with the server's words.
    static func databaseFailure(_ error: any Error, doing what: String) -> ExitCode {
        if let pg = error as? PostgresError {
            printError("cjmd: \(what) failed: \(pg)")
            if pg.isConnectionProblem {
                printError(
                    "cjmd: the database went away; run the command again once it is back (nothing is counted twice)")
            }
        } else {
            printError("cjmd: \(what) failed: \(error)")
        }
        return ExitStatus.unavailable
    }
}
