-- cjmd schema, version 1. Everything lives in schema cjm (docs/sql.md).
-- Applied in one transaction by `cjmd migrate`; never edit once released.

CREATE SCHEMA IF NOT EXISTS cjm;

-- The journeys of the running configuration, one row per stage. Rewritten from the
-- configuration at start, so views can list stages nobody has reached yet.
CREATE TABLE cjm.journey_stages (
    journey           text        NOT NULL,
    stage_index       integer     NOT NULL,
    stage             text        NOT NULL,
    stage_count       integer     NOT NULL,
    conversion_window interval    NOT NULL,
    abandon_after     interval,
    journey_order     integer     NOT NULL,
    PRIMARY KEY (journey, stage_index)
);

-- Every accepted event. `seq` is the arrival order; `stages` maps journey → matched stage.
CREATE TABLE cjm.events (
    event_id    text             NOT NULL PRIMARY KEY,
    customer_id text             NOT NULL,
    ts          timestamptz      NOT NULL,
    event       text             NOT NULL,
    touchpoint  text             NOT NULL,
    sentiment   double precision,
    revenue     numeric(19, 6),
    properties  jsonb,
    source      text             NOT NULL,
    received_at timestamptz      NOT NULL,
    seq         bigint           NOT NULL,
    journey     text,
    stages      jsonb
);
-- Events arrive roughly in time order: a BRIN index costs almost nothing to maintain and
-- serves restarts (reloading the unapplied tail) and time-range queries.
CREATE INDEX events_ts_brin ON cjm.events USING brin (ts);

-- The dead-letter table (docs/events.md): nothing is dropped silently.
CREATE TABLE cjm.rejected_events (
    id          bigserial   PRIMARY KEY,
    received_at timestamptz NOT NULL,
    source      text        NOT NULL,
    reason      text        NOT NULL CHECK (reason IN ('invalid_utf8', 'invalid_json', 'not_an_object',
                    'missing_field', 'invalid_field', 'ts_out_of_range', 'line_too_long')),
    detail      text        NOT NULL,
    raw         bytea       NOT NULL
);
CREATE INDEX rejected_events_received_at ON cjm.rejected_events (received_at);

-- One row per journey instance (docs/sql.md). Stage-indexed arrays are 1-based in SQL:
-- reached_at[k + 1] is the reach time of stage k.
CREATE TABLE cjm.journey_instances (
    journey               text               NOT NULL,
    customer_id           text               NOT NULL,
    instance              integer            NOT NULL,
    entered_at            timestamptz        NOT NULL,
    stage_index           integer            NOT NULL,
    stage                 text               NOT NULL,
    reached_at            timestamptz[]      NOT NULL,
    status                text               NOT NULL CHECK (status IN ('active', 'abandoned', 'converted', 'expired')),
    last_seen             timestamptz        NOT NULL,
    exited_at             timestamptz,
    last_event            text               NOT NULL,
    last_touchpoint       text               NOT NULL,
    stage_events          integer[]          NOT NULL,
    stage_sentiment_count integer[]          NOT NULL,
    stage_sentiment_sum   double precision[] NOT NULL,
    stage_revenue         numeric(19, 6)[]   NOT NULL,
    pain_points           jsonb              NOT NULL DEFAULT '[]',
    moments               integer            NOT NULL DEFAULT 0,
    PRIMARY KEY (journey, customer_id, instance)
);
-- Open instances are what a restarting engine loads.
CREATE INDEX journey_instances_open ON cjm.journey_instances (journey) WHERE exited_at IS NULL;
CREATE INDEX journey_instances_entered ON cjm.journey_instances (journey, entered_at);

-- Critical moments: who abandoned where, after what (docs/semantics.md, docs/sql.md).
CREATE TABLE cjm.critical_moments (
    journey         text        NOT NULL,
    customer_id     text        NOT NULL,
    instance        integer     NOT NULL,
    moment          integer     NOT NULL,
    stage_index     integer     NOT NULL,
    stage           text        NOT NULL,
    reason          text        NOT NULL CHECK (reason IN ('inactive', 'window_expired')),
    last_event      text        NOT NULL,
    last_touchpoint text        NOT NULL,
    last_seen       timestamptz NOT NULL,
    time_in_stage   interval    NOT NULL,
    pain_points     jsonb       NOT NULL DEFAULT '[]',
    detected_at     timestamptz NOT NULL,
    recovered_at    timestamptz,
    PRIMARY KEY (journey, customer_id, instance, moment)
);
CREATE INDEX critical_moments_detected ON cjm.critical_moments (journey, detected_at);

-- Activity attributed to (journey, stage, touchpoint), kept additive so the views are cheap.
CREATE TABLE cjm.touchpoint_stats (
    journey         text             NOT NULL,
    stage_index     integer          NOT NULL,
    touchpoint      text             NOT NULL,
    events          bigint           NOT NULL,
    sentiment_count bigint           NOT NULL,
    sentiment_sum   double precision NOT NULL,
    revenue         numeric(19, 6)   NOT NULL,
    PRIMARY KEY (journey, stage_index, touchpoint)
);
CREATE TABLE cjm.touchpoint_customers (
    journey     text    NOT NULL,
    stage_index integer NOT NULL,
    touchpoint  text    NOT NULL,
    customer_id text    NOT NULL,
    PRIMARY KEY (journey, stage_index, touchpoint, customer_id)
);

-- Drop-off spike alerts (docs/alerts.md); times are event times.
CREATE TABLE cjm.alerts (
    id            bigserial        PRIMARY KEY,
    journey       text             NOT NULL,
    stage_index   integer          NOT NULL,
    stage         text             NOT NULL,
    window_start  timestamptz      NOT NULL,
    window_end    timestamptz      NOT NULL,
    decided       integer          NOT NULL,
    rate          double precision NOT NULL,
    baseline_rate double precision NOT NULL,
    z             double precision,
    fired_at      timestamptz      NOT NULL,
    resolved_at   timestamptz
);

-- The engine's position: committed in the same transaction as each batch.
CREATE TABLE cjm.engine_state (
    id             integer     PRIMARY KEY CHECK (id = 1),
    watermark      timestamptz,
    max_event_time timestamptz,
    pending_from   timestamptz,
    next_seq       bigint      NOT NULL,
    updated_at     timestamptz NOT NULL
);
INSERT INTO cjm.engine_state (id, next_seq, updated_at) VALUES (1, 1, now());

-- Read positions of tailed files (docs/reliability.md), committed with the events read up to them.
CREATE TABLE cjm.source_checkpoints (
    source      text        NOT NULL,
    path        text        NOT NULL,
    device      bigint      NOT NULL,
    inode       bigint      NOT NULL,
    fingerprint text        NOT NULL,
    "offset"    bigint      NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (source, device, inode)
);
