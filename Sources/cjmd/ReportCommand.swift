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

    /// What `--by` splits the funnel by.
    enum Split: String, ExpressibleByArgument, CaseIterable {
        case persona
    }

    @OptionGroup var options: ConfigOption

    @Option(help: "Only this journey.")
    var journey: String?

    @Option(help: "Only the instances of this persona (cjm.funnel_by_persona).")
    var persona: String?

    @Option(help: "persona: one funnel per persona (cjm.funnel_by_persona).")
    var by: Split?

    @Option(help: "table, json or csv.")
    var format: Format = .table

    func validate() throws {
        if persona != nil, by != nil {
            throw ValidationError("--persona and --by persona exclude each other: one persona, or each of them")
        }
    }

    func run() throws {
        let configuration = try CommandSupport.loadConfiguration(options.config)
        let connection = try CommandSupport.connect(configuration, configPath: options.config)
        let rows: [FunnelRow]
        let perPersona = persona != nil || by == .persona
        do {
            rows =
                perPersona
                ? try FunnelQuery.funnelByPersona(connection, journey: journey, persona: persona)
                : try FunnelQuery.funnel(connection, journey: journey)
        } catch {
            let view = perPersona ? "cjm.funnel_by_persona" : "cjm.funnel"
            throw CommandSupport.databaseFailure(error, doing: "reading \(view) (run `cjmd migrate` first?)")
        }
        if let journey, rows.isEmpty, try FunnelQuery.funnel(connection, journey: journey).isEmpty {
            printError("cjmd: no journey named \(journey) in the configuration the database was last given")
            throw ExitStatus.dataError
        }
        if let persona, rows.isEmpty {
            let known = try FunnelQuery.personas(connection, journey: journey)
            printError(
                "cjmd: no instance of persona \(persona)\(journey.map { " in journey \($0)" } ?? "") yet; "
                    + (known.isEmpty
                        ? "no persona has any" : "personas with instances: \(known.joined(separator: ", "))"))
            throw ExitStatus.dataError
        }
        switch format {
        case .table: print(FunnelFormatter.table(rows), terminator: "")
        case .json: print(FunnelFormatter.json(rows))
        case .csv: print(FunnelFormatter.csv(rows), terminator: "")
        }
    }
}
