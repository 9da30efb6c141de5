import Foundation
import JourneyCore
import Logging
import Synchronization

/// Sample alerts and small waiting helpers shared by the tests.
enum Fixtures {
    /// A firing alert on stage 2 ("payment") of "checkout", fired at `firedAt`.
    static func firingAlert(firedAt: EventTime = EventTime(seconds: 1_777_629_600), z: Double? = 5.125) -> DropOffAlert
    {
        DropOffAlert(
            journey: 0, journeyName: "checkout", stageIndex: 2, stageName: "payment",
            windowStart: firedAt - .minutes(15), windowEnd: firedAt, decided: 130, abandoned: 55,
            rate: 55.0 / 130.0, baselineRate: 0.12, baselineDecided: 2400, z: z, pValue: 3.14e-12, firedAt: firedAt)
    }

    static func resolved(_ alert: DropOffAlert, at time: EventTime) -> DropOffAlert {
        var copy = alert
        copy.resolvedAt = time
        return copy
    }

    /// The wall clock truncated to whole seconds (Alertmanager reports milliseconds).
    static func wallClockSeconds() -> EventTime {
        EventTime(seconds: Int64(Date().timeIntervalSince1970))
    }
}

/// Polls `condition` every 20 ms until it holds or `timeoutSeconds` pass; returns whether it held.
func eventually(timeoutSeconds: Double = 20, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(timeoutSeconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// Parses a JSON document that must be an array of objects.
func jsonObjects(_ bytes: [UInt8]) throws -> [[String: Any]] {
    let value = try JSONSerialization.jsonObject(with: Data(bytes))
    guard let objects = value as? [[String: Any]] else {
        throw LoopbackSockets.Failure(
            description: "expected a JSON array of objects, got \(String(decoding: bytes, as: UTF8.self))")
    }
    return objects
}

/// Keeps log messages so tests can check what an operator would read.
final class LogCollector: Sendable {
    struct Entry: Sendable {
        let level: Logger.Level
        let message: String
    }

    private let entries = Mutex<[Entry]>([])

    var all: [Entry] { entries.withLock { $0 } }

    func logger() -> Logger {
        Logger(label: "alerting-test") { _ in Handler(collector: self) }
    }

    fileprivate func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }

    private struct Handler: LogHandler {
        let collector: LogCollector
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            collector.append(Entry(level: event.level, message: event.message.description))
        }
    }
}

extension Result where Failure == any Error {
    /// Captures the outcome of an async throwing body.
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
