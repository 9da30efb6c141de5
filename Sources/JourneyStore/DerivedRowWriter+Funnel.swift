import JourneyCore
import PostgresClient

/// The running funnel totals of a batch: `cjm.funnel` reads these few rows instead of
/// aggregating every instance, so a dashboard's query costs the same at any history size.
extension DerivedRowWriter {
    func writeFunnel(_ funnel: [FunnelStageKey: FunnelTally], timeToNext: [TimeToNextKey: Int64]) throws {
        let stages = funnel.filter { $0.value != FunnelTally() }
        if !stages.isEmpty {
            var journeys: [String] = []
            var indexes: [String] = []
            var reached: [String] = []
            var customers: [String] = []
            var active: [String] = []
            var abandoned: [String] = []
            var expired: [String] = []
            var personas: [String] = []
            for (key, tally) in stages {
                journeys.append(catalog.journeys[key.journey].name)
                personas.append(key.persona)
                indexes.append("\(key.stageIndex)")
                reached.append("\(tally.reached)")
                customers.append("\(tally.customers)")
                active.append("\(tally.active)")
                abandoned.append("\(tally.abandoned)")
                expired.append("\(tally.expired)")
            }
            _ = try connection.execute(
                """
                INSERT INTO cjm.funnel_stats_by_part AS f
                    (journey, stage_index, reached, customers, active, abandoned, expired, persona, part)
                SELECT *, $9::smallint FROM unnest($1::text[], $2::int[], $3::int8[], $4::int8[], $5::int8[], $6::int8[],
                                                   $7::int8[], $8::text[])
                ON CONFLICT (journey, stage_index, persona, part) DO UPDATE SET
                    reached = f.reached + EXCLUDED.reached, customers = f.customers + EXCLUDED.customers,
                    active = f.active + EXCLUDED.active, abandoned = f.abandoned + EXCLUDED.abandoned,
                    expired = f.expired + EXCLUDED.expired
                """,
                [
                    .text(SQLText.textArray(journeys)), .text(SQLText.array(indexes)), .text(SQLText.array(reached)),
                    .text(SQLText.array(customers)), .text(SQLText.array(active)), .text(SQLText.array(abandoned)),
                    .text(SQLText.array(expired)), .text(SQLText.textArray(personas)), .int(Int64(part)),
                ])
        }
        let buckets = timeToNext.filter { $0.value != 0 }
        if !buckets.isEmpty {
            var journeys: [String] = []
            var indexes: [String] = []
            var bucketNumbers: [String] = []
            var counts: [String] = []
            var personas: [String] = []
            for (key, count) in buckets {
                journeys.append(catalog.journeys[key.journey].name)
                personas.append(key.persona)
                indexes.append("\(key.stageIndex)")
                bucketNumbers.append("\(key.bucket)")
                counts.append("\(count)")
            }
            _ = try connection.execute(
                """
                INSERT INTO cjm.time_to_next_by_part AS t (journey, stage_index, bucket, instances, persona, part)
                SELECT *, $6::smallint FROM unnest($1::text[], $2::int[], $3::int[], $4::int8[], $5::text[])
                ON CONFLICT (journey, stage_index, bucket, persona, part) DO UPDATE SET
                    instances = t.instances + EXCLUDED.instances
                """,
                [
                    .text(SQLText.textArray(journeys)), .text(SQLText.array(indexes)),
                    .text(SQLText.array(bucketNumbers)),
                    .text(SQLText.array(counts)), .text(SQLText.textArray(personas)), .int(Int64(part)),
                ])
        }
    }
}
