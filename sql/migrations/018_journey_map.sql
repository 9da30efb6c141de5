-- cjmd schema, version 18: the to-be map (docs/sql.md, "cjm.journey_map").
--
-- A stage's target (`target:` in the configuration) is mirrored into cjm.journey_stages
-- with the rest of the stage; the target conversion is numeric, as written, so that
-- ceil(0.55 × 200) is 110.
ALTER TABLE cjm.journey_stages
    ADD COLUMN target_step_conversion numeric CHECK (target_step_conversion BETWEEN 0 AND 1),
    ADD COLUMN target_median_time_to_next interval;

-- Per journey, persona ('*': every customer; personas come with their own view) and stage:
-- the funnel as it is beside the journey as it should be, and what reaching each target
-- would bring. From cjm.funnel's running totals, so flat in history.
CREATE VIEW cjm.journey_map AS
    WITH f AS (
        SELECT f.journey, f.stage_index, f.stage, f.reached, f.step_conversion, f.median_time_to_next, f.drop_off,
               lead(f.reached) OVER w AS reached_next,
               last_value(f.revenue) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS revenue_last,
               s.target_step_conversion, s.target_median_time_to_next, s.journey_order
        FROM cjm.funnel f
        JOIN cjm.journey_stages s ON s.journey = f.journey AND s.stage_index = f.stage_index
        WINDOW w AS (PARTITION BY f.journey ORDER BY f.stage_index)
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
    SELECT o.journey, '*'::text AS persona, o.stage_index, o.stage, o.reached,
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
                THEN row_number() OVER (PARTITION BY o.journey, (o.target_step_conversion IS NOT NULL)
                                        ORDER BY o.opportunity_revenue DESC NULLS LAST, o.missing_to_target DESC,
                                                 o.stage_index) END AS opportunity_rank
    FROM o
    ORDER BY o.journey_order, o.stage_index;

COMMENT ON VIEW cjm.journey_map IS
    'The funnel beside each stage''s target (the to-be map) and what reaching it would bring (docs/sql.md).';

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cjm_reader') THEN
        GRANT SELECT ON cjm.journey_map TO cjm_reader;
    END IF;
END
$$;
