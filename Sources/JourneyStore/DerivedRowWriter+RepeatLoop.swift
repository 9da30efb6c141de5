import JourneyCore
import PostgresClient

/// The repeat loop of a batch (docs/sql.md, "The repeat loop"): its running totals, return
/// times and triggers, added like the funnel's; and the conversions waiting for a return,
/// replaced per customer and journey in `cjm.repeat_pending`, so that a restart decides each
/// exactly once.
extension DerivedRowWriter {
    func writeRepeatLoop(_ changes: EngineChanges) throws {
        let name = { (journey: Int) in self.catalog.journeys[journey].name }
        let tallies = changes.repeatLoop.filter { $0.value != RepeatTally() }
        if !tallies.isEmpty {
            _ = try connection.execute(
                """
                INSERT INTO cjm.repeat_stats_by_part AS r (journey, persona, converted, returned, did_not_return, part)
                SELECT *, $6::smallint FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[])
                ON CONFLICT (journey, persona, part) DO UPDATE SET
                    converted = r.converted + EXCLUDED.converted, returned = r.returned + EXCLUDED.returned,
                    did_not_return = r.did_not_return + EXCLUDED.did_not_return
                """,
                [
                    .text(SQLText.textArray(tallies.map { name($0.key.journey) })),
                    .text(SQLText.textArray(tallies.map(\.key.persona))),
                    .text(SQLText.array(tallies.map { "\($0.value.converted)" })),
                    .text(SQLText.array(tallies.map { "\($0.value.returned)" })),
                    .text(SQLText.array(tallies.map { "\($0.value.didNotReturn)" })), .int(Int64(part)),
                ])
        }
        let buckets = changes.returnTimes.filter { $0.value != 0 }
        if !buckets.isEmpty {
            _ = try connection.execute(
                """
                INSERT INTO cjm.return_time_by_part AS t (journey, persona, bucket, instances, part)
                SELECT *, $5::smallint FROM unnest($1::text[], $2::text[], $3::int[], $4::int8[])
                ON CONFLICT (journey, persona, bucket, part) DO UPDATE SET instances = t.instances + EXCLUDED.instances
                """,
                [
                    .text(SQLText.textArray(buckets.map { name($0.key.journey) })),
                    .text(SQLText.textArray(buckets.map(\.key.persona))),
                    .text(SQLText.array(buckets.map { "\($0.key.bucket)" })),
                    .text(SQLText.array(buckets.map { "\($0.value)" })), .int(Int64(part)),
                ])
        }
        let triggers = changes.repeatTriggers.filter { $0.value != 0 }
        if !triggers.isEmpty {
            _ = try connection.execute(
                """
                INSERT INTO cjm.repeat_trigger_stats_by_part AS t (journey, event, touchpoint, returns, part)
                SELECT *, $5::smallint FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[])
                ON CONFLICT (journey, event, touchpoint, part) DO UPDATE SET returns = t.returns + EXCLUDED.returns
                """,
                [
                    .text(SQLText.textArray(triggers.map { name($0.key.journey) })),
                    .text(SQLText.textArray(triggers.map(\.key.event))),
                    .text(SQLText.textArray(triggers.map(\.key.touchpoint))),
                    .text(SQLText.array(triggers.map { "\($0.value)" })), .int(Int64(part)),
                ])
        }
        if !changes.repeatDecided.isEmpty {
            _ = try connection.execute(
                """
                DELETE FROM cjm.repeat_pending p
                USING unnest($1::text[], $2::text[]) AS d(journey, customer_id)
                WHERE p.journey = d.journey AND p.customer_id = d.customer_id
                """,
                [
                    .text(SQLText.textArray(changes.repeatDecided.map { name($0.journey) })),
                    .text(SQLText.textArray(changes.repeatDecided.map(\.customerID))),
                ])
        }
        if !changes.repeatPending.isEmpty {
            let waiting = changes.repeatPending
            _ = try connection.execute(
                """
                INSERT INTO cjm.repeat_pending AS p (journey, customer_id, instance, exited_at, persona, part)
                SELECT *, $6::smallint FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::text[])
                ON CONFLICT (journey, customer_id) DO UPDATE SET
                    instance = EXCLUDED.instance, exited_at = EXCLUDED.exited_at, persona = EXCLUDED.persona
                """,
                [
                    .text(SQLText.textArray(waiting.map { name($0.journey) })),
                    .text(SQLText.textArray(waiting.map(\.customerID))),
                    .text(SQLText.array(waiting.map { "\($0.instance)" })),
                    .text(SQLText.timestampArray(waiting.map(\.exitedAt))),
                    .text(SQLText.textArray(waiting.map(\.persona))), .int(Int64(part)),
                ])
        }
    }
}
