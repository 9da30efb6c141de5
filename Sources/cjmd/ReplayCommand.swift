import ArgumentParser
import Foundation
import Ingest
import JourneyCore
import JourneyStore

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Push NDJSON files through the pipeline; exit 0 once everything is committed.",
        discussion: """
            Replaying the same files again changes nothing: every event id is already stored.
            Lines that are not valid events go to cjm.rejected_events with a reason.
            """)

    @OptionGroup var options: ConfigOption

    @Option(name: .customLong("as-of"), help: "Event time the replay ends at (RFC 3339); default: the largest ts seen.")
    var asOf: String?

    @Flag(name: .customLong("fail-on-rejected"), help: "Exit 65 when any line was dead-lettered.")
    var failOnRejected = false

    @Argument(help: "NDJSON files; - reads standard input.")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one file (or - for standard input)") }
        if let asOf, RFC3339.parse(asOf) == nil {
            throw ValidationError("--as-of \(asOf) is not an RFC 3339 time such as 2026-05-01T00:00:00Z")
        }
    }

    func run() throws {
        let configuration = try CommandSupport.loadConfiguration(options.config)
        let logger = CommandSupport.makeLogger()
        let connection = try CommandSupport.connectMigrated(configuration, configPath: options.config)
        let started = Date()
        let summary: ReplayRunner.Summary
        do {
            try JourneySink.publishJourneys(configuration, on: connection)
            let sink = try JourneySink(configuration: configuration, connection: connection, logger: logger)
            let runner = ReplayRunner(settings: configuration.ingest, clock: CommandSupport.now, logger: logger)
            summary = try runner.replay(files, into: sink, asOf: asOf.flatMap(RFC3339.parse))
        } catch let error as FileReadError {
            printError("cjmd: \(error)")
            throw error.isNotFound ? ExitStatus.noInput : ExitStatus.dataError
        } catch {
            throw CommandSupport.databaseFailure(error, doing: "replay")
        }
        let seconds = max(Date().timeIntervalSince(started), 1e-6)
        let o = summary.outcome
        print("replayed \(summary.lines) lines in \(String(format: "%.2f", seconds)) s "
              + "(\(Int(Double(summary.lines) / seconds)) lines/s): \(o.stored) stored, \(o.duplicates) duplicates, "
              + "\(o.rejected) rejected, \(o.late) late")
        if failOnRejected && o.rejected > 0 {
            printError("cjmd: \(o.rejected) lines were rejected; see cjm.rejected_events")
            throw ExitStatus.dataError
        }
    }
}
