-- cjmd schema, version 13: raw events and dead letters kept in one partition per day, so
-- that retention (docs/storage.md) drops whole days — no DELETE, no bloat, no vacuum debt.
--
-- cjm.events is partitioned by event time (`ts`), cjm.rejected_events by `received_at`; each
-- day (UTC) is one table, cjm.events_YYYYMMDD and cjm.rejected_events_YYYYMMDD, made by
-- cjm.ensure_day_partition before the first row of its day is written. A primary key of a
-- partitioned table must include the partition key: events are unique by (event_id, ts).
-- A repeat of an event (a client's retry, a file read again) is the same line with the
-- same time, and meets the stored copy in its day's partition (docs/events.md).
--
-- The existing rows are moved in this migration's transaction: about as long as a COPY of
-- the table (docs/storage.md gives the figure).

-- The name of `parent`'s partition of `day`.
CREATE FUNCTION cjm.day_partition_name(parent text, day date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT parent || '_' || to_char(day, 'YYYYMMDD') $$;

-- Creates `parent`'s partition of `day` (UTC) unless it exists; true when it was created.
-- Created alone and then attached: ATTACH PARTITION takes a SHARE UPDATE EXCLUSIVE lock on
-- the parent, which neither readers nor writers of other days wait for (CREATE TABLE ...
-- PARTITION OF would take an ACCESS EXCLUSIVE one).
CREATE FUNCTION cjm.ensure_day_partition(parent text, day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    partition_name text := cjm.day_partition_name(parent, day);
    lower_bound    text := to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00';
    upper_bound    text := to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00';
BEGIN
    IF parent NOT IN ('events', 'rejected_events') THEN
        RAISE EXCEPTION 'cjm.% is not partitioned by day', parent;
    END IF;
    IF to_regclass(format('cjm.%I', partition_name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE cjm.%I (LIKE cjm.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', partition_name, parent);
    EXECUTE format('ALTER TABLE cjm.%I ATTACH PARTITION cjm.%I FOR VALUES FROM (%L) TO (%L)',
                   parent, partition_name, lower_bound, upper_bound);
    RETURN true;
END
$$;

-- The days `parent` has a partition for, oldest first.
CREATE FUNCTION cjm.day_partitions(parent text) RETURNS TABLE (day date, relation text)
LANGUAGE sql STABLE AS $$
    SELECT to_date(right(c.relname, 8), 'YYYYMMDD'), c.relname::text
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = format('cjm.%I', parent)::regclass
      AND c.relname ~ ('^' || parent || '_[0-9]{8}$')
    ORDER BY 1
$$;

-- Drops `parent`'s partitions whose whole day lies before `horizon`, the oldest first and
-- at most `max_partitions` of them (each holds about six locks until the transaction ends;
-- PostgreSQL's lock table has room for 64 per connection by default); returns the days
-- dropped. The caller sets lock_timeout: dropping a partition locks its parent for a moment.
CREATE FUNCTION cjm.drop_day_partitions(parent text, horizon timestamptz, max_partitions integer DEFAULT 2147483647)
RETURNS SETOF date
LANGUAGE plpgsql AS $$
DECLARE
    p record;
    dropped integer := 0;
BEGIN
    FOR p IN SELECT * FROM cjm.day_partitions(parent) LOOP
        EXIT WHEN (to_char(p.day + 1, 'YYYY-MM-DD') || ' 00:00:00+00')::timestamptz > horizon
               OR dropped >= max_partitions;
        dropped := dropped + 1;
        EXECUTE format('DROP TABLE cjm.%I', p.relation);
        RETURN NEXT p.day;
    END LOOP;
END
$$;

-- What retention has removed: rebuild refuses to recompute from a history with a hole
-- (docs/storage.md), and cjm.storage shows where the retained events begin.
CREATE TABLE cjm.retention_state (
    id                   integer     PRIMARY KEY CHECK (id = 1),
    events_dropped_before timestamptz,   -- every event before this time was dropped
    rejected_dropped_before timestamptz, -- every dead letter received before this was dropped
    updated_at           timestamptz NOT NULL
);
INSERT INTO cjm.retention_state (id, updated_at) VALUES (1, now());

-- Raw events, partitioned.
ALTER TABLE cjm.events RENAME TO events_unpartitioned;
ALTER INDEX cjm.events_pkey RENAME TO events_unpartitioned_pkey;
ALTER INDEX cjm.events_ts_brin RENAME TO events_unpartitioned_ts_brin;
ALTER INDEX cjm.events_seq_brin RENAME TO events_unpartitioned_seq_brin;
CREATE TABLE cjm.events (
    event_id    text             NOT NULL,
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
    stages      jsonb,
    PRIMARY KEY (event_id, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX events_ts_brin ON cjm.events USING brin (ts);
CREATE INDEX events_seq_brin ON cjm.events USING brin (seq);
SELECT cjm.ensure_day_partition('events', d)
FROM (SELECT DISTINCT (ts AT TIME ZONE 'UTC')::date AS d FROM cjm.events_unpartitioned) days;
INSERT INTO cjm.events SELECT event_id, customer_id, ts, event, touchpoint, sentiment, revenue, properties,
                              source, received_at, seq, journey, stages
FROM cjm.events_unpartitioned ORDER BY seq;
DROP TABLE cjm.events_unpartitioned;

-- Dead letters, partitioned; `retention` gains its own reason.
ALTER TABLE cjm.rejected_events RENAME TO rejected_events_unpartitioned;
ALTER INDEX cjm.rejected_events_pkey RENAME TO rejected_events_unpartitioned_pkey;
ALTER INDEX cjm.rejected_events_received_at RENAME TO rejected_events_unpartitioned_received_at;
CREATE TABLE cjm.rejected_events (
    id          bigint      NOT NULL,
    received_at timestamptz NOT NULL,
    source      text        NOT NULL,
    reason      text        NOT NULL CONSTRAINT rejected_events_known_reason
                    CHECK (reason IN ('invalid_utf8', 'invalid_json', 'not_an_object', 'missing_field',
                                      'invalid_field', 'ts_out_of_range', 'line_too_long', 'behind_retention')),
    detail      text        NOT NULL,
    raw         bytea       NOT NULL,
    PRIMARY KEY (received_at, id)
) PARTITION BY RANGE (received_at);
ALTER SEQUENCE cjm.rejected_events_id_seq OWNED BY cjm.rejected_events.id;
ALTER TABLE cjm.rejected_events ALTER COLUMN id SET DEFAULT nextval('cjm.rejected_events_id_seq');
SELECT cjm.ensure_day_partition('rejected_events', d)
FROM (SELECT DISTINCT (received_at AT TIME ZONE 'UTC')::date AS d FROM cjm.rejected_events_unpartitioned) days;
INSERT INTO cjm.rejected_events SELECT id, received_at, source, reason, detail, raw
FROM cjm.rejected_events_unpartitioned ORDER BY id;
DROP TABLE cjm.rejected_events_unpartitioned;

-- One row per table, a partitioned table's partitions added into it (rows counted in the
-- partitions: ANALYZE of a partitioned table estimates its rows too); `partitions` and
-- `retained_from`, the first day still held, for the tables partitioned by day.
DROP VIEW cjm.storage;
CREATE VIEW cjm.storage AS
WITH tables AS (
    SELECT coalesce(parent.relname, c.relname)::text AS relation,
           c.oid,
           c.relkind,
           c.reltuples,
           CASE WHEN parent.relname IS NOT NULL THEN to_date(right(c.relname, 8), 'YYYYMMDD') END AS day
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
    LEFT JOIN pg_class parent ON parent.oid = i.inhparent
    WHERE n.nspname = 'cjm' AND c.relkind IN ('r', 'p', 'm')
)
SELECT relation,
       sum(greatest(reltuples, 0)) FILTER (WHERE relkind <> 'p')::bigint AS rows_estimate,
       sum(pg_table_size(oid))::bigint              AS table_bytes,
       sum(pg_indexes_size(oid))::bigint            AS index_bytes,
       sum(pg_total_relation_size(oid))::bigint     AS total_bytes,
       count(day)::integer                          AS partitions,
       (min(day)::timestamp AT TIME ZONE 'UTC')     AS retained_from
FROM tables
GROUP BY relation;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cjm_reader') THEN
        GRANT SELECT ON cjm.storage, cjm.events, cjm.retention_state TO cjm_reader;
        GRANT SELECT (id, received_at, source, reason, detail) ON cjm.rejected_events TO cjm_reader;
    END IF;
END
$$;
