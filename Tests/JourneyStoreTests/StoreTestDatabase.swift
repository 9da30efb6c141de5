import Foundation
import JourneyCore
import JourneyStore
import PostgresClient
import Testing

/// Each store test gets a database of its own (the schema name `cjm` is part of the
/// contract, so tests cannot share one database), created from the cluster that
/// scripts/test.sh starts (`CJM_TEST_DATABASE_URL`) and dropped afterwards.
enum StoreTestDatabase {
    static let conninfo: String? = {
        guard let value = ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"], !value.isEmpty else {
            return nil
        }
        return value
    }()

    static var isConfigured: Bool { conninfo != nil }

    static let skipReason: Comment =
        "CJM_TEST_DATABASE_URL is not set; run scripts/test.sh to test against a throwaway PostgreSQL"

    /// Runs `body` with the conninfo of a new, migrated database, and drops it afterwards.
    static func withDatabase<T>(_ body: (_ conninfo: String) throws -> T) throws -> T {
        let base = try #require(conninfo, "CJM_TEST_DATABASE_URL is not set")
        let admin = try PostgresConnection(conninfo: base)
        let name = "cjm_t_\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        try admin.executeScript("CREATE DATABASE \(name)")
        defer {
            try? admin.executeScript("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            admin.close()
        }
        let conninfo = base + " dbname=\(name)"
        let connection = try PostgresConnection(conninfo: conninfo)
        try Migrator.migrate(connection)
        connection.close()
        return try body(conninfo)
    }
}

@Suite("Store test database sentinel")
struct StoreTestDatabaseSentinelTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CJM_REQUIRE_DATABASE"] == "1"))
    func requiredDatabaseIsReachable() throws {
        let conninfo = try #require(
            StoreTestDatabase.conninfo, "CJM_REQUIRE_DATABASE=1 but CJM_TEST_DATABASE_URL is not set")
        let connection = try PostgresConnection(conninfo: conninfo)
        #expect(try connection.execute("SELECT 6 * 7").int64(row: 0, column: 0) == 42)
    }
}
