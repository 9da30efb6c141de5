-- cjmd schema, version 21: shards (docs/scaling.md). Daemons that each process some
-- partitions of the bus write one database; every row a shard writes is its partition's, so
-- that shards never wait for one another on a row, and the views sum the partitions.
--
-- `part` is the bus partition whose shard wrote a row; -1 is a single daemon's (`cjmd run`,
-- `replay` or `rebuild`, everything before this version). A database is written either by
-- one daemon or by shards: each refuses a database the other kind has written.

-- Where each partition stands: its last stream sequence committed (a shard resumes after
-- it, whatever JetStream's acknowledgements say), and its engine's position as
-- cjm.engine_state holds a single daemon's.
CREATE TABLE cjm.partition_state (
    part                     smallint    PRIMARY KEY CHECK (part BETWEEN 0 AND 1023),
    partitions               smallint    NOT NULL CHECK (partitions BETWEEN 1 AND 1024),
    stream_sequence          bigint      NOT NULL DEFAULT 0,
    commits                  bigint      NOT NULL DEFAULT 0,
    watermark                timestamptz,
    max_event_time           timestamptz,
    pending_from             timestamptz,
    next_seq                 bigint      NOT NULL,
    last_batch_token         bigint,
    updated_at               timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE cjm.partition_state IS
    'Per bus partition: the last stream sequence committed and the engine''s position (docs/scaling.md).';

-- The drop-off alerts of a sharded database are judged once, over every partition, by
-- whichever daemon holds the judge's lock: how far it came.
CREATE TABLE cjm.alert_judge_state (
    id                 integer     PRIMARY KEY CHECK (id = 1),
    evaluated_through  timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
INSERT INTO cjm.alert_judge_state (id) VALUES (1);

-- Rows per customer: a shard restores its partitions' customers alone.
ALTER TABLE cjm.instance_rows ADD COLUMN part smallint NOT NULL DEFAULT -1;
ALTER TABLE cjm.customer_personas ADD COLUMN part smallint NOT NULL DEFAULT -1;
ALTER TABLE cjm.repeat_pending ADD COLUMN part smallint NOT NULL DEFAULT -1;
CREATE INDEX instance_rows_open_part ON cjm.instance_rows (part) WHERE exited_at IS NULL AND part >= 0;
ALTER TABLE cjm.batch_journal ADD COLUMN part smallint NOT NULL DEFAULT -1;

-- Running totals per partition: each table becomes <name>_by_part with `part` in its key,
-- and a view of the old name sums the partitions (same columns, same types), so every
-- reader — the views below, dashboards, psql — reads what it read before.
ALTER TABLE cjm.funnel_stats RENAME TO funnel_stats_by_part;
ALTER TABLE cjm.funnel_stats_by_part ADD COLUMN part smallint NOT NULL DEFAULT -1;
ALTER TABLE cjm.funnel_stats_by_part DROP CONSTRAINT funnel_stats_pkey,
    ADD PRIMARY KEY (journey, stage_index, persona, part);
CREATE VIEW cjm.funnel_stats AS
    SELECT journey, stage_index, sum(reached)::bigint AS reached, sum(customers)::bigint AS customers,
           sum(active)::bigint AS active, sum(abandoned)::bigint AS abandoned, sum(expired)::bigint AS expired, persona
    FROM cjm.funnel_stats_by_part GROUP BY journey, stage_index, persona;

ALTER TABLE cjm.time_to_next RENAME TO time_to_next_by_part;
ALTER TABLE cjm.time_to_next_by_part ADD COLUMN part smallint NOT NULL DEFAULT -1;
ALTER TABLE cjm.time_to_next_by_part DROP CONSTRAINT time_to_next_pkey,
    ADD PRIMARY KEY (journey, stage_index, bucket, persona, part);
CREATE VIEW cjm.time_to_next AS
    SELECT journey, stage_index, bucket, sum(instances)::bigint AS instances, persona
    FROM cjm.time_to_next_by_part GROUP BY journey, stage_index, bucket, persona;

ALTER TABLE cjm.touchpoint_stats RENAME TO touchpoint_stats_by_part;
ALTER TABLE cjm.touchpoint_stats_by_part ADD COLUMN part smallint NOT NULL DEFAULT -1;
ALTER TABLE cjm.touchpoint_stats_by_part DROP CONSTRAINT touchpoint_stats_pkey,
    ADD PRIMARY KEY (journey, stage_index, touchpoint, persona, part);
-- Customers are summed too: a customer is in one partition, so the partitions' distinct
-- customers are distinct from one another.
CREATE VIEW cjm.touchpoint_stats AS
    SELECT journey, stage_index, touchpoint, sum(events)::bigint AS events,
           sum(sentiment_count)::bigint AS sentiment_count, sum(sentiment_sum)::double precision AS sentiment_sum,
           sum(revenue)::numeric(19, 6) AS revenue, sum(customers)::bigint AS customers, persona
    FROM cjm.touchpoint_stats_by_part GROUP BY journey, stage_index, touchpoint, persona;

ALTER TABLE cjm.stage_decisions RENAME TO stage_decisions_by_part;
ALTER TABLE cjm.stage_decisions_by_part ADD COLUMN part smallint NOT NULL DEFAULT -1;
ALTER TABLE cjm.stage_decisions_by_part DROP CONSTRAINT stage_decisions_pkey,
    ADD PRIMARY KEY (journey, stage_index, persona, minute, part);
CREATE VIEW cjm.stage_decisions AS
    SELECT journey, stage_index, stage, minute, sum(abandoned)::bigint AS abandoned, sum(advanced)::bigint AS advanced,
           persona
    FROM cjm.stage_decisions_by_part GROUP BY journey, stage_index, stage, minute, persona;

ALTER TABLE cjm.repeat_stats RENAME TO repeat_stats_by_part;
ALTER TABLE cjm.repeat_stats_by_part ADD COLUMN part smallint NOT NULL DEFAULT -1;
ALTER TABLE cjm.repeat_stats_by_part DROP CONSTRAINT repeat_stats_pkey, ADD PRIMARY KEY (journey, persona, part);
CREATE VIEW cjm.repeat_stats AS
    SELECT journey, persona, sum(converted)::bigint AS converted, sum(returned)::bigint AS returned,
           sum(did_not_return)::bigint AS did_not_return
    FROM cjm.repeat_stats_by_part GROUP BY journey, persona;

ALTER TABLE cjm.return_time RENAME TO return_time_by_part;
ALTER TABLE cjm.return_time_by_part ADD COLUMN part smallint NOT NULL DEFAULT -1;
ALTER TABLE cjm.return_time_by_part DROP CONSTRAINT return_time_pkey, ADD PRIMARY KEY (journey, persona, bucket, part);
CREATE VIEW cjm.return_time AS
    SELECT journey, persona, bucket, sum(instances)::bigint AS instances
    FROM cjm.return_time_by_part GROUP BY journey, persona, bucket;

ALTER TABLE cjm.repeat_trigger_stats RENAME TO repeat_trigger_stats_by_part;
ALTER TABLE cjm.repeat_trigger_stats_by_part ADD COLUMN part smallint NOT NULL DEFAULT -1;
ALTER TABLE cjm.repeat_trigger_stats_by_part DROP CONSTRAINT repeat_trigger_stats_pkey,
    ADD PRIMARY KEY (journey, event, touchpoint, part);
CREATE VIEW cjm.repeat_trigger_stats AS
    SELECT journey, event, touchpoint, sum(returns)::bigint AS returns
    FROM cjm.repeat_trigger_stats_by_part GROUP BY journey, event, touchpoint;

-- Two shards may meet a new day at once: one creates its day's table, the other waits for
-- the first's transaction and finds it.
CREATE OR REPLACE FUNCTION cjm.ensure_day_partition(parent text, day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    partition_name text := cjm.day_partition_name(parent, day);
    lower_bound    text := to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00';
    upper_bound    text := to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00';
BEGIN
    IF parent NOT IN ('event_rows', 'rejected_events') THEN
        RAISE EXCEPTION 'cjm.% is not partitioned by day', parent;
    END IF;
    IF to_regclass(format('cjm.%I', partition_name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- Self-conflicting, and not with the writers' ROW EXCLUSIVE: creators take turns, and
    -- taking a table lock reads the catalog afresh, so the second sees the first's table.
    EXECUTE format('LOCK TABLE cjm.%I IN SHARE UPDATE EXCLUSIVE MODE', parent);
    IF to_regclass(format('cjm.%I', partition_name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE cjm.%I (LIKE cjm.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', partition_name, parent);
    IF parent = 'event_rows' THEN
        EXECUTE format('CREATE UNIQUE INDEX %I ON cjm.%I (ts, cjm.event_key_hash(event_key))',
                       partition_name || '_key', partition_name);
    END IF;
    EXECUTE format('ALTER TABLE cjm.%I ATTACH PARTITION cjm.%I FOR VALUES FROM (%L) TO (%L)',
                   parent, partition_name, lower_bound, upper_bound);
    RETURN true;
END
$$;

-- The staging tables of this session (cjmd's, `LIKE` the tables) follow the new columns:
-- cjmd makes them again as it needs them; the function below names the closing ones.
DROP TABLE IF EXISTS pg_temp.stage_instances, pg_temp.stage_moments, pg_temp.stage_touchpoints,
                     pg_temp.stage_decisions, pg_temp.stage_personas, pg_temp.closing_instances,
                     pg_temp.closing_moments;
CREATE TEMP TABLE closing_instances (LIKE cjm.instance_rows) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE closing_moments (LIKE cjm.moment_rows) ON COMMIT DELETE ROWS;

-- Sealing moves instance rows whole (`i.*`), which now end with `part`. (A single daemon
-- seals; a shard keeps its closed instances as rows: docs/scaling.md.)
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

-- The views that read the renamed tables, as they were, now reading the summing views.

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

CREATE OR REPLACE VIEW cjm.funnel_by_persona AS
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

CREATE OR REPLACE VIEW cjm.touchpoints AS
    SELECT t.journey, t.stage_index, s.stage, t.touchpoint, t.events, t.customers,
           t.sentiment_sum / nullif(t.sentiment_count, 0) AS avg_sentiment,
           t.revenue, t.persona
    FROM cjm.touchpoint_stats t
    LEFT JOIN cjm.journey_stages s ON s.journey = t.journey AND s.stage_index = t.stage_index
    ORDER BY t.journey, t.stage_index, t.persona COLLATE "C", t.events DESC, t.touchpoint;

CREATE OR REPLACE VIEW cjm.dropoff_hourly AS
SELECT journey, stage_index, stage, date_trunc('hour', minute) AS hour,
       sum(abandoned + advanced)::bigint AS decided,
       sum(abandoned)::bigint AS abandoned,
       sum(abandoned)::double precision / NULLIF(sum(abandoned + advanced), 0) AS drop_off_rate,
       persona
FROM cjm.stage_decisions
GROUP BY journey, stage_index, stage, date_trunc('hour', minute), persona;

CREATE OR REPLACE VIEW cjm.return_time_percentiles AS
    WITH b AS (
        SELECT t.journey, t.persona, t.bucket, t.instances::float8 AS n,
               (sum(t.instances) OVER (PARTITION BY t.journey, t.persona ORDER BY t.bucket))::float8 AS upto,
               (sum(t.instances) OVER (PARTITION BY t.journey, t.persona))::float8 AS total
        FROM cjm.return_time t
        WHERE t.instances > 0
    ), ranked AS (
        SELECT b.journey, b.persona, q.fraction, q.fraction * (b.total - 1) AS x, b.upto - b.n AS before, b.n,
               bounds.lower, bounds.upper
        FROM b CROSS JOIN (VALUES (0.5::float8), (0.9::float8)) AS q(fraction)
        CROSS JOIN LATERAL cjm.duration_bucket_bounds(b.bucket) AS bounds
        WHERE b.upto > floor(q.fraction * (b.total - 1)) AND b.upto - b.n <= ceil(q.fraction * (b.total - 1))
    ), at_rank AS (
        SELECT journey, persona, fraction, x,
               max(lower + (floor(x) - before + 0.5) / n * (upper - lower)) FILTER (WHERE floor(x) >= before) AS lo,
               max(lower + (ceil(x) - before + 0.5) / n * (upper - lower)) FILTER (WHERE ceil(x) < before + n) AS hi
        FROM ranked
        GROUP BY journey, persona, fraction, x
    )
    SELECT journey, persona,
           max(lo + (x - floor(x)) * (hi - lo)) FILTER (WHERE fraction = 0.5) AS median_time_to_return,
           max(lo + (x - floor(x)) * (hi - lo)) FILTER (WHERE fraction = 0.9) AS p90_time_to_return
    FROM at_rank
    GROUP BY journey, persona;

CREATE OR REPLACE VIEW cjm.repeat_loop AS
    SELECT s.journey, p.persona,
           coalesce(r.converted, 0) AS converted,
           coalesce(r.returned, 0) AS returned,
           coalesce(r.converted - r.returned - r.did_not_return, 0) AS pending,
           coalesce(r.did_not_return, 0) AS did_not_return,
           r.returned::double precision / nullif(r.returned + r.did_not_return, 0) AS return_rate,
           q.median_time_to_return,
           q.p90_time_to_return,
           s.repeat_window
    FROM cjm.journey_stages s
    JOIN (SELECT j.journey, '*' AS persona FROM cjm.journey_stages j WHERE j.stage_index = 0
          UNION ALL
          SELECT t.journey, t.persona FROM cjm.repeat_stats t WHERE t.persona <> '*') p ON p.journey = s.journey
    LEFT JOIN cjm.repeat_stats r ON r.journey = s.journey AND r.persona = p.persona
    LEFT JOIN cjm.return_time_percentiles q ON q.journey = s.journey AND q.persona = p.persona
    WHERE s.stage_index = 0
    ORDER BY s.journey_order, p.persona <> '*', p.persona COLLATE "C";

CREATE OR REPLACE VIEW cjm.repeat_triggers AS
    SELECT t.journey, t.event, t.touchpoint, t.returns,
           t.returns::double precision / sum(t.returns) OVER (PARTITION BY t.journey) AS share
    FROM cjm.repeat_trigger_stats t
    JOIN cjm.journey_stages s ON s.journey = t.journey AND s.stage_index = 0
    WHERE t.returns > 0
    ORDER BY s.journey_order, t.returns DESC, t.event COLLATE "C", t.touchpoint COLLATE "C";

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cjm_reader') THEN
        GRANT SELECT ON cjm.funnel_stats, cjm.time_to_next, cjm.touchpoint_stats, cjm.stage_decisions,
                        cjm.repeat_stats, cjm.return_time, cjm.repeat_trigger_stats, cjm.partition_state,
                        cjm.alert_judge_state TO cjm_reader;
    END IF;
END
$$;

-- A shard merges the traits of its own partition's events only (`seq` is numbered per
-- partition: seq % 1024 is the partition; docs/scaling.md). -1: every event in the range.
CREATE FUNCTION cjm.merge_customer_traits(first_seq bigint, last_seq bigint, from_ts timestamptz, to_ts timestamptz,
                                          part integer)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO cjm.customer_traits AS c (customer_id, trait, value, set_at, seq)
    SELECT DISTINCT ON (e.customer_id, t.key) e.customer_id, t.key, t.value, e.ts, e.seq
    FROM cjm.event_rows e
    CROSS JOIN LATERAL (SELECT coalesce(e.traits, e.context -> 'traits') AS traits) s
    CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(s.traits) = 'object' THEN s.traits END) t
    WHERE e.seq BETWEEN first_seq AND last_seq AND e.ts BETWEEN from_ts AND to_ts AND e.event = 'identify'
      AND (part < 0 OR e.seq % 1024 = part)
    ORDER BY e.customer_id, t.key, e.ts DESC, e.seq DESC
    ON CONFLICT (customer_id, trait) DO UPDATE SET value = EXCLUDED.value, set_at = EXCLUDED.set_at, seq = EXCLUDED.seq
    WHERE (EXCLUDED.set_at, EXCLUDED.seq) > (c.set_at, c.seq)
$$;
