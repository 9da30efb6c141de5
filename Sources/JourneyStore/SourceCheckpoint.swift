import IngestEnvelope
import JourneyCore
import PostgresClient

extension SourceCheckpoint {
    /// The checkpoints stored for a source.
    public static func load(source: String, from connection: PostgresConnection) throws -> [SourceCheckpoint] {
        let rows = try connection.execute(
            """
            SELECT path, device, inode, fingerprint, "offset" FROM cjm.source_checkpoints WHERE source = $1 ORDER BY path
            """, [.text(source)])
        return try (0..<rows.rowCount).map { row in
            SourceCheckpoint(
                source: source,
                file: FilePosition(
                    path: rows.string(row: row, column: 0) ?? "",
                    identity: FileIdentity(
                        device: UInt64(bitPattern: try rows.int64(row: row, column: 1) ?? 0),
                        inode: UInt64(bitPattern: try rows.int64(row: row, column: 2) ?? 0)),
                    fingerprint: rows.string(row: row, column: 3) ?? "",
                    offset: try rows.int64(row: row, column: 4) ?? 0))
        }
    }
}

extension JourneySink {
    /// The checkpoints stored for `source` (a tail source, or a replayed file).
    public func storedCheckpoints(source: String) throws -> [SourceCheckpoint] {
        try SourceCheckpoint.load(source: source, from: connection)
    }
}
