import ArgumentParser
import Foundation
import JourneyStore

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print the funnel from the database, for people (table) and scripts (json, csv).")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, csv
    }

    @OptionGroup var options: ConfigOption

    @Option(help: "Only this journey.")
    var journey: String?

    @Option(help: "table, json or csv.")
    var format: Format = .table

    func run() throws {
        let configuration = try CommandSupport.loadConfiguration(options.config)
        let connection = try CommandSupport.connect(configuration, configPath: options.config)
        let rows: [FunnelRow]
        do {
            rows = try FunnelQuery.funnel(connection, journey: journey)
        } catch {
            throw CommandSupport.databaseFailure(error, doing: "reading cjm.funnel (run `cjmd migrate` first?)")
        }
        if let journey, rows.isEmpty {
            printError("cjmd: no journey named \(journey) in the configuration the database was last given")
            throw ExitStatus.dataError
        }
        switch format {
        case .table: print(FunnelFormatter.table(rows), terminator: "")
        case .json: print(FunnelFormatter.json(rows))
        case .csv: print(FunnelFormatter.csv(rows), terminator: "")
        }
    }
}
