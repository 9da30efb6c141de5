-- cjmd schema, version 20: the journey as a cycle (docs/sql.md, "The repeat loop").
--
-- A converted instance returned when its customer's next instance of the journey entered
-- within the journey's repeat_window after the conversion; it is pending until that is
-- decided (the next instance enters, or the watermark passes the window's end), and did
-- not return otherwise. cjmd counts each decision once, as it happens, in running totals
-- like the funnel's: cjm.repeat_loop and cjm.repeat_triggers read a few rows at any history
-- size. Conversions stored before this version are not in the loop (their entering events
-- were not kept with them); `cjmd rebuild` recomputes it from the raw events.

-- The journey's repeat window, mirrored from the configuration like the conversion window.
ALTER TABLE cjm.journey_stages ADD COLUMN repeat_window interval;

-- Per journey and persona ('*': every instance): conversions, and how many of them were
-- decided either way. pending = converted − returned − did_not_return.
CREATE TABLE cjm.repeat_stats (
    journey        text   NOT NULL,
    persona        text   NOT NULL,
    converted      bigint NOT NULL DEFAULT 0,
    returned       bigint NOT NULL DEFAULT 0,
    did_not_return bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (journey, persona)
);
COMMENT ON TABLE cjm.repeat_stats IS
    'Running totals of the repeat loop per journey and persona; read cjm.repeat_loop (docs/sql.md).';

-- Times from a conversion to the customer's return, counted per duration bucket (the
-- buckets of cjm.time_to_next), for the loop's median and 90th percentile.
CREATE TABLE cjm.return_time (
    journey   text    NOT NULL,
    persona   text    NOT NULL,
    bucket    integer NOT NULL,
    instances bigint  NOT NULL,
    PRIMARY KEY (journey, persona, bucket)
);
COMMENT ON TABLE cjm.return_time IS
    'Conversion-to-return times per duration bucket; read cjm.repeat_loop (docs/sql.md).';

-- Returns per journey and the event that opened the returning instance.
CREATE TABLE cjm.repeat_trigger_stats (
    journey    text   NOT NULL,
    event      text   NOT NULL,
    touchpoint text   NOT NULL,
    returns    bigint NOT NULL,
    PRIMARY KEY (journey, event, touchpoint)
);
COMMENT ON TABLE cjm.repeat_trigger_stats IS 'Returns per opening event; read cjm.repeat_triggers (docs/sql.md).';

-- The conversions waiting for their customer's next instance: at most one per customer and
-- journey (the latest instance's). Kept so that a restarted cjmd decides each exactly once.
CREATE TABLE cjm.repeat_pending (
    journey     text        NOT NULL,
    customer_id text        NOT NULL,
    instance    integer     NOT NULL,
    exited_at   timestamptz NOT NULL,
    persona     text        NOT NULL,
    PRIMARY KEY (journey, customer_id)
);
COMMENT ON TABLE cjm.repeat_pending IS
    'Converted instances whose return is not decided yet (docs/semantics.md, "The repeat loop").';

-- The median and 90th percentile of the return times, interpolated within buckets as
-- cjm.time_to_next_percentiles does for the funnel (within 1 %).
CREATE VIEW cjm.return_time_percentiles AS
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

-- Per journey (configured), the row of every instance ('*') and one per persona whose
-- instances converted.
CREATE VIEW cjm.repeat_loop AS
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
COMMENT ON VIEW cjm.repeat_loop IS
    'Per journey and persona: conversions, returns within repeat_window, pending, return rate and time (docs/sql.md).';

-- Which events bring customers back: per journey, the opening events of returning instances.
CREATE VIEW cjm.repeat_triggers AS
    SELECT t.journey, t.event, t.touchpoint, t.returns,
           t.returns::double precision / sum(t.returns) OVER (PARTITION BY t.journey) AS share
    FROM cjm.repeat_trigger_stats t
    JOIN cjm.journey_stages s ON s.journey = t.journey AND s.stage_index = 0
    WHERE t.returns > 0
    ORDER BY s.journey_order, t.returns DESC, t.event COLLATE "C", t.touchpoint COLLATE "C";
COMMENT ON VIEW cjm.repeat_triggers IS
    'Per journey: the events that opened returning instances, with their count and share (docs/sql.md).';

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cjm_reader') THEN
        GRANT SELECT ON cjm.repeat_stats, cjm.return_time, cjm.repeat_trigger_stats, cjm.repeat_pending,
                        cjm.return_time_percentiles, cjm.repeat_loop, cjm.repeat_triggers TO cjm_reader;
    END IF;
END
$$;
