import Alerting
import ArgumentParser
import Foundation
import Ingest
import JourneyCore
import JourneyStore

struct ReplayCommand: AsyncParsableCommand {
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

    @Option(
        name: .customLong("batch-events"),
        help:
            "Events and dead letters per committed transaction (default: \(ReplayRunner.defaultBatchEvents); ingest.batch_max_events is for live sources)."
    )
    var batchEvents = ReplayRunner.defaultBatchEvents

    @Argument(help: "NDJSON files; - reads standard input.")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one file (or - for standard input)") }
        if let asOf, RFC3339.parse(asOf) == nil {
            throw ValidationError("--as-of \(asOf) is not an RFC 3339 time such as 2026-05-01T00:00:00Z")
        }
        if !(1...ReplayRunner.maximumBatchEvents).contains(batchEvents) {
            throw ValidationError(
                "--batch-events \(batchEvents) is out of range: give 1 to \(ReplayRunner.maximumBatchEvents)")
        }
    }

    func run() async throws {
        let configuration = try CommandSupport.loadConfiguration(options.config)
        let logger = CommandSupport.makeLogger()
        let connection = try CommandSupport.connectMigrated(configuration, configPath: options.config)
        let started = Date()
        let summary: ReplayRunner.Summary
        // Alert transitions go to the webhook as they are committed; the replay waits (a
        // bounded time) for them to be delivered before it exits.
        let webhook = configuration.alerts.webhook.map { AlertWebhook(settings: .init(url: $0), logger: logger) }
        let delivery = webhook.map { webhook in Task { try? await webhook.run() } }
        // Batches that committed before a failure may have raised alerts: deliver them too.
        func finishDelivery() async {
            guard let webhook, let delivery else { return }
            if webhook.pendingDeliveries > 0, await !webhook.flush(timeoutSeconds: 30) {
                printError(
                    "cjmd: some alert notifications could not be delivered to \(webhook.settings.url); they are in cjm.alerts"
                )
            }
            webhook.stop()
            await delivery.value
        }
        do {
            try JourneySink.publishJourneys(configuration, on: connection)
            var settings = configuration.ingest
            settings.batchMaxEvents = batchEvents
            let runner = ReplayRunner(settings: settings, clock: CommandSupport.now, logger: logger)
            summary = try await Self.offThePool {
                try runner.replay(
                    files, configuration: configuration, connection: connection, asOf: asOf.flatMap(RFC3339.parse)
                ) { transitions in
                    if let webhook { transitions.forEach(webhook.send) }
                }
            }
        } catch let error as FileReadError {
            await finishDelivery()
            printError("cjmd: \(error)")
            throw error.isNotFound ? ExitStatus.noInput : ExitStatus.dataError
        } catch {
            await finishDelivery()
            throw CommandSupport.databaseFailure(error, doing: "replay")
        }
        await finishDelivery()
        let seconds = max(Date().timeIntervalSince(started), 1e-6)
        let o = summary.outcome
        print(
            "replayed \(summary.lines) lines in \(String(format: "%.2f", seconds)) s "
                + "(\(Int(Double(summary.lines) / seconds)) lines/s): \(o.stored) stored, \(o.duplicates) duplicates, "
                + "\(o.rejected) rejected, \(o.late) late")
        let fired = o.alertTransitions.filter { if case .fired = $0 { true } else { false } }.count
        if !o.alertTransitions.isEmpty {
            print("alerts: \(fired) fired, \(o.alertTransitions.count - fired) resolved (see cjm.alerts)")
        }
        if failOnRejected && o.rejected > 0 {
            printError("cjmd: \(o.rejected) lines were rejected; see cjm.rejected_events")
            throw ExitStatus.dataError
        }
    }
}

extension ReplayCommand {
    /// Runs blocking work (libpq, file reads) on a thread of its own, so the cooperative pool
    /// stays free for the webhook's delivery loop meanwhile.
    static func offThePool<T>(_ body: @escaping () throws -> T) async throws -> T {
        // The closure and its result are handed over once to the new thread and back: nothing
        // is touched from two threads at a time.
        let work = UncheckedTransfer(body)
        let outcome: UncheckedTransfer<Result<T, any Error>> = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: UncheckedTransfer(Result { try work.value() }))
            }
        }
        return try outcome.value.get()
    }
}

/// Moves a value to another thread exactly once (see ``ReplayCommand/offThePool(_:)``).
struct UncheckedTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
