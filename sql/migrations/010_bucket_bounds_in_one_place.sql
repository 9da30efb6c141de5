-- The duration-bucket formula in one place: cjm.time_to_next_percentiles reads each bucket's
-- bounds from cjm.duration_bucket_bounds (migration 005) instead of repeating the formula.
-- cjmd's Swift DurationBuckets computes cjm.duration_bucket with the same floating-point
-- operations (the engine needs it without a round trip); a test holds the two equal.
-- Same columns, same values: the dependent cjm.funnel stays as it is.
CREATE OR REPLACE VIEW cjm.time_to_next_percentiles AS
    WITH b AS (
        SELECT t.journey, t.stage_index, t.bucket, t.instances::float8 AS n,
               (sum(t.instances) OVER (PARTITION BY t.journey, t.stage_index ORDER BY t.bucket))::float8 AS upto,
               (sum(t.instances) OVER (PARTITION BY t.journey, t.stage_index))::float8 AS total
        FROM cjm.time_to_next t
        WHERE t.instances > 0
    ), ranked AS (
        SELECT b.journey, b.stage_index, q.fraction, q.fraction * (b.total - 1) AS x, b.upto - b.n AS before, b.n,
               bounds.lower, bounds.upper
        FROM b CROSS JOIN (VALUES (0.5::float8), (0.9::float8)) AS q(fraction)
        CROSS JOIN LATERAL cjm.duration_bucket_bounds(b.bucket) AS bounds
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

-- The views' own descriptions name the documentation in the repository.
COMMENT ON VIEW cjm.funnel IS
    'One row per journey and stage over all instances (docs/sql.md), from running totals; medians within 1 %.';
