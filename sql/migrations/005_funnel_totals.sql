-- cjmd schema, version 5: running funnel totals, so that cjm.funnel costs the same at any
-- history size. cjmd adds each batch's changes in the batch's transaction; the backfill
-- below computes them from the instances of a database created before this version.

-- Per journey and stage: instances that reached it, distinct customers whose furthest stage
-- over all their instances is at or past it, and instances at it (as their furthest stage)
-- by status.
CREATE TABLE cjm.funnel_stats (
    journey     text    NOT NULL,
    stage_index integer NOT NULL,
    reached     bigint  NOT NULL DEFAULT 0,
    customers   bigint  NOT NULL DEFAULT 0,
    active      bigint  NOT NULL DEFAULT 0,
    abandoned   bigint  NOT NULL DEFAULT 0,
    expired     bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (journey, stage_index)
);

-- Bucket b >= 0 holds durations in [1.01^b - 1, 1.01^(b+1) - 1) seconds; negative durations
-- (a late event can advance an instance before its previous reach time) mirror them. A value
-- read back from its bucket is within 1 % of itself plus 0.01 s. cjmd computes the same in
-- Swift (DurationBuckets), with the same floating-point operations.
CREATE FUNCTION cjm.duration_bucket(seconds double precision) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN seconds >= 0 THEN floor(ln(1 + seconds) / ln(1.01::float8))::integer
                ELSE -1 - floor(ln(1 - seconds) / ln(1.01::float8))::integer END
$$;

CREATE FUNCTION cjm.duration_bucket_bounds(bucket integer, OUT lower double precision, OUT upper double precision)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN bucket >= 0 THEN power(1.01::float8, bucket) - 1 ELSE 1 - power(1.01::float8, -bucket) END,
           CASE WHEN bucket >= 0 THEN power(1.01::float8, bucket + 1) - 1 ELSE 1 - power(1.01::float8, -bucket - 1) END
$$;

-- Per journey, stage k and duration bucket: instances whose time from reaching k to
-- reaching k + 1 falls in the bucket.
CREATE TABLE cjm.time_to_next (
    journey     text    NOT NULL,
    stage_index integer NOT NULL,
    bucket      integer NOT NULL,
    instances   bigint  NOT NULL,
    PRIMARY KEY (journey, stage_index, bucket)
);

-- Per journey and stage: the median and 90th percentile of the time to the next stage, as
-- percentile_cont would give them, from the buckets: the values of a bucket are taken as
-- spread evenly over it, and the two ranks around the position are interpolated. Within
-- 1 % (plus 0.01 s) of the exact percentiles. One pass over the buckets for all stages.
CREATE VIEW cjm.time_to_next_percentiles AS
    WITH b AS (
        SELECT t.journey, t.stage_index, t.bucket, t.instances::float8 AS n,
               (sum(t.instances) OVER (PARTITION BY t.journey, t.stage_index ORDER BY t.bucket))::float8 AS upto,
               (sum(t.instances) OVER (PARTITION BY t.journey, t.stage_index))::float8 AS total
        FROM cjm.time_to_next t
        WHERE t.instances > 0
    ), ranked AS (
        SELECT b.journey, b.stage_index, q.fraction, q.fraction * (b.total - 1) AS x, b.upto - b.n AS before, b.n,
               CASE WHEN b.bucket >= 0 THEN power(1.01::float8, b.bucket) - 1
                    ELSE 1 - power(1.01::float8, -b.bucket) END AS lower,
               CASE WHEN b.bucket >= 0 THEN power(1.01::float8, b.bucket + 1) - 1
                    ELSE 1 - power(1.01::float8, -b.bucket - 1) END AS upper
        FROM b CROSS JOIN (VALUES (0.5::float8), (0.9::float8)) AS q(fraction)
        -- Only the buckets holding one of the two ranks around the position.
        WHERE b.upto > floor(q.fraction * (b.total - 1)) AND b.upto - b.n <= ceil(q.fraction * (b.total - 1))
    ), at_rank AS (
        SELECT journey, stage_index, fraction, x,
               max(lower + (floor(x) - before + 0.5) / n * (upper - lower)) FILTER (WHERE floor(x) >= before) AS lo,
               max(lower + (ceil(x) - before + 0.5) / n * (upper - lower)) FILTER (WHERE ceil(x) < before + n) AS hi
        FROM ranked
        GROUP BY journey, stage_index, fraction, x
    )
    SELECT journey, stage_index,
           max(lo + (x - floor(x)) * (hi - lo)) FILTER (WHERE fraction = 0.5) AS median_time_to_next,
           max(lo + (x - floor(x)) * (hi - lo)) FILTER (WHERE fraction = 0.9) AS p90_time_to_next
    FROM at_rank
    GROUP BY journey, stage_index;

-- Backfill from the instances stored so far.
INSERT INTO cjm.funnel_stats (journey, stage_index, reached, customers, active, abandoned, expired)
SELECT s.journey, s.stage_index,
       count(*) FILTER (WHERE i.stage_index >= s.stage_index),
       count(DISTINCT i.customer_id) FILTER (WHERE i.stage_index >= s.stage_index),
       count(*) FILTER (WHERE i.stage_index = s.stage_index AND i.status = 'active'),
       count(*) FILTER (WHERE i.stage_index = s.stage_index AND i.status = 'abandoned'),
       count(*) FILTER (WHERE i.stage_index = s.stage_index AND i.status = 'expired')
FROM cjm.journey_stages s JOIN cjm.journey_instances i ON i.journey = s.journey
GROUP BY s.journey, s.stage_index;

INSERT INTO cjm.time_to_next (journey, stage_index, bucket, instances)
SELECT s.journey, s.stage_index,
       cjm.duration_bucket(extract(epoch FROM i.reached_at[s.stage_index + 2] - i.reached_at[s.stage_index + 1])::float8),
       count(*)
FROM cjm.journey_stages s JOIN cjm.journey_instances i ON i.journey = s.journey AND i.stage_index > s.stage_index
GROUP BY 1, 2, 3;

-- cjm.funnel from the running totals (same columns as before). Medians and 90th
-- percentiles come from the duration buckets; cjm.funnel_between still computes them
-- exactly over the instances of its period.
DROP VIEW cjm.funnel;
CREATE VIEW cjm.funnel AS
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
    LEFT JOIN cjm.funnel_stats f ON f.journey = s.journey AND f.stage_index = s.stage_index
    LEFT JOIN cjm.time_to_next_percentiles p ON p.journey = s.journey AND p.stage_index = s.stage_index
    LEFT JOIN (SELECT journey, stage_index, sum(events) AS events,
                      sum(sentiment_sum) / nullif(sum(sentiment_count), 0) AS avg_sentiment,
                      sum(revenue) AS revenue
               FROM cjm.touchpoint_stats GROUP BY journey, stage_index) t
           ON t.journey = s.journey AND t.stage_index = s.stage_index
    WINDOW w AS (PARTITION BY s.journey ORDER BY s.stage_index)
    ORDER BY s.journey_order, s.stage_index;

COMMENT ON VIEW cjm.funnel IS
    'One row per journey and stage over all instances (SPEC §4), from running totals; medians within 1 %.';

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cjm_reader') THEN
        GRANT SELECT ON cjm.funnel, cjm.funnel_stats, cjm.time_to_next, cjm.time_to_next_percentiles TO cjm_reader;
        GRANT EXECUTE ON FUNCTION cjm.duration_bucket(double precision), cjm.duration_bucket_bounds(integer)
                     TO cjm_reader;
    END IF;
END
$$;
