import JourneyCore
import PostgresClient

/// Mirrors the configured journeys into `cjm.journey_stages`, which the views join against
/// (so a stage nobody reached still has its funnel row). Journeys no longer configured are
/// removed from it; their instances stay in the tables.
enum JourneyStages {
    /// Call inside a transaction.
    static func synchronize(_ journeys: [JourneyDefinition], on connection: PostgresConnection) throws {
        do {
            _ = try connection.execute("DELETE FROM cjm.journey_stages")
            try connection.copyIn(
                """
                COPY cjm.journey_stages (journey, stage_index, stage, stage_count, conversion_window,
                                         abandon_after, journey_order, target_step_conversion,
                                         target_median_time_to_next, repeat_window) FROM STDIN
                """
            ) { writer in
                for (order, journey) in journeys.enumerated() {
                    for (index, stage) in journey.stages.enumerated() {
                        writer.appendText(journey.name)
                        writer.appendInteger(index)
                        writer.appendText(stage.name)
                        writer.appendInteger(journey.stages.count)
                        writer.appendText(SQLText.interval(journey.conversionWindow))
                        writer.appendText(stage.abandonAfter.map(SQLText.interval))
                        writer.appendInteger(order)
                        writer.appendText(stage.target?.stepConversion)
                        writer.appendText(stage.target?.medianTimeToNext.map(SQLText.interval))
                        writer.appendText(SQLText.interval(journey.repeatWindow))
                        try writer.endRow()
                    }
                }
            }
        }
    }
}
