import CJMSchema
import PostgresClient

/// Applies the embedded schema migrations (`sql/migrations`) in order, each in its own
/// transaction, recording them in `cjm.schema_migrations`. Idempotent; concurrent runs are
/// serialized by an advisory lock, so two daemons starting together cannot race.
///
/// A database that a newer cjmd migrated is refused with ``SchemaNewerThanBinaryError``:
/// an older binary would write rows without the columns and invariants the newer schema
/// relies on, so it stops before writing anything.
public enum Migrator {
    /// The advisory lock key shared by every cjmd (ASCII "cjmdmigr").
    static let lockKey: Int64 = 0x636A_6D64_6D69_6772

    /// Applies what is missing.
    /// - Returns: the versions applied by this call (empty when the schema was current).
    @discardableResult
    public static func migrate(_ connection: PostgresConnection) throws -> [Int] {
        try connection.executeScript(
            """
            CREATE SCHEMA IF NOT EXISTS cjm;
            CREATE TABLE IF NOT EXISTS cjm.schema_migrations (
                version    integer     PRIMARY KEY,
                name       text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            """)
        if let version = try currentVersion(connection), version > latestVersion {
            throw SchemaNewerThanBinaryError(databaseVersion: version, binaryVersion: latestVersion)
        }
        var applied: [Int] = []
        for migration in SchemaMigrations.all {
            let didApply = try connection.transaction {
                _ = try connection.execute("SELECT pg_advisory_xact_lock($1)", [.int(lockKey)])
                let existing = try connection.execute(
                    "SELECT 1 FROM cjm.schema_migrations WHERE version = $1", [.int(Int64(migration.version))])
                guard existing.rowCount == 0 else { return false }
                try connection.executeScript(migration.sql)
                _ = try connection.execute(
                    "INSERT INTO cjm.schema_migrations (version, name) VALUES ($1, $2)",
                    [.int(Int64(migration.version)), .text(migration.name)])
                return true
            }
            if didApply { applied.append(migration.version) }
        }
        return applied
    }

    /// The highest version recorded in the database, or nil when cjm was never migrated.
    public static func currentVersion(_ connection: PostgresConnection) throws -> Int? {
        let exists = try connection.execute("SELECT to_regclass('cjm.schema_migrations') IS NOT NULL")
        guard try exists.bool(row: 0, column: 0) == true else { return nil }
        let result = try connection.execute("SELECT max(version) FROM cjm.schema_migrations")
        return try result.int64(row: 0, column: 0).map(Int.init)
    }

    /// The version this binary expects.
    public static var latestVersion: Int { SchemaMigrations.all.last?.version ?? 0 }
}
