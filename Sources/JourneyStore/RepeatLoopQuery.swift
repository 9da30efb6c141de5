import PostgresClient

/// One row of `cjm.repeat_loop` (docs/sql.md, "The repeat loop"), typed.
public struct RepeatLoopRow: Sendable, Equatable {
    public var journey: String
    /// The converted instances' persona; `*` for every instance.
    public var persona: String
    public var converted: Int64
    public var returned: Int64
    public var pending: Int64
    public var didNotReturn: Int64
    /// returned / (converted − pending); nil while nothing is decided.
    public var returnRate: Double?
    /// Seconds from conversion to return, over the returned instances.
    public var medianTimeToReturn: Double?
    public var p90TimeToReturn: Double?
    /// The journey's repeat window, in seconds.
    public var repeatWindowSeconds: Double?

    /// The view's columns, in order: `cjmd report --loop`'s CSV header and JSON keys.
    public static let columns = [
        "journey", "persona", "converted", "returned", "pending", "did_not_return", "return_rate",
        "median_time_to_return", "p90_time_to_return", "repeat_window",
    ]

    /// The row's values as text in ``columns`` order (the window in seconds; nil: NULL).
    public var fields: [String?] {
        [
            journey, persona, "\(converted)", "\(returned)", "\(pending)", "\(didNotReturn)",
            returnRate.map { "\($0)" }, medianTimeToReturn.map { "\($0)" }, p90TimeToReturn.map { "\($0)" },
            repeatWindowSeconds.map { "\($0)" },
        ]
    }
}

/// One row of `cjm.repeat_triggers`, typed.
public struct RepeatTriggerRow: Sendable, Equatable {
    public var journey: String
    public var event: String
    public var touchpoint: String
    public var returns: Int64
    /// The share of the journey's returns.
    public var share: Double
}

/// Reads the repeat-loop views.
public enum RepeatLoopQuery {
    /// `cjm.repeat_loop`, optionally for one journey and one persona (`*`: every instance).
    public static func loop(_ connection: PostgresConnection, journey: String? = nil, persona: String? = nil)
        throws -> [RepeatLoopRow]
    {
        let r = try connection.execute(
            """
            SELECT journey, persona, converted, returned, pending, did_not_return, return_rate,
                   median_time_to_return, p90_time_to_return, extract(epoch FROM repeat_window)::float8
            FROM cjm.repeat_loop
            WHERE ($1::text IS NULL OR journey = $1::text) AND ($2::text IS NULL OR persona = $2::text)
            """, [journey.map { .text($0) }, persona.map { .text($0) }])
        return try (0..<r.rowCount).map { i in
            RepeatLoopRow(
                journey: r.string(row: i, column: 0) ?? "", persona: r.string(row: i, column: 1) ?? "*",
                converted: try r.int64(row: i, column: 2) ?? 0, returned: try r.int64(row: i, column: 3) ?? 0,
                pending: try r.int64(row: i, column: 4) ?? 0, didNotReturn: try r.int64(row: i, column: 5) ?? 0,
                returnRate: try r.double(row: i, column: 6), medianTimeToReturn: try r.double(row: i, column: 7),
                p90TimeToReturn: try r.double(row: i, column: 8), repeatWindowSeconds: try r.double(row: i, column: 9))
        }
    }

    /// `cjm.repeat_triggers` of `journey` (or every journey), most returns first; at most `limit`
    /// per journey.
    public static func triggers(_ connection: PostgresConnection, journey: String? = nil, limit: Int = 1000)
        throws -> [RepeatTriggerRow]
    {
        let r = try connection.execute(
            """
            SELECT journey, event, touchpoint, returns, share FROM (
                SELECT t.*, row_number() OVER (PARTITION BY t.journey ORDER BY t.returns DESC,
                                                t.event COLLATE "C", t.touchpoint COLLATE "C") AS n
                FROM cjm.repeat_triggers t WHERE $1::text IS NULL OR t.journey = $1::text) ranked
            WHERE n <= $2 ORDER BY journey COLLATE "C", n
            """, [journey.map { .text($0) }, .int(Int64(limit))])
        return try (0..<r.rowCount).map { i in
            RepeatTriggerRow(
                journey: r.string(row: i, column: 0) ?? "", event: r.string(row: i, column: 1) ?? "",
                touchpoint: r.string(row: i, column: 2) ?? "", returns: try r.int64(row: i, column: 3) ?? 0,
                share: try r.double(row: i, column: 4) ?? 0)
        }
    }
}
