-- cjmd schema, version 2: the SQL interface for dashboards (docs/sql.md) and the reader role.

-- The funnel of one journey over the instances that entered in [p_from, p_to). Later
-- stages count even after p_to, within the conversion window. The view cjm.funnel below was
-- this function over all time; migration 005 replaced it with running totals. Over all time
-- the two still agree on every count, sum and average; cjm.funnel's median and p90 come from
-- duration buckets (within 1 % plus 0.01 s), while this function computes them exactly.
CREATE FUNCTION cjm.funnel_between(p_journey text, p_from timestamptz, p_to timestamptz)
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
        LEFT JOIN cjm.journey_instances i
               ON i.journey = s.journey AND i.entered_at >= p_from AND i.entered_at < p_to
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

COMMENT ON FUNCTION cjm.funnel_between(text, timestamptz, timestamptz) IS
    'Funnel of one journey over the instances whose entry time falls in [from, to).';

CREATE VIEW cjm.funnel AS
    SELECT f.*
    FROM (SELECT s.journey, min(s.journey_order) AS journey_order
          FROM cjm.journey_stages s GROUP BY s.journey) j
    CROSS JOIN LATERAL cjm.funnel_between(j.journey, '-infinity', 'infinity') f
    ORDER BY j.journey_order, f.stage_index;

COMMENT ON VIEW cjm.funnel IS 'One row per journey and stage over all instances (SPEC §4).';

-- Per journey, entry day (UTC) and stage. `final` once every instance that entered that day
-- is past its conversion window (the engine watermark has passed day end + window).
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

-- Per journey, stage and touchpoint: the activity attributed there (docs/semantics.md).
CREATE VIEW cjm.touchpoints AS
    SELECT t.journey, t.stage_index, s.stage, t.touchpoint, t.events,
           (SELECT count(*) FROM cjm.touchpoint_customers c
             WHERE c.journey = t.journey AND c.stage_index = t.stage_index AND c.touchpoint = t.touchpoint) AS customers,
           t.sentiment_sum / nullif(t.sentiment_count, 0) AS avg_sentiment,
           t.revenue
    FROM cjm.touchpoint_stats t
    LEFT JOIN cjm.journey_stages s ON s.journey = t.journey AND s.stage_index = t.stage_index
    ORDER BY t.journey, t.stage_index, t.events DESC, t.touchpoint;

-- Per journey and abandoned stage: the last event and touchpoint before the silence,
-- most frequent first; `share` of the stage's abandonments, `recovered` came back later.
CREATE VIEW cjm.exit_points AS
    SELECT m.journey, m.stage_index, m.stage, m.last_event, m.last_touchpoint,
           count(*)                                                               AS abandonments,
           count(m.recovered_at)                                                  AS recovered,
           count(*)::double precision / sum(count(*)) OVER (PARTITION BY m.journey, m.stage_index) AS share,
           rank() OVER (PARTITION BY m.journey, m.stage_index ORDER BY count(*) DESC)            AS rank
    FROM cjm.critical_moments m
    WHERE m.reason = 'inactive'
    GROUP BY m.journey, m.stage_index, m.stage, m.last_event, m.last_touchpoint
    ORDER BY m.journey, m.stage_index, abandonments DESC, m.last_event, m.last_touchpoint;

-- The read-only role for dashboards. Creating a role needs CREATEROLE; a deployment whose
-- migrating role lacks it gets a notice. The grants are made once, by the migrations that
-- find the role: create cjm_reader by hand before the first `cjmd migrate`, or grant it
-- afterwards by hand as docs/sql.md shows.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cjm_reader') THEN
        BEGIN
            CREATE ROLE cjm_reader NOLOGIN;
        EXCEPTION
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'cjm_reader not created: this role lacks CREATEROLE; create it as a superuser: CREATE ROLE cjm_reader NOLOGIN';
            -- Roles are cluster-wide: another database's migration may create it at the same time.
            WHEN duplicate_object OR unique_violation THEN
                NULL;
        END;
    END IF;
END
$$;
