-- What cjmd's tables take on disk (docs/sql.md, docs/operations.md): one row per table of
-- schema cjm, its indexes and TOAST included. Row counts are PostgreSQL's estimates
-- (pg_class.reltuples, kept by autovacuum and ANALYZE): counting rows exactly would read
-- whole tables every time a dashboard looks.
CREATE VIEW cjm.storage AS
SELECT c.relname::text                              AS relation,
       greatest(c.reltuples, 0)::bigint             AS rows_estimate,
       pg_table_size(c.oid)                         AS table_bytes,
       pg_indexes_size(c.oid)                       AS index_bytes,
       pg_total_relation_size(c.oid)                AS total_bytes
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'cjm' AND c.relkind IN ('r', 'p', 'm');

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'cjm_reader') THEN
        GRANT SELECT ON cjm.storage TO cjm_reader;
    END IF;
END
$$;
