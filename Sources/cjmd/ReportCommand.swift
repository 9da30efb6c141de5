import ArgumentParser
import Foundation
import JourneyStore
import PostgresClient

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

    @Flag(
        help:
            "The repeat loop instead of the funnel: conversions, returns within repeat_window, return rate and time (cjm.repeat_loop), and the events that brought customers back (cjm.repeat_triggers)."
    )
    var loop = false

    @Option(help: "table, json or csv.")
    var format: Format = .table

    func validate() throws {
        if persona != nil, by != nil {
            throw ValidationError("--persona and --by persona exclude each other: one persona, or each of them")
        }
        if loop, by != nil {
            throw ValidationError("--loop shows every persona already; leave out --by")
        }
    }

    func run() throws {
        let configuration = try CommandSupport.loadConfiguration(options.config)
        let connection = try CommandSupport.connect(configuration, configPath: options.config)
        if loop { return try printLoop(connection) }
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

extension ReportCommand {
    /// `--loop`: the repeat loop of each journey (or one), every persona or one.
    func printLoop(_ connection: PostgresConnection) throws {
        let rows: [RepeatLoopRow]
        let triggers: [RepeatTriggerRow]
        do {
            rows = try RepeatLoopQuery.loop(connection, journey: journey, persona: persona)
            triggers = format == .table ? try RepeatLoopQuery.triggers(connection, journey: journey, limit: 5) : []
        } catch {
            throw CommandSupport.databaseFailure(error, doing: "reading cjm.repeat_loop (run `cjmd migrate` first?)")
        }
        if let journey, rows.isEmpty, try FunnelQuery.funnel(connection, journey: journey).isEmpty {
            printError("cjmd: no journey named \(journey) in the configuration the database was last given")
            throw ExitStatus.dataError
        }
        if let persona, rows.isEmpty {
            printError(
                "cjmd: no converted instance of persona \(persona)\(journey.map { " in journey \($0)" } ?? "") yet")
            throw ExitStatus.dataError
        }
        switch format {
        case .table:
            print(RepeatLoopFormatter.table(rows, triggers: triggers, ofEveryCustomer: persona != nil), terminator: "")
        case .json: print(RepeatLoopFormatter.json(rows))
        case .csv: print(RepeatLoopFormatter.csv(rows), terminator: "")
        }
    }
}
