import ArgumentParser
import Foundation
import JourneyCore
import JourneySimulator

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Write realistic, seeded NDJSON touchpoint events for the configured journeys.",
        discussion: """
            The same options and seed always give the same lines. With --send-to, the lines go to a \
            running daemon's Unix socket instead, each at its arrival time (customers arrive from now \
            on, over --duration), with an acknowledgement asked for about once a second; the command \
            ends once --duration has passed.
            """)

    @OptionGroup var options: ConfigOption

    @Option(help: "Customers to simulate.") var customers = 10_000
    @Option(help: "Seed of the generator.") var seed: UInt64 = 1
    @Option(help: "First arrival (RFC 3339; with --send-to, now).") var start = "2026-01-05T00:00:00Z"
    @Option(help: "Span over which customers arrive (e.g. 7d).") var duration = "7d"
    @Option(help: "Arrival jitter, e.g. 2s (keep it below allowed_lateness).") var disorder = "0s"
    @Option(help: "Fraction of events sent twice.") var duplicates = 0.0
    @Option(help: "Fraction of lines that are malformed.") var malformed = 0.0
    @Option(help: "Fraction of events without event_id.") var withoutEventID = 0.1
    @Flag(
        name: .customLong("uuid-event-ids"),
        help: "Event ids as version-4 UUIDs (as analytics SDKs send) instead of e<seed>-<n>.")
    var uuidEventIDs = false
    @Option(
        help:
            "Inject a drop-off spike: JOURNEY:STAGE:START:DURATION[:PROGRESSION], e.g. purchase:consideration:2026-01-10T00:00:00Z:6h"
    )
    var spike: String?
    @Flag(
        help:
            "Customers of three personas (loyalist, bargain_hunter, first_timer) that behave differently, named in traits.persona."
    )
    var personas = false
    @Option(name: .shortAndLong, help: "Output file (default: standard output).") var output: String?
    @Option(help: "Send the lines live, at their arrival times, to this Unix socket of `cjmd run`.")
    var sendTo: String?

    func run() throws {
        let configuration = try CommandSupport.loadConfiguration(options.config)
        var simulation = SimulationOptions()
        simulation.customers = customers
        simulation.seed = seed
        simulation.duplicates = duplicates
        simulation.malformed = malformed
        simulation.withoutEventID = withoutEventID
        simulation.uuidEventIDs = uuidEventIDs
        guard let startTime = RFC3339.parse(start) else {
            throw ValidationError("--start \(start) is not an RFC 3339 time")
        }
        simulation.start = sendTo == nil ? startTime : CommandSupport.now()
        guard let span = TimeSpan(parsing: duration), span.microseconds > 0 else {
            throw ValidationError("--duration \(duration) is not a duration such as 7d")
        }
        simulation.duration = span
        guard let jitter = TimeSpan(parsing: disorder) ?? (disorder == "0" ? .zero : nil) else {
            throw ValidationError("--disorder \(disorder) is not a duration such as 2s")
        }
        simulation.disorder = jitter
        if let spike { simulation.spike = try Self.parseSpike(spike) }
        if personas { simulation.personas = SimulationOptions.standardPersonas }
        if let sendTo {
            guard output == nil else { throw ValidationError("--send-to and --output exclude each other") }
            try sendLive(configuration.journeys, simulation, to: sendTo)
            return
        }

        let handle: FileHandle
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: nil) else {
                printError("cjmd: cannot create \(output)")
                throw ExitStatus.noInput
            }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        } else {
            handle = FileHandle.standardOutput
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        var simulator = JourneySimulator(journeys: configuration.journeys, options: simulation)
        let lines = simulator.run { line in
            buffer.append(contentsOf: line)
            if buffer.count >= 1 << 20 {
                handle.write(Data(buffer))
                buffer.removeAll(keepingCapacity: true)
            }
        }
        handle.write(Data(buffer))
        if output != nil {
            try handle.close()
            printError("cjmd: wrote \(lines) lines to \(output!)")
        }
    }

    /// Paces the lines into a daemon's socket until `duration` has passed.
    private func sendLive(_ journeys: [JourneyDefinition], _ simulation: SimulationOptions, to path: String) throws {
        struct DurationOver: Error {}
        let sender: LiveLineSender
        do {
            sender = try LiveLineSender(unixSocketPath: path)
        } catch {
            printError("cjmd: \(error)")
            throw ExitStatus.unavailable
        }
        let end = simulation.start + simulation.duration
        var simulator = JourneySimulator(journeys: journeys, options: simulation)
        do {
            try simulator.runWithArrivalTimes { line, arrival in
                guard arrival < end else { throw DurationOver() }
                try sender.send(line, arrival: arrival)
            }
        } catch is DurationOver {
        } catch {
            printError("cjmd: \(error)")
            throw ExitStatus.unavailable
        }
        do {
            try sender.acknowledge()
        } catch {
            printError("cjmd: \(error)")
            throw ExitStatus.unavailable
        }
        printError(
            "cjmd: sent \(sender.sentLines) lines to \(path); the daemon acknowledged \(sender.acknowledgedLines)")
    }

    static func parseSpike(_ text: String) throws -> SimulationOptions.Spike {
        // The start time contains colons: JOURNEY:STAGE:<RFC3339>:DURATION[:P]
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 6 else {
            throw ValidationError("--spike \(text): expected JOURNEY:STAGE:START:DURATION[:PROGRESSION]")
        }
        let journey = parts[0]
        let stage = parts[1]
        // RFC 3339 with Z has exactly two colons: 2026-01-10T00:00:00Z
        let startText = parts[2...4].joined(separator: ":")
        guard let start = RFC3339.parse(startText), let span = TimeSpan(parsing: parts[5]) else {
            throw ValidationError("--spike \(text): START must be RFC 3339 in UTC (…Z) and DURATION like 6h")
        }
        let progression = parts.count > 6 ? Double(parts[6]) ?? 0.05 : 0.05
        return .init(journey: journey, stage: stage, start: start, duration: span, progression: progression)
    }
}
