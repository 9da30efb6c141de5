import JourneyCore
import JourneyMap
import PostgresClient

/// Reads what a journey map shows (``JourneyMapDocument``) from the views, with SELECTs
/// only, so that it runs as the read-only `cjm_reader` and beside a daemon ingesting.
public enum JourneyMapQuery {
    /// The journeys the database knows (`cjm.journey_stages`), in configuration order.
    public static func journeys(_ connection: PostgresConnection) throws -> [String] {
        let result = try connection.execute(
            "SELECT journey FROM cjm.journey_stages GROUP BY journey, journey_order ORDER BY journey_order")
        return (0..<result.rowCount).compactMap { result.string(row: $0, column: 0) }
    }

    /// The personas with instances in `journey`, those with the most first.
    public static func personas(_ connection: PostgresConnection, journey: String) throws -> [String] {
        let result = try connection.execute(
            """
            SELECT persona FROM cjm.funnel_stats
            WHERE journey = $1 AND stage_index = 0 AND persona <> '*' AND reached > 0
            ORDER BY reached DESC, persona COLLATE "C"
            """, [.text(journey)])
        return (0..<result.rowCount).compactMap { result.string(row: $0, column: 0) }
    }

    /// How many personas a map document draws beside all customers (the most frequent ones);
    /// `--persona` or `?persona=` draws any other.
    public static let drawnPersonas = 12

    /// The map of `journey` (nil when the database has no such journey, or `persona` has no
    /// instance in it). With `entered`, the reach, drop-off and time lanes count the instances
    /// that entered in [from, to) (`cjm.funnel_between`); touchpoints, exits, moments and
    /// opportunities are over all time. With `persona`, everything counts that persona's
    /// instances only.
    public static func load(
        _ connection: PostgresConnection, journey: String, persona: String? = nil,
        entered: (from: EventTime, to: EventTime)? = nil, now: EventTime
    ) throws -> JourneyMapDocument? {
        let funnel =
            if let entered {
                try FunnelQuery.funnelBetween(
                    connection, journey: journey, from: entered.from, to: entered.to, persona: persona)
            } else if let persona {
                try FunnelQuery.funnelByPersona(connection, journey: journey, persona: persona)
            } else {
                try FunnelQuery.funnel(connection, journey: journey)
            }
        guard !funnel.isEmpty else { return nil }
        if let persona, entered != nil, try !personas(connection, journey: journey).contains(persona) { return nil }
        var stages = funnel.map { row in
            JourneyMapDocument.Stage(
                name: row.stage, reached: row.reached, customers: row.customers, stepConversion: row.stepConversion,
                overallConversion: row.overallConversion, dropOff: row.dropOff, abandoned: row.abandoned,
                expired: row.expired, active: row.active, medianTimeToNext: row.medianTimeToNext,
                p90TimeToNext: row.p90TimeToNext, averageSentiment: row.avgSentiment, revenue: row.revenue)
        }
        let parameter: [PostgresValue?] = [.text(journey), .text(persona ?? PersonaSettings.all)]

        var opportunities: [JourneyMapDocument.Opportunity] = []
        let map = try connection.execute(
            """
            SELECT stage_index, target_step_conversion::text, target_median_time_to_next, missing_to_target,
                   opportunity_revenue::text, opportunity_rank
            FROM cjm.journey_map WHERE journey = $1 AND persona = $2 ORDER BY stage_index
            """, parameter)
        for row in 0..<map.rowCount {
            guard let index = try map.int64(row: row, column: 0).map(Int.init), stages.indices.contains(index) else {
                continue
            }
            stages[index].targetStepConversion = map.string(row: row, column: 1)
            stages[index].targetMedianTimeToNext = try map.double(row: row, column: 2)
            if let rank = try map.int64(row: row, column: 5) {
                opportunities.append(
                    .init(
                        rank: Int(rank), stage: stages[index].name,
                        missingToTarget: try map.int64(row: row, column: 3) ?? 0,
                        revenue: map.string(row: row, column: 4)))
            }
        }
        opportunities.sort { $0.rank < $1.rank }

        let exits = try connection.execute(
            """
            SELECT stage_index, last_event, last_touchpoint, abandonments, share
            FROM cjm.exit_points WHERE journey = $1 AND persona = $2 AND rank <= 3 ORDER BY stage_index, rank
            """, parameter)
        for row in 0..<exits.rowCount {
            guard let index = try exits.int64(row: row, column: 0).map(Int.init), stages.indices.contains(index) else {
                continue
            }
            stages[index].exits.append(
                .init(
                    event: exits.string(row: row, column: 1) ?? "", touchpoint: exits.string(row: row, column: 2) ?? "",
                    abandonments: try exits.int64(row: row, column: 3) ?? 0,
                    share: try exits.double(row: row, column: 4) ?? 0
                ))
        }

        let touchpoints = try connection.execute(
            """
            SELECT stage_index, touchpoint, customers, events FROM (
                SELECT stage_index, touchpoint, customers, events,
                       row_number() OVER (PARTITION BY stage_index ORDER BY customers DESC, touchpoint) AS place
                FROM cjm.touchpoints WHERE journey = $1 AND persona = $2) t
            WHERE place <= 5 ORDER BY stage_index, place
            """, parameter)
        for row in 0..<touchpoints.rowCount {
            guard let index = try touchpoints.int64(row: row, column: 0).map(Int.init), stages.indices.contains(index)
            else { continue }
            stages[index].touchpoints.append(
                .init(
                    name: touchpoints.string(row: row, column: 1) ?? "",
                    customers: try touchpoints.int64(row: row, column: 2) ?? 0,
                    events: try touchpoints.int64(row: row, column: 3) ?? 0))
        }

        let moments = try connection.execute(
            """
            SELECT stage_index, count(*), count(recovered_at),
                   count(*) FILTER (WHERE jsonb_array_length(pain_points) > 0)
            FROM cjm.critical_moments
            WHERE journey = $1 AND ($2 = '*' OR persona = $2) AND reason = 'inactive' GROUP BY stage_index
            """, parameter)
        for row in 0..<moments.rowCount {
            guard let index = try moments.int64(row: row, column: 0).map(Int.init), stages.indices.contains(index)
            else { continue }
            stages[index].moments = try moments.int64(row: row, column: 1) ?? 0
            stages[index].recovered = try moments.int64(row: row, column: 2) ?? 0
            stages[index].painPoints = try moments.int64(row: row, column: 3) ?? 0
        }

        var loop: JourneyMapDocument.Loop? = nil
        if entered == nil,
            let row = try RepeatLoopQuery.loop(connection, journey: journey, persona: persona ?? "*").first
        {
            loop = JourneyMapDocument.Loop(
                converted: row.converted, returned: row.returned, pending: row.pending, didNotReturn: row.didNotReturn,
                returnRate: row.returnRate, medianTimeToReturn: row.medianTimeToReturn,
                p90TimeToReturn: row.p90TimeToReturn, repeatWindow: row.repeatWindowSeconds,
                triggers: try RepeatLoopQuery.triggers(connection, journey: journey, limit: 3).map {
                    .init(event: $0.event, touchpoint: $0.touchpoint, returns: $0.returns, share: $0.share)
                })
        }

        let state = try connection.execute("SELECT watermark FROM cjm.engine_state WHERE id = 1")
        let watermark = try state.rowCount > 0 ? state.timestampMicroseconds(row: 0, column: 0) : nil
        return JourneyMapDocument(
            journey: journey, persona: persona,
            period: entered.map { .entered(from: RFC3339.format($0.from), to: RFC3339.format($0.to)) } ?? .allTime,
            watermark: watermark.map { RFC3339.format(EventTime(microseconds: $0)) },
            generatedAt: RFC3339.format(now), stages: stages, opportunities: opportunities, loop: loop)
    }
}
