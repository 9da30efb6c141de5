import JourneyCore
import PostgresClient

/// One row of `cjm.funnel` (docs/sql.md), typed.
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
    /// The persona whose instances the row counts (`cjm.funnel_by_persona`); nil: every instance.
    public var persona: String? = nil
}

/// One column of the funnel views as cjmd reads and prints it.
public struct FunnelColumn: Sendable {
    /// The column's name in `cjm.funnel` and `cjm.funnel_between`, and in `cjmd report`'s
    /// CSV header and JSON keys.
    public let name: String
    /// Whether JSON renders it as a number.
    public let isNumeric: Bool
    /// The row's value as text (nil: SQL NULL).
    public let text: @Sendable (FunnelRow) -> String?
}

extension FunnelRow {
    /// The funnel's columns, in the views' order: the one list that the queries select and
    /// the report prints.
    public static let columns: [FunnelColumn] = [
        .init(name: "journey", isNumeric: false) { $0.journey },
        .init(name: "stage_index", isNumeric: true) { "\($0.stageIndex)" },
        .init(name: "stage", isNumeric: false) { $0.stage },
        .init(name: "reached", isNumeric: true) { "\($0.reached)" },
        .init(name: "customers", isNumeric: true) { "\($0.customers)" },
        .init(name: "converted_to_next", isNumeric: true) { $0.convertedToNext.map { "\($0)" } },
        .init(name: "step_conversion", isNumeric: true) { $0.stepConversion.map { "\($0)" } },
        .init(name: "overall_conversion", isNumeric: true) { $0.overallConversion.map { "\($0)" } },
        .init(name: "drop_off", isNumeric: true) { $0.dropOff.map { "\($0)" } },
        .init(name: "drop_off_rate", isNumeric: true) { $0.dropOffRate.map { "\($0)" } },
        .init(name: "active", isNumeric: true) { "\($0.active)" },
        .init(name: "abandoned", isNumeric: true) { "\($0.abandoned)" },
        .init(name: "expired", isNumeric: true) { "\($0.expired)" },
        .init(name: "median_time_to_next", isNumeric: true) { $0.medianTimeToNext.map { "\($0)" } },
        .init(name: "p90_time_to_next", isNumeric: true) { $0.p90TimeToNext.map { "\($0)" } },
        .init(name: "events", isNumeric: true) { "\($0.events)" },
        .init(name: "avg_sentiment", isNumeric: true) { $0.avgSentiment.map { "\($0)" } },
        .init(name: "revenue", isNumeric: true) { $0.revenue },
    ]

    /// The row's values as text, in ``columns`` order.
    public var fields: [String?] { Self.columns.map { $0.text(self) } }
}

/// Reads the funnel views.
public enum FunnelQuery {
    static let columns = FunnelRow.columns.map(\.name).joined(separator: ", ")

    /// `cjm.funnel`, optionally for one journey.
    public static func funnel(_ connection: PostgresConnection, journey: String? = nil) throws -> [FunnelRow] {
        let result = try connection.execute(
            "SELECT \(columns) FROM cjm.funnel WHERE $1::text IS NULL OR journey = $1::text",
            [journey.map { .text($0) }])
        return try rows(result)
    }

    /// `cjm.funnel_by_persona`, optionally for one journey and one persona; by journey,
    /// persona and stage.
    public static func funnelByPersona(
        _ connection: PostgresConnection, journey: String? = nil, persona: String? = nil
    ) throws -> [FunnelRow] {
        let result = try connection.execute(
            """
            SELECT \(columns), persona FROM cjm.funnel_by_persona
            WHERE ($1::text IS NULL OR journey = $1::text) AND ($2::text IS NULL OR persona = $2::text)
            """,
            [journey.map { .text($0) }, persona.map { .text($0) }])
        var funnel = try rows(result)
        for i in funnel.indices { funnel[i].persona = result.string(row: i, column: FunnelRow.columns.count) }
        return funnel
    }

    /// The personas with instances (in `journey`, or any), in byte order.
    public static func personas(_ connection: PostgresConnection, journey: String? = nil) throws -> [String] {
        let result = try connection.execute(
            """
            SELECT persona FROM cjm.funnel_stats
            WHERE persona <> '*' AND reached > 0 AND ($1::text IS NULL OR journey = $1::text)
            GROUP BY persona ORDER BY persona COLLATE "C"
            """, [journey.map { .text($0) }])
        return (0..<result.rowCount).compactMap { result.string(row: $0, column: 0) }
    }

    /// `cjm.funnel_between(journey, from, to, persona)`: the instances that entered in
    /// [from, to), of `persona` only unless nil.
    public static func funnelBetween(
        _ connection: PostgresConnection, journey: String, from: EventTime, to: EventTime, persona: String? = nil
    ) throws -> [FunnelRow] {
        let result = try connection.execute(
            "SELECT \(columns) FROM cjm.funnel_between($1, $2, $3, $4)",
            [
                .text(journey), .timestamp(microsecondsSinceEpoch: from.microseconds),
                .timestamp(microsecondsSinceEpoch: to.microseconds), persona.map { .text($0) },
            ])
        var funnel = try rows(result)
        if let persona { for i in funnel.indices { funnel[i].persona = persona } }
        return funnel
    }

    /// Decodes rows selected as ``columns``, by position in that list.
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
