import ArgumentParser
import Foundation
import JourneyStore

struct RebuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Recompute every derived table from cjm.events under the current journey definitions.")

    @OptionGroup var options: ConfigOption

    func run() throws {
        let configuration = try CommandSupport.loadConfiguration(options.config)
        let logger = CommandSupport.makeLogger()
        let connection = try CommandSupport.connectMigrated(configuration, configPath: options.config)
        let started = Date()
        do {
            let summary = try JourneyRebuilder.rebuild(
                configuration: configuration, connection: connection, logger: logger)
            print(
                "rebuilt journeys from \(summary.events) events in "
                    + "\(String(format: "%.2f", Date().timeIntervalSince(started))) s")
        } catch {
            throw CommandSupport.databaseFailure(error, doing: "rebuild")
        }
    }
}
