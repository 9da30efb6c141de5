-- cjmd schema, version 16: the closed instances waiting for a seal are listed by key, and
-- a range of entry times reads only the sealed chunks that overlap it.
--
-- A seal moves the closed instances of cjm.instance_rows into chunks. Found by a scan of
-- that table, which holds every open instance (hundreds of thousands for a busy journey),
-- a seal of a thousand took about a second: the planner, its statistics taken when many
-- rows were closed, read the whole table (measured on the benchmark's live run). cjmd now
-- lists each instance it writes closed in cjm.seal_queue, and a seal takes exactly those
-- keys, each found by the primary key: its cost follows what it moves, not what is open.

CREATE TABLE cjm.seal_queue (
    journey     text    NOT NULL,
    customer_id text    NOT NULL,
    instance    integer NOT NULL
);
COMMENT ON TABLE cjm.seal_queue IS
    'Keys of the closed instances in cjm.instance_rows, emptied by each seal (docs/storage.md).';

-- What an earlier daemon left closed, waiting.
INSERT INTO cjm.seal_queue SELECT journey, customer_id, instance FROM cjm.instance_rows WHERE exited_at IS NOT NULL;
DROP INDEX cjm.instance_rows_closed;

-- As in version 15, with the closed rows taken from the queue. A key may be queued twice
-- (an instance written closed in two writes); the DELETE deletes its row once. Scans are
-- off: every table is reached by its primary key from what is queued or staged, whatever
-- statistics the planner holds, so a seal never reads the open instances. JIT is off too:
-- the scans' penalty in the plan's cost would have every seal compiled, about 0.9 s each.
CREATE OR REPLACE FUNCTION cjm.seal_closed_instances(chunk_size integer) RETURNS bigint
LANGUAGE sql SET enable_seqscan = off SET jit = off AS $$
    WITH queued AS (
        DELETE FROM cjm.seal_queue RETURNING journey, customer_id, instance
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
        RETURNING i.journey, i.customer_id, i.instance, i.first_touches
    ), closing AS (
        SELECT * FROM moved_closed
        UNION ALL
        -- A staged instance carries the touchpoint pairs met since its row was last written
        -- (the upsert appends them): the row's come first.
        SELECT c.journey, c.customer_id, c.instance, c.entered_at, c.stage_index, c.stage, c.reached_at, c.status,
               c.last_seen, c.exited_at, c.last_event, c.last_touchpoint, c.stage_events, c.stage_sentiment_count,
               c.stage_sentiment_sum, c.stage_revenue, c.pain_points, c.moments,
               coalesce(r.first_touches, '') || c.first_touches
        FROM pg_temp.closing_instances c
        LEFT JOIN moved_replaced r ON r.journey = c.journey AND r.customer_id = c.customer_id AND r.instance = c.instance
    ), moved_moments AS (
        DELETE FROM cjm.moment_rows m USING closing i
        WHERE m.journey = i.journey AND m.customer_id = i.customer_id AND m.instance = i.instance
        RETURNING m.*
    ), moments AS (
        -- A moment changes only by its recovery (as the upsert has it): a staged one that
        -- is stored already brings its recovered_at alone.
        SELECT mm.journey, mm.customer_id, mm.instance, mm.moment, mm.stage_index, mm.stage, mm.reason,
               mm.last_event, mm.last_touchpoint, mm.last_seen, mm.time_in_stage, mm.pain_points, mm.detected_at,
               CASE WHEN c.moment IS NULL THEN mm.recovered_at ELSE c.recovered_at END AS recovered_at
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
        INSERT INTO cjm.sealed_moments (journey, detected_from, detected_to, moments, moment_rows)
        SELECT m.journey, min(m.detected_at), max(m.detected_at), count(*),
               array_agg(ROW(m.customer_id, m.instance, m.moment, m.stage_index, m.stage, m.reason, m.last_event,
                             m.last_touchpoint, m.last_seen, m.time_in_stage, m.pain_points, m.detected_at,
                             m.recovered_at)::cjm.sealed_moment)
        FROM (SELECT mm.*, (row_number() OVER (PARTITION BY mm.journey ORDER BY mm.detected_at) - 1) / chunk_size AS chunk
              FROM moments mm) m
        GROUP BY m.journey, m.chunk
    ), sealed AS (
        INSERT INTO cjm.sealed_instances (journey, entered_from, entered_to, instances, instance_rows)
        SELECT n.journey, min(n.entered_at), max(n.entered_at), count(*),
               array_agg(ROW(n.customer_id, n.instance, n.entered_at, n.stage_index, n.stage, n.reached_at,
                             n.status, n.last_seen, n.exited_at, n.last_event, n.last_touchpoint, n.stage_events,
                             n.stage_sentiment_count, n.stage_sentiment_sum, n.stage_revenue, n.pain_points,
                             n.moments, n.first_touches)::cjm.sealed_instance)
        FROM (SELECT c.*, (row_number() OVER (PARTITION BY c.journey ORDER BY c.entered_at) - 1) / chunk_size AS chunk
              FROM closing c) n
        GROUP BY n.journey, n.chunk
        RETURNING instances
    )
    SELECT coalesce(sum(instances), 0)::bigint FROM sealed
$$;


-- The instances of a journey that entered in [p_from, p_to): the rows, and the sealed
-- chunks whose range of entry times overlaps it (cjm.journey_instances unpacks every chunk,
-- whatever the query asks). cjm.funnel_between reads its instances here, so a day's funnel
-- or the last minute's costs what that range holds, not the whole history.
CREATE FUNCTION cjm.instances_entered(p_journey text, p_from timestamptz, p_to timestamptz)
RETURNS SETOF cjm.journey_instances
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT i.journey, i.customer_id, i.instance, i.entered_at, i.stage_index, i.stage, i.reached_at, i.status,
           i.last_seen, i.exited_at, i.last_event, i.last_touchpoint, i.stage_events, i.stage_sentiment_count,
           i.stage_sentiment_sum, i.stage_revenue, i.pain_points, i.moments, i.first_touches
    FROM cjm.instance_rows i
    WHERE i.journey = p_journey AND i.entered_at >= p_from AND i.entered_at < p_to
    UNION ALL
    SELECT s.journey, r.customer_id, r.instance, r.entered_at, r.stage_index, r.stage, r.reached_at, r.status,
           r.last_seen, r.exited_at, r.last_event, r.last_touchpoint, r.stage_events, r.stage_sentiment_count,
           r.stage_sentiment_sum, r.stage_revenue, r.pain_points, r.moments, r.first_touches
    FROM cjm.sealed_instances s CROSS JOIN LATERAL unnest(s.instance_rows) AS r
    WHERE s.journey = p_journey AND s.entered_from < p_to AND s.entered_to >= p_from
      AND r.entered_at >= p_from AND r.entered_at < p_to
$$;
COMMENT ON FUNCTION cjm.instances_entered(text, timestamptz, timestamptz) IS
    'The rows of cjm.journey_instances of one journey entered in [from, to), reading only the sealed chunks of that range.';

CREATE OR REPLACE FUNCTION cjm.funnel_between(p_journey text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (
    journey             text,
    stage_index         integer,
    stage               text,
    reached             bigint,
    customers           bigint,
    converted_to_next   bigint,
    step_conversion     double precision,
    overall_conversion  double precision,
    drop_off            bigint,
    drop_off_rate       double precision,
    active              bigint,
    abandoned           bigint,
    expired             bigint,
    median_time_to_next double precision,
    p90_time_to_next    double precision,
    events              bigint,
    avg_sentiment       double precision,
    revenue             numeric
)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH per_stage AS (
        SELECT s.journey, s.stage_index, s.stage, s.stage_count,
               count(i.instance) FILTER (WHERE i.stage_index >= s.stage_index)             AS reached,
               count(DISTINCT i.customer_id) FILTER (WHERE i.stage_index >= s.stage_index) AS customers,
               count(i.instance) FILTER (WHERE i.stage_index = s.stage_index AND i.status = 'active')    AS active,
               count(i.instance) FILTER (WHERE i.stage_index = s.stage_index AND i.status = 'abandoned') AS abandoned,
               count(i.instance) FILTER (WHERE i.stage_index = s.stage_index AND i.status = 'expired')   AS expired,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM
                   i.reached_at[s.stage_index + 2] - i.reached_at[s.stage_index + 1])::double precision)
                   FILTER (WHERE i.stage_index > s.stage_index)                                AS median_time_to_next,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM
                   i.reached_at[s.stage_index + 2] - i.reached_at[s.stage_index + 1])::double precision)
                   FILTER (WHERE i.stage_index > s.stage_index)                                AS p90_time_to_next,
               coalesce(sum(i.stage_events[s.stage_index + 1]), 0)::bigint                    AS events,
               sum(i.stage_sentiment_sum[s.stage_index + 1])
                   / nullif(sum(i.stage_sentiment_count[s.stage_index + 1]), 0)               AS avg_sentiment,
               coalesce(sum(i.stage_revenue[s.stage_index + 1]), 0)                           AS revenue
        FROM cjm.journey_stages s
        LEFT JOIN cjm.instances_entered(p_journey, p_from, p_to) i ON i.journey = s.journey
        WHERE s.journey = p_journey
        GROUP BY s.journey, s.stage_index, s.stage, s.stage_count
    )
    SELECT p.journey, p.stage_index, p.stage, p.reached, p.customers,
           CASE WHEN p.stage_index < p.stage_count - 1 THEN lead(p.reached) OVER w END,
           CASE WHEN p.stage_index < p.stage_count - 1
                THEN (lead(p.reached) OVER w)::double precision / nullif(p.reached, 0) END,
           p.reached::double precision / nullif(first_value(p.reached) OVER w, 0),
           CASE WHEN p.stage_index < p.stage_count - 1 THEN p.reached - lead(p.reached) OVER w END,
           CASE WHEN p.stage_index < p.stage_count - 1
                THEN 1 - (lead(p.reached) OVER w)::double precision / nullif(p.reached, 0) END,
           p.active, p.abandoned, p.expired,
           p.median_time_to_next, p.p90_time_to_next,
           p.events, p.avg_sentiment, p.revenue
    FROM per_stage p
    WINDOW w AS (PARTITION BY p.journey ORDER BY p.stage_index)
    ORDER BY p.stage_index
$$;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cjm_reader') THEN
        GRANT SELECT ON cjm.seal_queue TO cjm_reader;
        GRANT EXECUTE ON FUNCTION cjm.instances_entered(text, timestamptz, timestamptz) TO cjm_reader;
    END IF;
END
$$;
