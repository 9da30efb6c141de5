-- cjmd schema, version 17: what the analytics SDKs send beside properties (docs/http.md).
--
-- An event's `context` and top-level `traits` objects are kept as sent, in two jsonb columns
-- that are NULL for events without them (a NULL costs a bit of the row's null bitmap).
-- The traits of `identify` events are merged, per customer and trait, into
-- cjm.customer_traits: the value of the latest identify by event time (equal times: the
-- later in cjmd's processing order), from `traits`, else `context.traits` (RudderStack).

ALTER TABLE cjm.event_rows ADD COLUMN context jsonb, ADD COLUMN traits jsonb;

CREATE OR REPLACE VIEW cjm.events AS
    SELECT cjm.event_id(e.event_key) AS event_id, e.customer_id, e.ts, e.event, e.touchpoint, e.sentiment, e.revenue, e.properties,
           (SELECT s.name FROM cjm.sources s WHERE s.id = e.source_id) AS source,
           e.received_at, e.seq, e.journey, cjm.stage_map(e.stage_ids) AS stages, e.context, e.traits
    FROM cjm.event_rows e;

CREATE TABLE cjm.customer_traits (
    customer_id text        NOT NULL,
    trait       text        NOT NULL,
    value       jsonb       NOT NULL,
    -- The identify event the value comes from: its time and arrival number.
    set_at      timestamptz NOT NULL,
    seq         bigint      NOT NULL,
    PRIMARY KEY (customer_id, trait)
);
COMMENT ON TABLE cjm.customer_traits IS
    'Each customer''s traits from identify events, the latest by event time per trait (docs/http.md).';

-- Merges the traits of the identify events with arrival numbers in [first_seq, last_seq] and
-- times in [from_ts, to_ts] (the batch's; the times confine the scan to its days).
CREATE FUNCTION cjm.merge_customer_traits(first_seq bigint, last_seq bigint, from_ts timestamptz, to_ts timestamptz)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO cjm.customer_traits AS c (customer_id, trait, value, set_at, seq)
    SELECT DISTINCT ON (e.customer_id, t.key) e.customer_id, t.key, t.value, e.ts, e.seq
    FROM cjm.event_rows e
    CROSS JOIN LATERAL (SELECT coalesce(e.traits, e.context -> 'traits') AS traits) s
    CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(s.traits) = 'object' THEN s.traits END) t
    WHERE e.seq BETWEEN first_seq AND last_seq AND e.ts BETWEEN from_ts AND to_ts AND e.event = 'identify'
    ORDER BY e.customer_id, t.key, e.ts DESC, e.seq DESC
    ON CONFLICT (customer_id, trait) DO UPDATE SET value = EXCLUDED.value, set_at = EXCLUDED.set_at, seq = EXCLUDED.seq
    WHERE (EXCLUDED.set_at, EXCLUDED.seq) > (c.set_at, c.seq)
$$;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cjm_reader') THEN
        GRANT SELECT ON cjm.events, cjm.customer_traits TO cjm_reader;
    END IF;
END
$$;
