import ArgumentParser
import Foundation
import JourneyStore

struct RebuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Recompute every derived table from cjm.events under the current journey definitions.")

    @OptionGroup var options: ConfigOption

    @Flag(
        name: .customLong("from-retained"),
        help: """
            When retention has dropped old events: recompute every derived table from the retained events \
            alone (journeys that began before them are lost; see docs/storage.md). Without it such a rebuild is refused.
            """)
    var fromRetained = false

    func run() throws {
        let configuration = try CommandSupport.loadConfiguration(options.config)
        let logger = CommandSupport.makeLogger()
        let connection = try CommandSupport.connectMigrated(configuration, configPath: options.config)
        let started = Date()
        do {
            let summary = try JourneyRebuilder.rebuild(
                configuration: configuration, connection: connection, logger: logger, fromRetained: fromRetained)
            if let retainedFrom = summary.retainedFrom {
                print(
                    """
                    rebuilt from the retained events only (ts ≥ \(retainedFrom)): instances, critical moments, \
                    touchpoint totals, stage decisions, funnel totals and alerts now describe those events; \
                    customers met before \(retainedFrom) start again at their first retained event
                    """)
            }
            print(
                "rebuilt journeys from \(summary.events) events in "
                    + "\(String(format: "%.2f", Date().timeIntervalSince(started))) s")
        } catch let refused as JourneyRebuilder.HistoryDropped {
            printError("cjmd: rebuild refused: \(refused)")
            throw ExitStatus.dataError
        } catch {
            throw CommandSupport.databaseFailure(error, doing: "rebuild")
        }
    }
}
