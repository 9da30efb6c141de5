-- cjmd schema, version 4: drop-off spike alerts (docs/alerts.md).

-- Per journey, stage and minute of event time: the instances decided at the stage —
-- abandoned there (flagged inactive, or expired unflagged) or advanced from it. The detector
-- compares windows of these counts; a restarted daemon reloads the minutes it still needs.
-- Also a time series for dashboards (see cjm.dropoff_hourly).
CREATE TABLE cjm.stage_decisions (
    journey     text        NOT NULL,
    stage_index integer     NOT NULL,
    stage       text        NOT NULL,
    minute      timestamptz NOT NULL,
    abandoned   bigint      NOT NULL,
    advanced    bigint      NOT NULL,
    PRIMARY KEY (journey, stage_index, minute)
);

-- One row per alert episode: written when it fires, updated when it resolves.
ALTER TABLE cjm.alerts
    ADD COLUMN abandoned        integer,
    ADD COLUMN baseline_decided integer,
    -- Start of the current calm period while firing (cjmd's own bookkeeping: a restarted
    -- daemon resolves at the same event time as an uninterrupted one).
    ADD COLUMN calm_since       timestamptz;
CREATE UNIQUE INDEX alerts_episode ON cjm.alerts (journey, stage_index, fired_at);
CREATE INDEX alerts_firing ON cjm.alerts (journey, stage_index) WHERE resolved_at IS NULL;

-- The last minute boundary the detector evaluated, committed with every batch.
ALTER TABLE cjm.engine_state ADD COLUMN alerts_evaluated_through timestamptz;

-- Hourly drop-off per stage, from the same counts the detector uses.
CREATE VIEW cjm.dropoff_hourly AS
SELECT journey, stage_index, stage, date_trunc('hour', minute) AS hour,
       sum(abandoned + advanced)::bigint AS decided,
       sum(abandoned)::bigint AS abandoned,
       sum(abandoned)::double precision / NULLIF(sum(abandoned + advanced), 0) AS drop_off_rate
FROM cjm.stage_decisions
GROUP BY journey, stage_index, stage, date_trunc('hour', minute);

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cjm_reader') THEN
        GRANT SELECT ON cjm.stage_decisions, cjm.dropoff_hourly TO cjm_reader;
    END IF;
END
$$;
