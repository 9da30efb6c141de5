import DaemonSettings
import Foundation
import JourneyStore
import PostgresClient
import Testing

/// Daemons that start together (shards on several machines) each publish the journeys into
/// `cjm.journey_stages`: they take turns, and none fails on the other's rows.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct JourneyPublishingTests {
    @Test func daemonsPublishingAtOnceTakeTurns() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let configuration = CJMConfiguration(journeys: DeadLetterTests.journeys)
            let setup = try PostgresConnection(conninfo: conninfo)
            try Migrator.migrate(setup)
            let errors = Failures()
            DispatchQueue.concurrentPerform(iterations: 4) { _ in
                do {
                    let connection = try PostgresConnection(conninfo: conninfo)
                    defer { connection.close() }
                    for _ in 0..<25 { try JourneySink.publishJourneys(configuration, on: connection) }
                } catch {
                    errors.lock.withLock { errors.list.append("\(error)") }
                }
            }
            let failed = errors.lock.withLock { errors.list }
            #expect(failed.isEmpty, "\(failed.prefix(3))")
            let stages = try setup.execute("SELECT count(*) FROM cjm.journey_stages").int64(row: 0, column: 0)
            #expect(stages == Int64(configuration.journeys.reduce(0) { $0 + $1.stages.count }))
        }
    }
}

/// Errors of several threads, collected under a lock.
private final class Failures: @unchecked Sendable {
    let lock = NSLock()
    var list: [String] = []
}
