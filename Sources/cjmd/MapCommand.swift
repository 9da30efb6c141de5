import ArgumentParser
import Foundation
import JourneyCore
import JourneyMap
import JourneyStore

/// `cjmd map`: the journey map as one self-contained HTML document (docs/map.md).
struct MapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Draw the journey map from the database as a self-contained HTML page.")

    @OptionGroup var options: ConfigOption

    @Option(help: "The journey to draw (default: the first configured).")
    var journey: String?

    @Option(help: "Only this persona's customers (needs personas in the configuration).")
    var persona: String?

    @Option(help: "Count the instances that entered at or after this RFC 3339 time (with --to).")
    var from: String?

    @Option(help: "… and before this one.")
    var to: String?

    @Option(name: .shortAndLong, help: "Write the document here instead of to standard output.")
    var output: String?

    func validate() throws {
        if (from == nil) != (to == nil) { throw ValidationError("give --from and --to together, or neither") }
        for (name, value) in [("--from", from), ("--to", to)] {
            if let value, RFC3339.parse(value) == nil {
                throw ValidationError("\(name) \(value) is not an RFC 3339 time such as 2026-05-01T00:00:00Z")
            }
        }
        if let from = from.flatMap(RFC3339.parse), let to = to.flatMap(RFC3339.parse), from >= to {
            throw ValidationError("--from must be before --to")
        }
    }

    func run() throws {
        let configuration = try CommandSupport.loadConfiguration(options.config)
        let connection = try CommandSupport.connect(configuration, configPath: options.config)
        let entered = from.flatMap(RFC3339.parse).flatMap { from in to.flatMap(RFC3339.parse).map { (from, $0) } }
        let name = journey ?? configuration.journeys.first?.name ?? ""
        let now = CommandSupport.now()
        let document: JourneyMapDocument?
        var personaMaps: [JourneyMapDocument] = []
        var personas: [String] = []
        do {
            document = try JourneyMapQuery.load(
                connection, journey: name, persona: persona, entered: entered, now: now)
            personas = try JourneyMapQuery.personas(connection, journey: name)
            // Without --persona, the document also holds the most frequent personas' maps,
            // once personas are configured.
            if persona == nil, document != nil, !configuration.personas.paths.isEmpty {
                for other in personas.prefix(JourneyMapQuery.drawnPersonas) {
                    if let map = try JourneyMapQuery.load(
                        connection, journey: name, persona: other, entered: entered, now: now)
                    {
                        personaMaps.append(map)
                    }
                }
            }
        } catch {
            throw CommandSupport.databaseFailure(error, doing: "reading the views (run `cjmd migrate` first?)")
        }
        guard let document else {
            if let persona, try JourneyMapQuery.journeys(connection).contains(name) {
                printError(
                    "cjmd: no instance of persona \(persona) in journey \(name) yet; "
                        + (personas.isEmpty
                            ? "no persona has any" : "personas with instances: \(personas.joined(separator: ", "))"))
            } else {
                printError("cjmd: no journey named \(name) in the configuration the database was last given")
            }
            throw ExitStatus.dataError
        }
        let html = JourneyMapRenderer.render(document, personas: personaMaps)
        if let output {
            do {
                try Data(html.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
            } catch {
                printError("cjmd: cannot write \(output): \(error.localizedDescription)")
                throw ExitStatus.noInput
            }
        } else {
            print(html, terminator: "")
        }
    }
}
