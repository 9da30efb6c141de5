import JourneyCore
import PostgresClient

/// One row of `cjm.funnel` (SPEC §4), typed.
public struct FunnelRow: Sendable, Equatable {
    public var journey: String
    public var stageIndex: Int
    public var stage: String
    public var reached: Int64
    public var customers: Int64
    public var convertedToNext: Int64?
    public var stepConversion: Double?
    public var overallConversion: Double?
    public var dropOff: Int64?
    public var dropOffRate: Double?
    public var active: Int64
    public var abandoned: Int64
    public var expired: Int64
    public var medianTimeToNext: Double?
    public var p90TimeToNext: Double?
    public var events: Int64
    public var avgSentiment: Double?
    /// Exact decimal text, e.g. `1234.500000`.
    public var revenue: String
}

/// Reads the funnel views.
public enum FunnelQuery {
    static let columns = """
        journey, stage_index, stage, reached, customers, converted_to_next, step_conversion, overall_conversion,
        drop_off, drop_off_rate, active, abandoned, expired, median_time_to_next, p90_time_to_next, events,
        avg_sentiment, revenue
        """

    /// `cjm.funnel`, optionally for one journey.
    public static func funnel(_ connection: PostgresConnection, journey: String? = nil) throws -> [FunnelRow] {
        let result = try connection.execute(
            "SELECT \(columns) FROM cjm.funnel WHERE $1::text IS NULL OR journey = $1::text",
            [journey.map { .text($0) }])
        return try rows(result)
    }

    /// `cjm.funnel_between(journey, from, to)`.
    public static func funnelBetween(
        _ connection: PostgresConnection, journey: String, from: EventTime, to: EventTime
    ) throws -> [FunnelRow] {
        let result = try connection.execute(
            "SELECT \(columns) FROM cjm.funnel_between($1, $2, $3)",
            [.text(journey), .timestamp(microsecondsSinceEpoch: from.microseconds),
             .timestamp(microsecondsSinceEpoch: to.microseconds)])
        return try rows(result)
    }

    static func rows(_ r: QueryResult) throws -> [FunnelRow] {
        try (0..<r.rowCount).map { i in
            FunnelRow(
                journey: r.string(row: i, column: 0) ?? "", stageIndex: Int(try r.int64(row: i, column: 1) ?? 0),
                stage: r.string(row: i, column: 2) ?? "", reached: try r.int64(row: i, column: 3) ?? 0,
                customers: try r.int64(row: i, column: 4) ?? 0, convertedToNext: try r.int64(row: i, column: 5),
                stepConversion: try r.double(row: i, column: 6), overallConversion: try r.double(row: i, column: 7),
                dropOff: try r.int64(row: i, column: 8), dropOffRate: try r.double(row: i, column: 9),
                active: try r.int64(row: i, column: 10) ?? 0, abandoned: try r.int64(row: i, column: 11) ?? 0,
                expired: try r.int64(row: i, column: 12) ?? 0, medianTimeToNext: try r.double(row: i, column: 13),
                p90TimeToNext: try r.double(row: i, column: 14), events: try r.int64(row: i, column: 15) ?? 0,
                avgSentiment: try r.double(row: i, column: 16), revenue: r.string(row: i, column: 17) ?? "0")
        }
    }
}
