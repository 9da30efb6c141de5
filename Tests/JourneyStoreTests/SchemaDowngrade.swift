import CJMSchema

/// Turns a database of the current schema back into an older version, data kept, so that a
/// test can check what a migration makes of a database written by an older cjmd.
enum SchemaDowngrade {
    /// Version 13 → 12: `cjm.events` and `cjm.rejected_events` as the plain tables of
    /// versions 1–12 (the rows moved over), without the partition functions and
    /// `cjm.retention_state`, and `cjm.storage` as version 12 made it.
    static var toVersion12: String {
        let storageView = SchemaMigrations.all.first { $0.version == 12 }!.sql
        return """
            ALTER TABLE cjm.events RENAME TO events_partitioned;
            ALTER INDEX cjm.events_pkey RENAME TO events_partitioned_pkey;
            ALTER INDEX cjm.events_ts_brin RENAME TO events_partitioned_ts_brin;
            ALTER INDEX cjm.events_seq_brin RENAME TO events_partitioned_seq_brin;
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
            CREATE INDEX events_ts_brin ON cjm.events USING brin (ts);
            CREATE INDEX events_seq_brin ON cjm.events USING brin (seq);
            INSERT INTO cjm.events SELECT * FROM cjm.events_partitioned;
            DROP TABLE cjm.events_partitioned;

            ALTER SEQUENCE cjm.rejected_events_id_seq OWNED BY NONE;
            ALTER TABLE cjm.rejected_events RENAME TO rejected_events_partitioned;
            ALTER INDEX cjm.rejected_events_pkey RENAME TO rejected_events_partitioned_pkey;
            CREATE TABLE cjm.rejected_events (
                id          bigint      PRIMARY KEY DEFAULT nextval('cjm.rejected_events_id_seq'),
                received_at timestamptz NOT NULL,
                source      text        NOT NULL,
                reason      text        NOT NULL CHECK (reason IN ('invalid_utf8', 'invalid_json', 'not_an_object',
                                'missing_field', 'invalid_field', 'ts_out_of_range', 'line_too_long')),
                detail      text        NOT NULL,
                raw         bytea       NOT NULL
            );
            ALTER SEQUENCE cjm.rejected_events_id_seq OWNED BY cjm.rejected_events.id;
            CREATE INDEX rejected_events_received_at ON cjm.rejected_events (received_at);
            INSERT INTO cjm.rejected_events SELECT id, received_at, source, reason, detail, raw
            FROM cjm.rejected_events_partitioned;
            DROP TABLE cjm.rejected_events_partitioned;

            DROP FUNCTION cjm.drop_day_partitions(text, timestamptz, integer);
            DROP FUNCTION cjm.day_partitions(text);
            DROP FUNCTION cjm.ensure_day_partition(text, date);
            DROP FUNCTION cjm.day_partition_name(text, date);
            DROP TABLE cjm.retention_state;
            DROP VIEW cjm.storage;
            \(storageView)
            DELETE FROM cjm.schema_migrations WHERE version >= 13;
            """
    }
}
