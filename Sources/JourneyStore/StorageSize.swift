import PostgresClient

/// What schema `cjm` takes on disk (docs/operations.md).
public enum StorageSize {
    /// The sum of `cjm.storage.total_bytes`: every table of the schema with its indexes and TOAST.
    public static func totalBytes(on connection: PostgresConnection) throws -> Int64 {
        let result = try connection.execute("SELECT coalesce(sum(total_bytes), 0)::bigint FROM cjm.storage")
        return try result.int64(row: 0, column: 0) ?? 0
    }
}
