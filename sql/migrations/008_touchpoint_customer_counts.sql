-- cjmd schema, version 8: distinct customers per touchpoint as a running count.
--
-- Until now `cjm.touchpoints.customers` counted rows of `cjm.touchpoint_customers`, one per
-- (journey, stage, touchpoint, customer): about one row per event, each inserted into a
-- four-column key, which made it the largest write after the events themselves, and a
-- count over it per view row. Now the engine knows which (stage, touchpoint) pairs each
-- customer has met in each journey, adds one to `touchpoint_stats.customers` when a
-- customer meets a pair for the first time, and records that first meeting on the instance
-- it happened in (`first_touches`), in the same transaction. A restarted engine reads the
-- pairs back from the instances, so a customer is never counted twice, however long ago
-- they were last seen.
--
-- `first_touches` is bookkeeping, written for the engine to read back fast: each pair as
-- `stage_index:bytes:touchpoint`, back to back, where `bytes` is the touchpoint's length in
-- UTF-8 (so any touchpoint text stays apart from the next pair), e.g. `0:3:web1:5:email`.

ALTER TABLE cjm.touchpoint_stats ADD COLUMN customers bigint NOT NULL DEFAULT 0;

ALTER TABLE cjm.journey_instances ADD COLUMN first_touches text NOT NULL DEFAULT '';

COMMENT ON COLUMN cjm.journey_instances.first_touches IS
    'The (stage, touchpoint) pairs the customer met for the first time in this journey during this instance, as stage_index:bytes:touchpoint back to back (bytes: the touchpoint''s UTF-8 length)';
COMMENT ON COLUMN cjm.touchpoint_stats.customers IS
    'Distinct customers whose events were attributed to this stage and touchpoint';

UPDATE cjm.touchpoint_stats t SET customers = c.n
FROM (SELECT journey, stage_index, touchpoint, count(*) AS n
      FROM cjm.touchpoint_customers GROUP BY 1, 2, 3) c
WHERE t.journey = c.journey AND t.stage_index = c.stage_index AND t.touchpoint = c.touchpoint;

-- Existing pairs go to each customer's latest instance: the engine reads the union over a
-- customer's instances, so which one holds them does not matter.
WITH latest AS (
    SELECT journey, customer_id, max(instance) AS instance FROM cjm.journey_instances GROUP BY 1, 2
), pairs AS (
    SELECT journey, customer_id,
           string_agg(stage_index || ':' || octet_length(convert_to(touchpoint, 'UTF8')) || ':' || touchpoint, '' ORDER BY stage_index, touchpoint)
               AS met
    FROM cjm.touchpoint_customers GROUP BY 1, 2
)
UPDATE cjm.journey_instances i
SET first_touches = p.met
FROM pairs p JOIN latest l USING (journey, customer_id)
WHERE i.journey = l.journey AND i.customer_id = l.customer_id AND i.instance = l.instance;

CREATE OR REPLACE VIEW cjm.touchpoints AS
    SELECT t.journey, t.stage_index, s.stage, t.touchpoint, t.events, t.customers,
           t.sentiment_sum / nullif(t.sentiment_count, 0) AS avg_sentiment,
           t.revenue
    FROM cjm.touchpoint_stats t
    LEFT JOIN cjm.journey_stages s ON s.journey = t.journey AND s.stage_index = t.stage_index
    ORDER BY t.journey, t.stage_index, t.events DESC, t.touchpoint;

DROP TABLE cjm.touchpoint_customers;
