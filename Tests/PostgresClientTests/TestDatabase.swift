import Foundation
import PostgresClient
import Testing

/// How database tests find PostgreSQL. Copy this file's pattern into other test targets:
///
/// - `@Suite(.enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))` on suites that
///   need a database, so `swift test` without one still runs everything else;
/// - one `requiredDatabaseIsReachable` sentinel test that fails when
///   `CJM_REQUIRE_DATABASE=1` (set by scripts/test.sh and so by CI) but the database is
///   missing or unreachable, so database tests can never be skipped silently.
enum TestDatabase {
    /// libpq conninfo of the test database, from `CJM_TEST_DATABASE_URL`.
    static let conninfo: String? = {
        guard let value = ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"], !value.isEmpty else {
            return nil
        }
        return value
    }()

    /// Whether the run must have a database (`CJM_REQUIRE_DATABASE=1`).
    static let isRequired = ProcessInfo.processInfo.environment["CJM_REQUIRE_DATABASE"] == "1"

    /// Whether database tests can run.
    static var isConfigured: Bool { conninfo != nil }

    /// Shown when database suites are skipped.
    static let skipReason: Comment =
        "CJM_TEST_DATABASE_URL is not set; run scripts/test.sh to test against a throwaway PostgreSQL"

    /// A new connection to the test database.
    static func connect() throws -> PostgresConnection {
        let conninfo = try #require(conninfo, "CJM_TEST_DATABASE_URL is not set")
        return try PostgresConnection(conninfo: conninfo)
    }

    /// A name no other test (or parallel run) uses, for schemas, tables and channels.
    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
    }

    /// Runs `body` with a fresh connection whose `search_path` is a new, uniquely named schema,
    /// and drops the schema afterwards, so tests can run in parallel without seeing each other.
    static func withSchema<T>(_ body: (PostgresConnection, _ schema: String) throws -> T) throws -> T {
        let connection = try connect()
        let schema = uniqueName("test")
        let quoted = PostgresIdentifier.quote(schema)
        try connection.executeScript("CREATE SCHEMA \(quoted); SET search_path TO \(quoted)")
        defer {
            // A test may leave the connection broken on purpose; clean up on a new one then.
            let cleaner = connection.status == .ok ? connection : try? connect()
            try? cleaner?.executeScript("DROP SCHEMA IF EXISTS \(quoted) CASCADE")
        }
        return try body(connection, schema)
    }
}

@Suite("Test database sentinel")
struct TestDatabaseSentinelTests {
    @Test(
        "the database is reachable when CJM_REQUIRE_DATABASE=1",
        .enabled(if: TestDatabase.isRequired, "CJM_REQUIRE_DATABASE is not 1"))
    func requiredDatabaseIsReachable() throws {
        _ = try #require(
            TestDatabase.conninfo, "CJM_REQUIRE_DATABASE=1 but CJM_TEST_DATABASE_URL is not set")
        let connection = try TestDatabase.connect()
        let result = try connection.execute("SELECT 40 + 2")
        #expect(try result.int64(row: 0, column: 0) == 42)
    }
}
