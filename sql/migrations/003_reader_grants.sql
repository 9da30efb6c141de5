-- cjmd schema, version 3: what cjm_reader may read. It can read every view and the
-- analytical tables, and the dead-letter table without its raw bytes (which may hold
-- personal data a dashboard has no business with). It can change nothing.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cjm_reader') THEN
        GRANT USAGE ON SCHEMA cjm TO cjm_reader;
        GRANT SELECT ON cjm.funnel, cjm.funnel_daily, cjm.touchpoints, cjm.exit_points TO cjm_reader;
        GRANT SELECT ON cjm.journey_stages, cjm.events, cjm.journey_instances, cjm.critical_moments,
                        cjm.touchpoint_stats, cjm.touchpoint_customers, cjm.alerts, cjm.engine_state
                     TO cjm_reader;
        GRANT SELECT (id, received_at, source, reason, detail) ON cjm.rejected_events TO cjm_reader;
        GRANT EXECUTE ON FUNCTION cjm.funnel_between(text, timestamptz, timestamptz) TO cjm_reader;
    END IF;
END
$$;
