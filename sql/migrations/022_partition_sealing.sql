-- cjmd schema, version 22: a shard seals its partition's closed instances, as a single
-- daemon seals its own (docs/storage.md): each sealed chunk holds the instances (and
-- moments) of one partition, so that a shard taking a partition over reads that
-- partition's history back from the chunks. Before, shards kept every closed instance as a
-- row.

-- The partition whose writer queued or sealed the rows; -1 is a single daemon's.
ALTER TABLE cjm.seal_queue ADD COLUMN part smallint NOT NULL DEFAULT -1;
ALTER TABLE cjm.sealed_instances ADD COLUMN part smallint NOT NULL DEFAULT -1;
ALTER TABLE cjm.sealed_moments ADD COLUMN part smallint NOT NULL DEFAULT -1;
-- A shard restoring a partition reads that partition's chunks.
CREATE INDEX sealed_instances_part ON cjm.sealed_instances (part) WHERE part >= 0;

-- Seals the closed instances that `seal_part`'s writer queued in cjm.seal_queue and staged
-- in pg_temp.closing_*, in chunks of that partition alone.
CREATE FUNCTION cjm.seal_closed_instances(chunk_size integer, seal_part integer) RETURNS bigint
LANGUAGE sql SET enable_seqscan = off SET jit = off AS $$
    WITH queued AS (
        DELETE FROM cjm.seal_queue WHERE part = seal_part RETURNING journey, customer_id, instance
    ), moved_closed AS (
        DELETE FROM cjm.instance_rows i USING queued q
        WHERE i.journey = q.journey AND i.customer_id = q.customer_id AND i.instance = q.instance
          AND i.exited_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM pg_temp.closing_instances c
                          WHERE c.journey = i.journey AND c.customer_id = i.customer_id AND c.instance = i.instance)
        RETURNING i.*
    ), moved_replaced AS (
        DELETE FROM cjm.instance_rows i USING pg_temp.closing_instances c
        WHERE i.journey = c.journey AND i.customer_id = c.customer_id AND i.instance = c.instance
        RETURNING i.journey, i.customer_id, i.instance, i.first_touches, i.persona_first_touches
    ), closing AS (
        SELECT * FROM moved_closed
        UNION ALL
        SELECT c.journey, c.customer_id, c.instance, c.entered_at, c.stage_index, c.stage, c.reached_at, c.status,
               c.last_seen, c.exited_at, c.last_event, c.last_touchpoint, c.stage_events, c.stage_sentiment_count,
               c.stage_sentiment_sum, c.stage_revenue, c.pain_points, c.moments,
               coalesce(r.first_touches, '') || c.first_touches, c.persona,
               CASE WHEN r.persona_first_touches IS NULL AND c.persona_first_touches IS NULL THEN NULL
                    ELSE coalesce(r.persona_first_touches, r.first_touches, '')
                         || coalesce(c.persona_first_touches, c.first_touches) END,
               c.part
        FROM pg_temp.closing_instances c
        LEFT JOIN moved_replaced r ON r.journey = c.journey AND r.customer_id = c.customer_id AND r.instance = c.instance
    ), moved_moments AS (
        DELETE FROM cjm.moment_rows m USING closing i
        WHERE m.journey = i.journey AND m.customer_id = i.customer_id AND m.instance = i.instance
        RETURNING m.*
    ), moments AS (
        SELECT mm.journey, mm.customer_id, mm.instance, mm.moment, mm.stage_index, mm.stage, mm.reason,
               mm.last_event, mm.last_touchpoint, mm.last_seen, mm.time_in_stage, mm.pain_points, mm.detected_at,
               CASE WHEN c.moment IS NULL THEN mm.recovered_at ELSE c.recovered_at END AS recovered_at, mm.persona
        FROM moved_moments mm
        LEFT JOIN pg_temp.closing_moments c
               ON c.journey = mm.journey AND c.customer_id = mm.customer_id AND c.instance = mm.instance
              AND c.moment = mm.moment
        UNION ALL
        SELECT * FROM pg_temp.closing_moments c
        WHERE NOT EXISTS (SELECT 1 FROM moved_moments mm
                          WHERE c.journey = mm.journey AND c.customer_id = mm.customer_id
                            AND c.instance = mm.instance AND c.moment = mm.moment)
    ), sealed_moments AS (
        INSERT INTO cjm.sealed_moments (journey, detected_from, detected_to, moments, moment_rows, part)
        SELECT m.journey, min(m.detected_at), max(m.detected_at), count(*),
               array_agg(ROW(m.customer_id, m.instance, m.moment, m.stage_index, m.stage, m.reason, m.last_event,
                             m.last_touchpoint, m.last_seen, m.time_in_stage, m.pain_points, m.detected_at,
                             m.recovered_at, m.persona)::cjm.sealed_moment), seal_part
        FROM (SELECT mm.*, (row_number() OVER (PARTITION BY mm.journey ORDER BY mm.detected_at) - 1) / chunk_size AS chunk
              FROM moments mm) m
        GROUP BY m.journey, m.chunk
    ), sealed AS (
        INSERT INTO cjm.sealed_instances (journey, entered_from, entered_to, instances, instance_rows, part)
        SELECT n.journey, min(n.entered_at), max(n.entered_at), count(*),
               array_agg(ROW(n.customer_id, n.instance, n.entered_at, n.stage_index, n.stage, n.reached_at,
                             n.status, n.last_seen, n.exited_at, n.last_event, n.last_touchpoint, n.stage_events,
                             n.stage_sentiment_count, n.stage_sentiment_sum, n.stage_revenue, n.pain_points,
                             n.moments, n.first_touches, n.persona, n.persona_first_touches)::cjm.sealed_instance), seal_part
        FROM (SELECT c.*, (row_number() OVER (PARTITION BY c.journey ORDER BY c.entered_at) - 1) / chunk_size AS chunk
              FROM closing c) n
        GROUP BY n.journey, n.chunk
        RETURNING instances
    )
    SELECT coalesce(sum(instances), 0)::bigint FROM sealed
$$;

-- The one-argument form, as before: a single daemon's rows.
CREATE OR REPLACE FUNCTION cjm.seal_closed_instances(chunk_size integer) RETURNS bigint
LANGUAGE sql AS $$ SELECT cjm.seal_closed_instances(chunk_size, -1) $$;
