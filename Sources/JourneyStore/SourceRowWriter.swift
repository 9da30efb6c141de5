import IngestEnvelope
import PostgresClient

/// Writes what the sources hand on besides events, inside the batch's transaction: dead
/// letters (`cjm.rejected_events`, with the raw bytes) and file positions
/// (`cjm.source_checkpoints`: the latest per file, committed with the lines read up to it).
struct SourceRowWriter {
    let connection: PostgresConnection

    /// COPYs the dead letters; returns how many.
    func storeRejections(_ rejections: [RejectedLine]) throws -> Int {
        guard !rejections.isEmpty else { return 0 }
        return try connection.copyIn(
            "COPY cjm.rejected_events (received_at, source, reason, detail, raw) FROM STDIN"
        ) { writer in
            for r in rejections {
                writer.appendTimestamp(microsecondsSinceEpoch: r.receivedAt.microseconds)
                writer.appendText(r.source)
                writer.appendText(r.reason.rawValue)
                writer.appendText(r.detail)
                writer.appendBytea(r.raw)
                try writer.endRow()
            }
        }
    }

    /// Upserts each file's latest position and deletes those of files dropped for good.
    func writeCheckpoints(_ checkpoints: [SourceFileKey: SourceCheckpoint], forgetting forgotten: Set<SourceFileKey>)
        throws
    {
        for checkpoint in checkpoints.values {
            _ = try connection.execute(
                """
                INSERT INTO cjm.source_checkpoints (source, path, device, inode, fingerprint, "offset", updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, now())
                ON CONFLICT (source, device, inode) DO UPDATE SET
                    path = EXCLUDED.path, fingerprint = EXCLUDED.fingerprint, "offset" = EXCLUDED."offset",
                    updated_at = EXCLUDED.updated_at
                """,
                [
                    .text(checkpoint.source), .text(checkpoint.file.path),
                    .int(Int64(bitPattern: checkpoint.file.identity.device)),
                    .int(Int64(bitPattern: checkpoint.file.identity.inode)), .text(checkpoint.file.fingerprint),
                    .int(checkpoint.offset),
                ])
        }
        for key in forgotten where checkpoints[key] == nil {
            _ = try connection.execute(
                "DELETE FROM cjm.source_checkpoints WHERE source = $1 AND device = $2 AND inode = $3",
                [
                    .text(key.source), .int(Int64(bitPattern: key.identity.device)),
                    .int(Int64(bitPattern: key.identity.inode)),
                ])
        }
    }
}
