import Foundation
import JourneyCore
import JourneyStore
import PostgresClient
import Testing

/// The duration-bucket formula exists twice, necessarily: in SQL (`cjm.duration_bucket`,
/// with `cjm.duration_bucket_bounds`, which the percentile view reads) and in Swift
/// (`DurationBuckets`, which the engine needs without a round trip). They must agree on every
/// duration, bucket edges included.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct DurationBucketAgreementTests {
    /// Durations in microseconds: random over a year both ways, small ones, and the
    /// microseconds on either side of bucket edges.
    static func durations() -> [Int64] {
        var values: [Int64] = [0, 1, -1, 9_999, 10_000, 10_001, 1_000_000, -1_000_000, 31_536_000_000_000]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3000 { values.append(Int64.random(in: -31_536_000_000_000...31_536_000_000_000, using: &rng)) }
        for _ in 0..<1000 { values.append(Int64.random(in: -5_000_000...5_000_000, using: &rng)) }
        for b in stride(from: 0, through: 2000, by: 7) {
            let edge = Int64(((pow(1.01, Double(b)) - 1) * 1_000_000).rounded())
            values += [edge - 1, edge, edge + 1, -edge - 1, -edge, -edge + 1]
        }
        return values
    }

    @Test func swiftAndSQLPutEveryDurationInTheSameBucket() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let connection = try PostgresConnection(conninfo: conninfo)
            _ = try Migrator.migrate(connection)
            let values = Self.durations()
            let result = try connection.execute(
                """
                SELECT cjm.duration_bucket(s), b.lower - 1e-12 * (1 + abs(s)) <= s AND s < b.upper + 1e-12 * (1 + abs(s))
                FROM unnest($1::bigint[]) WITH ORDINALITY AS v(us, i)
                CROSS JOIN LATERAL (SELECT us::float8 / 1000000 AS s) AS seconds
                CROSS JOIN LATERAL cjm.duration_bucket_bounds(cjm.duration_bucket(s)) AS b
                ORDER BY i
                """, [.text("{" + values.map(String.init).joined(separator: ",") + "}")])
            #expect(result.rowCount == values.count)
            var disagreements: [String] = []
            for (row, us) in values.enumerated() {
                let sql = Int(result.string(row: row, column: 0) ?? "")
                let swift = DurationBuckets.bucket(TimeSpan(microseconds: us))
                if sql != swift {
                    disagreements.append("\(us) µs: SQL \(sql.map(String.init) ?? "nil"), Swift \(swift)")
                }
                #expect(
                    result.string(row: row, column: 1) == "t",
                    "\(us) µs lies within its bucket's bounds (up to rounding)")
            }
            #expect(disagreements.isEmpty, "\(disagreements.prefix(10))")
        }
    }
}
