-- cjmd schema, version 15: the journey of closed instances sealed in compressed chunks
-- (docs/storage.md), read as before.
--
-- An instance that has exited never changes again, nor do its critical moments. cjmd moves
-- closed instances, with their moments, out of the row tables into cjm.sealed_instances and
-- cjm.sealed_moments:
-- a few hundred per row, as arrays of rows that PostgreSQL compresses (lz4), which takes
-- about a seventh of the disk of one row each. The row tables keep the open instances and
-- those closed since the last seal: cjm.instance_rows and cjm.moment_rows (the tables
-- cjm.journey_instances and cjm.critical_moments were). cjm.journey_instances and
-- cjm.critical_moments become views over both, with the same columns and values.

ALTER TABLE cjm.journey_instances RENAME TO instance_rows;
ALTER INDEX cjm.journey_instances_pkey RENAME TO instance_rows_pkey;
ALTER INDEX cjm.journey_instances_open RENAME TO instance_rows_open;
ALTER INDEX cjm.journey_instances_entered RENAME TO instance_rows_entered;
CREATE INDEX instance_rows_closed ON cjm.instance_rows (journey) WHERE exited_at IS NOT NULL;
ALTER TABLE cjm.critical_moments RENAME TO moment_rows;
ALTER INDEX cjm.critical_moments_pkey RENAME TO moment_rows_pkey;
ALTER INDEX cjm.critical_moments_detected RENAME TO moment_rows_detected;
COMMENT ON TABLE cjm.instance_rows IS
    'Open instances and those closed since the last seal; read cjm.journey_instances (docs/storage.md).';
COMMENT ON TABLE cjm.moment_rows IS
    'Critical moments of the instances in cjm.instance_rows; read cjm.critical_moments (docs/storage.md).';

-- A sealed instance and a sealed moment: the columns of their tables but `journey`.
CREATE TYPE cjm.sealed_instance AS (
    customer_id text, instance integer, entered_at timestamptz, stage_index integer, stage text,
    reached_at timestamptz[], status text, last_seen timestamptz, exited_at timestamptz, last_event text,
    last_touchpoint text, stage_events integer[], stage_sentiment_count integer[],
    stage_sentiment_sum double precision[], stage_revenue numeric(19, 6)[], pain_points jsonb, moments integer,
    first_touches text);
CREATE TYPE cjm.sealed_moment AS (
    customer_id text, instance integer, moment integer, stage_index integer, stage text, reason text,
    last_event text, last_touchpoint text, last_seen timestamptz, time_in_stage interval, pain_points jsonb,
    detected_at timestamptz, recovered_at timestamptz);

-- Arrays of rows (not jsonb): nothing to parse or print when sealing and reading, and
-- about 44 bytes per instance with its moments once compressed, measured on 1M events.
CREATE TABLE cjm.sealed_instances (
    id            bigint                 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    journey       text                   NOT NULL,
    entered_from  timestamptz            NOT NULL,
    entered_to    timestamptz            NOT NULL,
    instances     integer                NOT NULL,
    instance_rows cjm.sealed_instance[]  COMPRESSION lz4 NOT NULL
);
CREATE TABLE cjm.sealed_moments (
    id            bigint                 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    journey       text                   NOT NULL,
    detected_from timestamptz            NOT NULL,
    detected_to   timestamptz            NOT NULL,
    moments       integer                NOT NULL,
    moment_rows   cjm.sealed_moment[]    COMPRESSION lz4 NOT NULL
);
CREATE INDEX sealed_instances_entered ON cjm.sealed_instances (journey, entered_from, entered_to);
CREATE INDEX sealed_moments_detected ON cjm.sealed_moments (journey, detected_from, detected_to);
COMMENT ON TABLE cjm.sealed_instances IS 'Closed instances, a chunk per row; read cjm.journey_instances.';
COMMENT ON TABLE cjm.sealed_moments IS 'Critical moments of closed instances, a chunk per row; read cjm.critical_moments.';

-- The staging tables of a writer's session (cjmd makes them ON COMMIT DELETE ROWS when it
-- connects); the function below names them, so they exist while it is created.
CREATE TEMP TABLE IF NOT EXISTS closing_instances (LIKE cjm.instance_rows) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS closing_moments (LIKE cjm.moment_rows) ON COMMIT DELETE ROWS;

-- Seals every closed instance, with its moments, into chunks of at most `chunk_size`
-- instances (by journey, in order of entry) and moments (in order of detection); returns how many were sealed. The closed
-- instances are those of cjm.instance_rows and those the caller staged in
-- pg_temp.closing_instances (with their moments, new or changed, in pg_temp.closing_moments):
-- cjmd stages the instances that close in a derived write instead of writing them as rows
-- only to move them at once. A staged row replaces its key's row in the tables.
CREATE FUNCTION cjm.seal_closed_instances(chunk_size integer) RETURNS bigint
LANGUAGE sql AS $$
    WITH moved_closed AS (
        DELETE FROM cjm.instance_rows i
        WHERE i.exited_at IS NOT NULL
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

CREATE VIEW cjm.journey_instances AS
    SELECT i.journey, i.customer_id, i.instance, i.entered_at, i.stage_index, i.stage, i.reached_at, i.status,
           i.last_seen, i.exited_at, i.last_event, i.last_touchpoint, i.stage_events, i.stage_sentiment_count,
           i.stage_sentiment_sum, i.stage_revenue, i.pain_points, i.moments, i.first_touches
    FROM cjm.instance_rows i
    UNION ALL
    SELECT s.journey, r.customer_id, r.instance, r.entered_at, r.stage_index, r.stage, r.reached_at, r.status,
           r.last_seen, r.exited_at, r.last_event, r.last_touchpoint, r.stage_events, r.stage_sentiment_count,
           r.stage_sentiment_sum, r.stage_revenue, r.pain_points, r.moments, r.first_touches
    FROM cjm.sealed_instances s CROSS JOIN LATERAL unnest(s.instance_rows) AS r;
COMMENT ON VIEW cjm.journey_instances IS 'One row per journey instance (docs/sql.md): open, closed and sealed.';

CREATE VIEW cjm.critical_moments AS
    SELECT m.journey, m.customer_id, m.instance, m.moment, m.stage_index, m.stage, m.reason, m.last_event,
           m.last_touchpoint, m.last_seen, m.time_in_stage, m.pain_points, m.detected_at, m.recovered_at
    FROM cjm.moment_rows m
    UNION ALL
    SELECT s.journey, r.customer_id, r.instance, r.moment, r.stage_index, r.stage, r.reason, r.last_event,
           r.last_touchpoint, r.last_seen, r.time_in_stage, r.pain_points, r.detected_at, r.recovered_at
    FROM cjm.sealed_moments s CROSS JOIN LATERAL unnest(s.moment_rows) AS r;
COMMENT ON VIEW cjm.critical_moments IS 'Critical moments (docs/sql.md), of open, closed and sealed instances.';

-- The views that read the tables follow them by reference: point them at the new views.
CREATE OR REPLACE VIEW cjm.funnel_daily AS
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

CREATE OR REPLACE VIEW cjm.exit_points AS
    SELECT m.journey, m.stage_index, m.stage, m.last_event, m.last_touchpoint,
           count(*)                                                               AS abandonments,
           count(m.recovered_at)                                                  AS recovered,
           count(*)::double precision / sum(count(*)) OVER (PARTITION BY m.journey, m.stage_index) AS share,
           rank() OVER (PARTITION BY m.journey, m.stage_index ORDER BY count(*) DESC)            AS rank
    FROM cjm.critical_moments m
    WHERE m.reason = 'inactive'
    GROUP BY m.journey, m.stage_index, m.stage, m.last_event, m.last_touchpoint
    ORDER BY m.journey, m.stage_index, abandonments DESC, m.last_event, m.last_touchpoint;

-- What a database of an earlier version holds closed is sealed now (nothing staged).
SELECT cjm.seal_closed_instances(1024);

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cjm_reader') THEN
        GRANT SELECT ON cjm.journey_instances, cjm.critical_moments, cjm.instance_rows, cjm.moment_rows,
                        cjm.sealed_instances, cjm.sealed_moments TO cjm_reader;
    END IF;
END
$$;
