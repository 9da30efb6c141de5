-- cjmd schema, version 7: batches whose events are committed but whose derived rows
-- (instances, moments, aggregates, alerts, the engine's position) are not written yet.
--
-- A replay writes derived rows at its end (and earlier only past a memory budget or
-- 2,000,000 events), the daemon at most every 500 ms, instead of with every batch: the same
-- instance is then written once instead of once per event. Each batch in between commits its
-- events with one row here: the sequence numbers it stored and the watermark it moved to.
-- A restarted engine is restored from the derived tables and then applies these batches
-- again, in order, exactly as the first time; the next write of derived rows empties this
-- table in the same transaction. Empty whenever derived rows are current.
CREATE TABLE cjm.batch_journal (
    id        bigserial   PRIMARY KEY,
    first_seq bigint      NOT NULL,
    end_seq   bigint      NOT NULL,   -- exclusive
    watermark timestamptz             -- after the batch; NULL before the first event
);

-- A restored engine reads the journaled batches' events by `seq`. It grows with arrival, so
-- a BRIN index (a few pages, cheap to maintain, like the one on `ts`) keeps that read to the
-- newest blocks instead of a scan of every event.
CREATE INDEX events_seq_brin ON cjm.events USING brin (seq);
