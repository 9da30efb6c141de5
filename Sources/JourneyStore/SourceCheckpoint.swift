import JourneyCore
import PostgresClient

/// A tailed file within a source: the key of `cjm.source_checkpoints`.
public struct SourceFileKey: Hashable, Sendable {
    public var source: String
    public var device: UInt64
    public var inode: UInt64

    public init(source: String, device: UInt64, inode: UInt64) {
        self.source = source
        self.device = device
        self.inode = inode
    }
}

/// How far a tail source has read one file (SPEC §8): every line before `offset` is stored or
/// dead-lettered. Written in the same transaction as the lines read up to it, so a crash at
/// any point neither loses nor repeats a line.
public struct SourceCheckpoint: Sendable, Equatable {
    public var source: String
    public var path: String
    public var device: UInt64
    public var inode: UInt64
    /// Identifies the content (a hash of the first bytes), so that a reused inode is not
    /// mistaken for the file it replaced.
    public var fingerprint: String
    public var offset: Int64

    public init(source: String, path: String, device: UInt64, inode: UInt64, fingerprint: String, offset: Int64) {
        self.source = source
        self.path = path
        self.device = device
        self.inode = inode
        self.fingerprint = fingerprint
        self.offset = offset
    }

    public var key: SourceFileKey { SourceFileKey(source: source, device: device, inode: inode) }

    /// The checkpoints stored for a source.
    public static func load(source: String, from connection: PostgresConnection) throws -> [SourceCheckpoint] {
        let rows = try connection.execute("""
            SELECT path, device, inode, fingerprint, "offset" FROM cjm.source_checkpoints WHERE source = $1 ORDER BY path
            """, [.text(source)])
        return try (0..<rows.rowCount).map { row in
            SourceCheckpoint(
                source: source, path: rows.string(row: row, column: 0) ?? "",
                device: UInt64(bitPattern: try rows.int64(row: row, column: 1) ?? 0),
                inode: UInt64(bitPattern: try rows.int64(row: row, column: 2) ?? 0),
                fingerprint: rows.string(row: row, column: 3) ?? "",
                offset: try rows.int64(row: row, column: 4) ?? 0)
        }
    }
}

extension JourneySink {
    /// The checkpoints stored for `source` (a tail source, or a replayed file).
    public func storedCheckpoints(source: String) throws -> [SourceCheckpoint] {
        try SourceCheckpoint.load(source: source, from: connection)
    }

    func writeCheckpoints(_ checkpoints: [SourceFileKey: SourceCheckpoint], forgetting forgotten: Set<SourceFileKey>) throws {
        for checkpoint in checkpoints.values {
            _ = try connection.execute("""
                INSERT INTO cjm.source_checkpoints (source, path, device, inode, fingerprint, "offset", updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, now())
                ON CONFLICT (source, device, inode) DO UPDATE SET
                    path = EXCLUDED.path, fingerprint = EXCLUDED.fingerprint, "offset" = EXCLUDED."offset",
                    updated_at = EXCLUDED.updated_at
                """, [
                    .text(checkpoint.source), .text(checkpoint.path), .int(Int64(bitPattern: checkpoint.device)),
                    .int(Int64(bitPattern: checkpoint.inode)), .text(checkpoint.fingerprint), .int(checkpoint.offset),
                ])
        }
        for key in forgotten where checkpoints[key] == nil {
            _ = try connection.execute(
                "DELETE FROM cjm.source_checkpoints WHERE source = $1 AND device = $2 AND inode = $3",
                [.text(key.source), .int(Int64(bitPattern: key.device)), .int(Int64(bitPattern: key.inode))])
        }
    }
}
