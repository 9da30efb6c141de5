-- cjmd schema, version 19: personas (docs/sql.md, "Personas").
--
-- Every instance has the persona its customer had when it entered (from the events'
-- `personas.from` paths; `default` before any), and so does each critical moment. The
-- running totals gain a persona column: the rows of persona '*' count every instance, as
-- the tables did until now, and one row per persona counts that persona's instances, so
-- that cjm.funnel_by_persona is as flat in history as cjm.funnel. Everything stored before
-- this version counts as persona 'unknown' (the default default); `cjmd rebuild`
-- recomputes from the raw events.

-- The persona an event carried, as the decoder found it (NULL: none); read by restarts
-- and rebuilds.
ALTER TABLE cjm.event_rows ADD COLUMN persona text;

CREATE OR REPLACE VIEW cjm.events AS
    SELECT cjm.event_id(e.event_key) AS event_id, e.customer_id, e.ts, e.event, e.touchpoint, e.sentiment, e.revenue, e.properties,
           (SELECT s.name FROM cjm.sources s WHERE s.id = e.source_id) AS source,
           e.received_at, e.seq, e.journey, cjm.stage_map(e.stage_ids) AS stages, e.context, e.traits, e.persona
    FROM cjm.event_rows e;

-- Each customer's persona now and the time of the event that carried it (customers whose
-- events never carried one have no row).
CREATE TABLE cjm.customer_personas (
    customer_id text        PRIMARY KEY,
    persona     text        NOT NULL,
    set_at      timestamptz NOT NULL
);
COMMENT ON TABLE cjm.customer_personas IS
    'Each customer''s persona: the value of their latest event by time that carried one (docs/semantics.md).';

-- `persona_first_touches`: the (stage, touchpoint) pairs the customer met for the first time
-- in the journey as this persona during this instance, in first_touches' format; NULL when
-- they are first_touches (always so for a customer of one persona).
ALTER TABLE cjm.instance_rows
    ADD COLUMN persona text NOT NULL DEFAULT 'unknown',
    ADD COLUMN persona_first_touches text;
ALTER TABLE cjm.moment_rows ADD COLUMN persona text NOT NULL DEFAULT 'unknown';
ALTER TYPE cjm.sealed_instance ADD ATTRIBUTE persona text, ADD ATTRIBUTE persona_first_touches text;
ALTER TYPE cjm.sealed_moment ADD ATTRIBUTE persona text;

CREATE OR REPLACE VIEW cjm.journey_instances AS
    SELECT i.journey, i.customer_id, i.instance, i.entered_at, i.stage_index, i.stage, i.reached_at, i.status,
           i.last_seen, i.exited_at, i.last_event, i.last_touchpoint, i.stage_events, i.stage_sentiment_count,
           i.stage_sentiment_sum, i.stage_revenue, i.pain_points, i.moments, i.first_touches, i.persona,
           i.persona_first_touches
    FROM cjm.instance_rows i
    UNION ALL
    SELECT s.journey, r.customer_id, r.instance, r.entered_at, r.stage_index, r.stage, r.reached_at, r.status,
           r.last_seen, r.exited_at, r.last_event, r.last_touchpoint, r.stage_events, r.stage_sentiment_count,
           r.stage_sentiment_sum, r.stage_revenue, r.pain_points, r.moments, r.first_touches,
           coalesce(r.persona, 'unknown'), r.persona_first_touches
    FROM cjm.sealed_instances s CROSS JOIN LATERAL unnest(s.instance_rows) AS r;

CREATE OR REPLACE VIEW cjm.critical_moments AS
    SELECT m.journey, m.customer_id, m.instance, m.moment, m.stage_index, m.stage, m.reason, m.last_event,
           m.last_touchpoint, m.last_seen, m.time_in_stage, m.pain_points, m.detected_at, m.recovered_at, m.persona
    FROM cjm.moment_rows m
    UNION ALL
    SELECT s.journey, r.customer_id, r.instance, r.moment, r.stage_index, r.stage, r.reason, r.last_event,
           r.last_touchpoint, r.last_seen, r.time_in_stage, r.pain_points, r.detected_at, r.recovered_at,
           coalesce(r.persona, 'unknown')
    FROM cjm.sealed_moments s CROSS JOIN LATERAL unnest(s.moment_rows) AS r;

CREATE OR REPLACE FUNCTION cjm.instances_entered(p_journey text, p_from timestamptz, p_to timestamptz)
RETURNS SETOF cjm.journey_instances
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT i.journey, i.customer_id, i.instance, i.entered_at, i.stage_index, i.stage, i.reached_at, i.status,
           i.last_seen, i.exited_at, i.last_event, i.last_touchpoint, i.stage_events, i.stage_sentiment_count,
           i.stage_sentiment_sum, i.stage_revenue, i.pain_points, i.moments, i.first_touches, i.persona,
           i.persona_first_touches
    FROM cjm.instance_rows i
    WHERE i.journey = p_journey AND i.entered_at >= p_from AND i.entered_at < p_to
    UNION ALL
    SELECT s.journey, r.customer_id, r.instance, r.entered_at, r.stage_index, r.stage, r.reached_at, r.status,
           r.last_seen, r.exited_at, r.last_event, r.last_touchpoint, r.stage_events, r.stage_sentiment_count,
           r.stage_sentiment_sum, r.stage_revenue, r.pain_points, r.moments, r.first_touches,
           coalesce(r.persona, 'unknown'), r.persona_first_touches
    FROM cjm.sealed_instances s CROSS JOIN LATERAL unnest(s.instance_rows) AS r
    WHERE s.journey = p_journey AND s.entered_from < p_to AND s.entered_to >= p_from
      AND r.entered_at >= p_from AND r.entered_at < p_to
$$;

-- The staging tables of this session follow the new columns before the function names them.
DROP TABLE IF EXISTS pg_temp.closing_instances, pg_temp.closing_moments;
CREATE TEMP TABLE closing_instances (LIKE cjm.instance_rows) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE closing_moments (LIKE cjm.moment_rows) ON COMMIT DELETE ROWS;

-- As in version 16, carrying the persona columns; persona_first_touches appends as
-- first_touches does (NULL stays NULL while both sides are first_touches).
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
                         || coalesce(c.persona_first_touches, c.first_touches) END
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
        INSERT INTO cjm.sealed_moments (journey, detected_from, detected_to, moments, moment_rows)
        SELECT m.journey, min(m.detected_at), max(m.detected_at), count(*),
               array_agg(ROW(m.customer_id, m.instance, m.moment, m.stage_index, m.stage, m.reason, m.last_event,
                             m.last_touchpoint, m.last_seen, m.time_in_stage, m.pain_points, m.detected_at,
                             m.recovered_at, m.persona)::cjm.sealed_moment)
        FROM (SELECT mm.*, (row_number() OVER (PARTITION BY mm.journey ORDER BY mm.detected_at) - 1) / chunk_size AS chunk
              FROM moments mm) m
        GROUP BY m.journey, m.chunk
    ), sealed AS (
        INSERT INTO cjm.sealed_instances (journey, entered_from, entered_to, instances, instance_rows)
        SELECT n.journey, min(n.entered_at), max(n.entered_at), count(*),
               array_agg(ROW(n.customer_id, n.instance, n.entered_at, n.stage_index, n.stage, n.reached_at,
                             n.status, n.last_seen, n.exited_at, n.last_event, n.last_touchpoint, n.stage_events,
                             n.stage_sentiment_count, n.stage_sentiment_sum, n.stage_revenue, n.pain_points,
                             n.moments, n.first_touches, n.persona, n.persona_first_touches)::cjm.sealed_instance)
        FROM (SELECT c.*, (row_number() OVER (PARTITION BY c.journey ORDER BY c.entered_at) - 1) / chunk_size AS chunk
              FROM closing c) n
        GROUP BY n.journey, n.chunk
        RETURNING instances
    )
    SELECT coalesce(sum(instances), 0)::bigint FROM sealed
$$;

-- The running totals per persona. What is stored counts as '*' (every instance) and, all of
-- it being persona 'unknown', as 'unknown' too.
ALTER TABLE cjm.funnel_stats ADD COLUMN persona text NOT NULL DEFAULT '*';
ALTER TABLE cjm.funnel_stats DROP CONSTRAINT funnel_stats_pkey, ADD PRIMARY KEY (journey, stage_index, persona);
INSERT INTO cjm.funnel_stats (journey, stage_index, reached, customers, active, abandoned, expired, persona)
SELECT journey, stage_index, reached, customers, active, abandoned, expired, 'unknown' FROM cjm.funnel_stats;
ALTER TABLE cjm.time_to_next ADD COLUMN persona text NOT NULL DEFAULT '*';
ALTER TABLE cjm.time_to_next DROP CONSTRAINT time_to_next_pkey, ADD PRIMARY KEY (journey, stage_index, bucket, persona);
INSERT INTO cjm.time_to_next (journey, stage_index, bucket, instances, persona)
SELECT journey, stage_index, bucket, instances, 'unknown' FROM cjm.time_to_next;
ALTER TABLE cjm.touchpoint_stats ADD COLUMN persona text NOT NULL DEFAULT '*';
ALTER TABLE cjm.touchpoint_stats DROP CONSTRAINT touchpoint_stats_pkey,
    ADD PRIMARY KEY (journey, stage_index, touchpoint, persona);
INSERT INTO cjm.touchpoint_stats (journey, stage_index, touchpoint, events, sentiment_count, sentiment_sum, revenue,
                                  customers, persona)
SELECT journey, stage_index, touchpoint, events, sentiment_count, sentiment_sum, revenue, customers, 'unknown'
FROM cjm.touchpoint_stats;
ALTER TABLE cjm.funnel_stats ALTER COLUMN persona DROP DEFAULT;
ALTER TABLE cjm.time_to_next ALTER COLUMN persona DROP DEFAULT;
ALTER TABLE cjm.touchpoint_stats ALTER COLUMN persona DROP DEFAULT;

CREATE OR REPLACE VIEW cjm.time_to_next_percentiles AS
    WITH b AS (
        SELECT t.journey, t.stage_index, t.persona, t.bucket, t.instances::float8 AS n,
               (sum(t.instances) OVER (PARTITION BY t.journey, t.stage_index, t.persona ORDER BY t.bucket))::float8 AS upto,
               (sum(t.instances) OVER (PARTITION BY t.journey, t.stage_index, t.persona))::float8 AS total
        FROM cjm.time_to_next t
        WHERE t.instances > 0
    ), ranked AS (
        SELECT b.journey, b.stage_index, b.persona, q.fraction, q.fraction * (b.total - 1) AS x, b.upto - b.n AS before,
               b.n, bounds.lower, bounds.upper
        FROM b CROSS JOIN (VALUES (0.5::float8), (0.9::float8)) AS q(fraction)
        CROSS JOIN LATERAL cjm.duration_bucket_bounds(b.bucket) AS bounds
        WHERE b.upto > floor(q.fraction * (b.total - 1)) AND b.upto - b.n <= ceil(q.fraction * (b.total - 1))
    ), at_rank AS (
        SELECT journey, stage_index, persona, fraction, x,
               max(lower + (floor(x) - before + 0.5) / n * (upper - lower)) FILTER (WHERE floor(x) >= before) AS lo,
               max(lower + (ceil(x) - before + 0.5) / n * (upper - lower)) FILTER (WHERE ceil(x) < before + n) AS hi
        FROM ranked
        GROUP BY journey, stage_index, persona, fraction, x
    )
    SELECT journey, stage_index,
           max(lo + (x - floor(x)) * (hi - lo)) FILTER (WHERE fraction = 0.5) AS median_time_to_next,
           max(lo + (x - floor(x)) * (hi - lo)) FILTER (WHERE fraction = 0.9) AS p90_time_to_next,
           persona
    FROM at_rank
    GROUP BY journey, stage_index, persona;

CREATE OR REPLACE VIEW cjm.funnel AS
    SELECT s.journey, s.stage_index, s.stage,
           coalesce(f.reached, 0) AS reached,
           coalesce(f.customers, 0) AS customers,
           CASE WHEN s.stage_index < s.stage_count - 1 THEN lead(coalesce(f.reached, 0)) OVER w END AS converted_to_next,
           CASE WHEN s.stage_index < s.stage_count - 1
                THEN (lead(coalesce(f.reached, 0)) OVER w)::double precision / nullif(coalesce(f.reached, 0), 0) END
               AS step_conversion,
           coalesce(f.reached, 0)::double precision / nullif(first_value(coalesce(f.reached, 0)) OVER w, 0)
               AS overall_conversion,
           CASE WHEN s.stage_index < s.stage_count - 1 THEN coalesce(f.reached, 0) - lead(coalesce(f.reached, 0)) OVER w END
               AS drop_off,
           CASE WHEN s.stage_index < s.stage_count - 1
                THEN 1 - (lead(coalesce(f.reached, 0)) OVER w)::double precision / nullif(coalesce(f.reached, 0), 0) END
               AS drop_off_rate,
           coalesce(f.active, 0) AS active,
           coalesce(f.abandoned, 0) AS abandoned,
           coalesce(f.expired, 0) AS expired,
           CASE WHEN s.stage_index < s.stage_count - 1 THEN p.median_time_to_next END AS median_time_to_next,
           CASE WHEN s.stage_index < s.stage_count - 1 THEN p.p90_time_to_next END AS p90_time_to_next,
           coalesce(t.events, 0)::bigint AS events,
           t.avg_sentiment,
           coalesce(t.revenue, 0) AS revenue
    FROM cjm.journey_stages s
    LEFT JOIN cjm.funnel_stats f ON f.journey = s.journey AND f.stage_index = s.stage_index AND f.persona = '*'
    LEFT JOIN cjm.time_to_next_percentiles p
           ON p.journey = s.journey AND p.stage_index = s.stage_index AND p.persona = '*'
    LEFT JOIN (SELECT journey, stage_index, sum(events) AS events,
                      sum(sentiment_sum) / nullif(sum(sentiment_count), 0) AS avg_sentiment,
                      sum(revenue) AS revenue
               FROM cjm.touchpoint_stats WHERE persona = '*' GROUP BY journey, stage_index) t
           ON t.journey = s.journey AND t.stage_index = s.stage_index
    WINDOW w AS (PARTITION BY s.journey ORDER BY s.stage_index)
    ORDER BY s.journey_order, s.stage_index;

-- Per journey, persona and stage: cjm.funnel's columns over that persona's instances.
CREATE VIEW cjm.funnel_by_persona AS
    SELECT s.journey, p.persona, s.stage_index, s.stage,
           coalesce(f.reached, 0) AS reached,
           coalesce(f.customers, 0) AS customers,
           CASE WHEN s.stage_index < s.stage_count - 1 THEN lead(coalesce(f.reached, 0)) OVER w END AS converted_to_next,
           CASE WHEN s.stage_index < s.stage_count - 1
                THEN (lead(coalesce(f.reached, 0)) OVER w)::double precision / nullif(coalesce(f.reached, 0), 0) END
               AS step_conversion,
           coalesce(f.reached, 0)::double precision / nullif(first_value(coalesce(f.reached, 0)) OVER w, 0)
               AS overall_conversion,
           CASE WHEN s.stage_index < s.stage_count - 1 THEN coalesce(f.reached, 0) - lead(coalesce(f.reached, 0)) OVER w END
               AS drop_off,
           CASE WHEN s.stage_index < s.stage_count - 1
                THEN 1 - (lead(coalesce(f.reached, 0)) OVER w)::double precision / nullif(coalesce(f.reached, 0), 0) END
               AS drop_off_rate,
           coalesce(f.active, 0) AS active,
           coalesce(f.abandoned, 0) AS abandoned,
           coalesce(f.expired, 0) AS expired,
           CASE WHEN s.stage_index < s.stage_count - 1 THEN q.median_time_to_next END AS median_time_to_next,
           CASE WHEN s.stage_index < s.stage_count - 1 THEN q.p90_time_to_next END AS p90_time_to_next,
           coalesce(t.events, 0)::bigint AS events,
           t.avg_sentiment,
           coalesce(t.revenue, 0) AS revenue
    FROM cjm.journey_stages s
    JOIN (SELECT DISTINCT journey, persona FROM cjm.funnel_stats WHERE persona <> '*') p ON p.journey = s.journey
    LEFT JOIN cjm.funnel_stats f
           ON f.journey = s.journey AND f.stage_index = s.stage_index AND f.persona = p.persona
    LEFT JOIN cjm.time_to_next_percentiles q
           ON q.journey = s.journey AND q.stage_index = s.stage_index AND q.persona = p.persona
    LEFT JOIN (SELECT journey, stage_index, persona, sum(events) AS events,
                      sum(sentiment_sum) / nullif(sum(sentiment_count), 0) AS avg_sentiment,
                      sum(revenue) AS revenue
               FROM cjm.touchpoint_stats WHERE persona <> '*' GROUP BY journey, stage_index, persona) t
           ON t.journey = s.journey AND t.stage_index = s.stage_index AND t.persona = p.persona
    WINDOW w AS (PARTITION BY s.journey, p.persona ORDER BY s.stage_index)
    ORDER BY s.journey_order, p.persona COLLATE "C", s.stage_index;
COMMENT ON VIEW cjm.funnel_by_persona IS
    'cjm.funnel per persona: the same columns over each persona''s instances, from running totals (docs/sql.md).';

-- cjm.funnel_between gains the persona (NULL: every instance). The three-argument function
-- goes: a call with three arguments now means the new one with no persona.
DROP VIEW cjm.funnel_daily;
DROP FUNCTION cjm.funnel_between(text, timestamptz, timestamptz);
CREATE FUNCTION cjm.funnel_between(p_journey text, p_from timestamptz, p_to timestamptz, p_persona text DEFAULT NULL)
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
        LEFT JOIN cjm.instances_entered(p_journey, p_from, p_to) i
               ON i.journey = s.journey AND (p_persona IS NULL OR i.persona = p_persona)
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
COMMENT ON FUNCTION cjm.funnel_between(text, timestamptz, timestamptz, text) IS
    'Funnel of one journey over the instances (of one persona, unless NULL) whose entry time falls in [from, to).';

CREATE VIEW cjm.funnel_daily AS
    SELECT d.journey, d.day, f.stage_index, f.stage, f.reached, f.customers, f.converted_to_next,
           f.step_conversion, f.overall_conversion, f.drop_off_rate,
           coalesce(e.watermark >= ((d.day + 1)::timestamp AT TIME ZONE 'UTC') + s.conversion_window, false) AS final
    FROM (SELECT DISTINCT i.journey, (i.entered_at AT TIME ZONE 'UTC')::date AS day
          FROM cjm.journey_instances i) d
    JOIN cjm.journey_stages s ON s.journey = d.journey AND s.stage_index = 0
    CROSS JOIN LATERAL cjm.funnel_between(d.journey, d.day::timestamp AT TIME ZONE 'UTC',
                                          (d.day + 1)::timestamp AT TIME ZONE 'UTC') f
    CROSS JOIN cjm.engine_state e
    ORDER BY s.journey_order, d.day, f.stage_index;

-- Rows of persona '*' are every instance's, as before; one row per persona follows.
CREATE OR REPLACE VIEW cjm.touchpoints AS
    SELECT t.journey, t.stage_index, s.stage, t.touchpoint, t.events, t.customers,
           t.sentiment_sum / nullif(t.sentiment_count, 0) AS avg_sentiment,
           t.revenue, t.persona
    FROM cjm.touchpoint_stats t
    LEFT JOIN cjm.journey_stages s ON s.journey = t.journey AND s.stage_index = t.stage_index
    ORDER BY t.journey, t.stage_index, t.persona COLLATE "C", t.events DESC, t.touchpoint;

CREATE OR REPLACE VIEW cjm.exit_points AS
    SELECT m.journey, m.stage_index, m.stage, m.last_event, m.last_touchpoint,
           count(*)                                                               AS abandonments,
           count(m.recovered_at)                                                  AS recovered,
           count(*)::double precision / sum(count(*)) OVER (PARTITION BY m.journey, m.stage_index, p.persona) AS share,
           rank() OVER (PARTITION BY m.journey, m.stage_index, p.persona ORDER BY count(*) DESC)            AS rank,
           p.persona
    FROM cjm.critical_moments m
    CROSS JOIN LATERAL (VALUES ('*'::text), (m.persona)) AS p(persona)
    WHERE m.reason = 'inactive'
    GROUP BY m.journey, m.stage_index, m.stage, m.last_event, m.last_touchpoint, p.persona
    ORDER BY m.journey, m.stage_index, p.persona COLLATE "C", abandonments DESC, m.last_event, m.last_touchpoint;

-- The to-be map per persona too ('*': every customer).
CREATE OR REPLACE VIEW cjm.journey_map AS
    WITH funnels AS (
        SELECT f.journey, '*'::text AS persona, f.stage_index, f.stage, f.reached, f.step_conversion,
               f.median_time_to_next, f.drop_off, f.revenue
        FROM cjm.funnel f
        UNION ALL
        SELECT f.journey, f.persona, f.stage_index, f.stage, f.reached, f.step_conversion,
               f.median_time_to_next, f.drop_off, f.revenue
        FROM cjm.funnel_by_persona f
    ), f AS (
        SELECT f.journey, f.persona, f.stage_index, f.stage, f.reached, f.step_conversion, f.median_time_to_next,
               f.drop_off,
               lead(f.reached) OVER w AS reached_next,
               last_value(f.revenue) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS revenue_last,
               s.target_step_conversion, s.target_median_time_to_next, s.journey_order
        FROM funnels f
        JOIN cjm.journey_stages s ON s.journey = f.journey AND s.stage_index = f.stage_index
        WINDOW w AS (PARTITION BY f.journey, f.persona ORDER BY f.stage_index)
    ), m AS (
        SELECT f.*,
               CASE WHEN f.target_step_conversion IS NOT NULL AND f.reached_next IS NOT NULL
                    THEN greatest(0, ceil(f.target_step_conversion * f.reached) - f.reached_next)::bigint END
                   AS missing_to_target
        FROM f
    ), o AS (
        SELECT m.*,
               CASE WHEN m.missing_to_target IS NOT NULL AND m.reached_next > 0
                    THEN m.missing_to_target * m.revenue_last / m.reached_next END AS opportunity_revenue
        FROM m
    )
    SELECT o.journey, o.persona, o.stage_index, o.stage, o.reached,
           o.step_conversion,
           o.target_step_conversion,
           o.step_conversion - o.target_step_conversion::double precision AS conversion_gap,
           o.median_time_to_next,
           extract(epoch FROM o.target_median_time_to_next)::double precision AS target_median_time_to_next,
           o.median_time_to_next - extract(epoch FROM o.target_median_time_to_next)::double precision AS time_gap,
           o.drop_off,
           o.missing_to_target,
           o.opportunity_revenue,
           CASE WHEN o.target_step_conversion IS NOT NULL
                THEN row_number() OVER (PARTITION BY o.journey, o.persona, (o.target_step_conversion IS NOT NULL)
                                        ORDER BY o.opportunity_revenue DESC NULLS LAST, o.missing_to_target DESC,
                                                 o.stage_index) END AS opportunity_rank
    FROM o
    ORDER BY o.journey_order, o.persona <> '*', o.persona COLLATE "C", o.stage_index;

-- Drop-off alerts per persona (`alerts.by_persona`): decisions and episodes of one
-- persona's instances beside those of every instance ('*', what is stored so far).
ALTER TABLE cjm.stage_decisions ADD COLUMN persona text NOT NULL DEFAULT '*';
ALTER TABLE cjm.stage_decisions DROP CONSTRAINT stage_decisions_pkey,
    ADD PRIMARY KEY (journey, stage_index, persona, minute);
ALTER TABLE cjm.stage_decisions ALTER COLUMN persona DROP DEFAULT;
ALTER TABLE cjm.alerts ADD COLUMN persona text NOT NULL DEFAULT '*';
ALTER TABLE cjm.alerts ALTER COLUMN persona DROP DEFAULT;
DROP INDEX cjm.alerts_episode;
CREATE UNIQUE INDEX alerts_episode ON cjm.alerts (journey, stage_index, persona, fired_at);
DROP INDEX cjm.alerts_firing;
CREATE INDEX alerts_firing ON cjm.alerts (journey, stage_index, persona) WHERE resolved_at IS NULL;

CREATE OR REPLACE VIEW cjm.dropoff_hourly AS
SELECT journey, stage_index, stage, date_trunc('hour', minute) AS hour,
       sum(abandoned + advanced)::bigint AS decided,
       sum(abandoned)::bigint AS abandoned,
       sum(abandoned)::double precision / NULLIF(sum(abandoned + advanced), 0) AS drop_off_rate,
       persona
FROM cjm.stage_decisions
GROUP BY journey, stage_index, stage, date_trunc('hour', minute), persona;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cjm_reader') THEN
        GRANT SELECT ON cjm.dropoff_hourly TO cjm_reader;
        GRANT SELECT ON cjm.events, cjm.customer_personas, cjm.funnel_by_persona, cjm.funnel_daily,
                        cjm.journey_instances, cjm.critical_moments, cjm.touchpoints, cjm.exit_points,
                        cjm.journey_map, cjm.funnel, cjm.time_to_next_percentiles TO cjm_reader;
        GRANT EXECUTE ON FUNCTION cjm.funnel_between(text, timestamptz, timestamptz, text) TO cjm_reader;
    END IF;
END
$$;
