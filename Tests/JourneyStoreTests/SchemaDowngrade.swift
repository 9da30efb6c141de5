import CJMSchema

/// Turns a database of the current schema back into an older version, data kept, so that a
/// test can check what a migration makes of a database written by an older cjmd.
enum SchemaDowngrade {
    /// The text of migration `version` from `marker` through the first `terminator` after it.
    static func statement(_ version: Int, _ marker: String, through terminator: String = ";\n") -> String {
        let sql = SchemaMigrations.all.first { $0.version == version }!.sql
        let start = sql.range(of: marker)!.lowerBound
        return String(sql[start..<sql.range(of: terminator, range: start..<sql.endIndex)!.upperBound])
    }

    /// Version 22 → 21: sealed chunks and the seal queue without a partition.
    static var toVersion21: String {
        """
        \(statement(21, "CREATE OR REPLACE FUNCTION cjm.seal_closed_instances", through: "$$;\n"))
        DROP FUNCTION cjm.seal_closed_instances(integer, integer);
        DROP INDEX cjm.sealed_instances_part;
        ALTER TABLE cjm.seal_queue DROP COLUMN part;
        ALTER TABLE cjm.sealed_instances DROP COLUMN part;
        ALTER TABLE cjm.sealed_moments DROP COLUMN part;
        DELETE FROM cjm.schema_migrations WHERE version >= 22;

        """
    }

    /// Version 21 → 20 (after ``toVersion21``): no partitions. The summing views go (with the views over them, made
    /// again as versions 19 and 20 made them); the `*_by_part` tables take their old names.
    static var toVersion20: String {
        var sql =
            toVersion21 + """
                DROP VIEW cjm.funnel_stats, cjm.time_to_next, cjm.touchpoint_stats, cjm.stage_decisions, cjm.repeat_stats,
                          cjm.return_time, cjm.repeat_trigger_stats CASCADE;
                DROP TABLE cjm.partition_state, cjm.alert_judge_state;
                DROP FUNCTION cjm.merge_customer_traits(bigint, bigint, timestamptz, timestamptz, integer);
                DROP INDEX cjm.instance_rows_open_part;
                ALTER TABLE cjm.instance_rows DROP COLUMN part;
                ALTER TABLE cjm.customer_personas DROP COLUMN part;
                ALTER TABLE cjm.repeat_pending DROP COLUMN part;
                ALTER TABLE cjm.batch_journal DROP COLUMN part;
                \(statement(19, "CREATE OR REPLACE FUNCTION cjm.seal_closed_instances", through: "$$;\n"))

                """
        let keys = [
            ("funnel_stats", "journey, stage_index, persona"),
            ("time_to_next", "journey, stage_index, bucket, persona"),
            ("touchpoint_stats", "journey, stage_index, touchpoint, persona"),
            ("stage_decisions", "journey, stage_index, persona, minute"), ("repeat_stats", "journey, persona"),
            ("return_time", "journey, persona, bucket"), ("repeat_trigger_stats", "journey, event, touchpoint"),
        ]
        for (table, key) in keys {
            sql += """
                ALTER TABLE cjm.\(table)_by_part RENAME TO \(table);
                ALTER TABLE cjm.\(table) DROP CONSTRAINT \(table)_by_part_pkey, DROP COLUMN part, ADD PRIMARY KEY (\(key));

                """
        }
        sql += """
            \(statement(19, "CREATE OR REPLACE VIEW cjm.time_to_next_percentiles AS"))
            \(statement(19, "CREATE OR REPLACE VIEW cjm.funnel AS"))
            \(statement(19, "CREATE VIEW cjm.funnel_by_persona AS"))
            \(statement(19, "CREATE OR REPLACE VIEW cjm.touchpoints AS"))
            \(statement(19, "CREATE OR REPLACE VIEW cjm.journey_map AS"))
            \(statement(19, "CREATE OR REPLACE VIEW cjm.dropoff_hourly AS"))
            \(statement(20, "CREATE VIEW cjm.return_time_percentiles AS"))
            \(statement(20, "CREATE VIEW cjm.repeat_loop AS"))
            \(statement(20, "CREATE VIEW cjm.repeat_triggers AS"))
            DELETE FROM cjm.schema_migrations WHERE version >= 21;

            """
        return sql
    }

    /// Version 20 → 19 (after ``toVersion20``): no repeat loop.
    static var toVersion19: String {
        toVersion20 + """
            DROP VIEW cjm.repeat_loop, cjm.repeat_triggers, cjm.return_time_percentiles;
            DROP TABLE cjm.repeat_stats, cjm.return_time, cjm.repeat_trigger_stats, cjm.repeat_pending;
            ALTER TABLE cjm.journey_stages DROP COLUMN repeat_window;
            DELETE FROM cjm.schema_migrations WHERE version >= 20;

            """
    }

    /// Version 19 → 18 (after ``toVersion19``): no personas. The running totals keep their '*' rows, the views and
    /// functions are those of the versions that last made them.
    static var toVersion18: String {
        toVersion19 + """
            DROP VIEW cjm.journey_map, cjm.funnel_by_persona, cjm.funnel_daily, cjm.exit_points, cjm.touchpoints,
                      cjm.funnel, cjm.time_to_next_percentiles;
            DROP FUNCTION cjm.funnel_between(text, timestamptz, timestamptz, text);
            DROP FUNCTION cjm.instances_entered(text, timestamptz, timestamptz);
            DROP VIEW cjm.journey_instances, cjm.critical_moments, cjm.events;
            ALTER TABLE cjm.event_rows DROP COLUMN persona;
            DROP TABLE cjm.customer_personas;
            ALTER TABLE cjm.instance_rows DROP COLUMN persona, DROP COLUMN persona_first_touches;
            ALTER TABLE cjm.moment_rows DROP COLUMN persona;
            ALTER TYPE cjm.sealed_instance DROP ATTRIBUTE persona, DROP ATTRIBUTE persona_first_touches;
            ALTER TYPE cjm.sealed_moment DROP ATTRIBUTE persona;
            DELETE FROM cjm.funnel_stats WHERE persona <> '*';
            ALTER TABLE cjm.funnel_stats DROP CONSTRAINT funnel_stats_pkey, DROP COLUMN persona,
                ADD PRIMARY KEY (journey, stage_index);
            DELETE FROM cjm.time_to_next WHERE persona <> '*';
            ALTER TABLE cjm.time_to_next DROP CONSTRAINT time_to_next_pkey, DROP COLUMN persona,
                ADD PRIMARY KEY (journey, stage_index, bucket);
            DROP VIEW cjm.dropoff_hourly;
            DELETE FROM cjm.stage_decisions WHERE persona <> '*';
            ALTER TABLE cjm.stage_decisions DROP CONSTRAINT stage_decisions_pkey, DROP COLUMN persona,
                ADD PRIMARY KEY (journey, stage_index, minute);
            DELETE FROM cjm.alerts WHERE persona <> '*';
            DROP INDEX cjm.alerts_episode;
            DROP INDEX cjm.alerts_firing;
            ALTER TABLE cjm.alerts DROP COLUMN persona;
            CREATE UNIQUE INDEX alerts_episode ON cjm.alerts (journey, stage_index, fired_at);
            CREATE INDEX alerts_firing ON cjm.alerts (journey, stage_index) WHERE resolved_at IS NULL;
            \(statement(4, "CREATE VIEW cjm.dropoff_hourly AS"))
            DELETE FROM cjm.touchpoint_stats WHERE persona <> '*';
            ALTER TABLE cjm.touchpoint_stats DROP CONSTRAINT touchpoint_stats_pkey, DROP COLUMN persona,
                ADD PRIMARY KEY (journey, stage_index, touchpoint);
            \(statement(17, "CREATE OR REPLACE VIEW cjm.events AS"))
            \(statement(15, "CREATE VIEW cjm.journey_instances AS"))
            \(statement(15, "CREATE VIEW cjm.critical_moments AS"))
            \(statement(16, "CREATE FUNCTION cjm.instances_entered", through: "$$;\n"))
            \(statement(16, "CREATE OR REPLACE FUNCTION cjm.funnel_between", through: "$$;\n"))
            \(statement(15, "CREATE OR REPLACE VIEW cjm.funnel_daily AS"))
            \(statement(15, "CREATE OR REPLACE VIEW cjm.exit_points AS"))
            \(statement(10, "CREATE OR REPLACE VIEW cjm.time_to_next_percentiles AS"))
            \(statement(5, "CREATE VIEW cjm.funnel AS"))
            \(statement(8, "CREATE OR REPLACE VIEW cjm.touchpoints AS"))
            \(statement(18, "CREATE VIEW cjm.journey_map AS"))
            DROP TABLE IF EXISTS pg_temp.closing_instances, pg_temp.closing_moments;
            CREATE TEMP TABLE closing_instances (LIKE cjm.instance_rows) ON COMMIT DELETE ROWS;
            CREATE TEMP TABLE closing_moments (LIKE cjm.moment_rows) ON COMMIT DELETE ROWS;
            \(statement(16, "CREATE OR REPLACE FUNCTION cjm.seal_closed_instances", through: "$$;\n"))
            DELETE FROM cjm.schema_migrations WHERE version >= 19;

            """
    }

    /// Version 18 → 17 (after ``toVersion18``): no stage targets, no `cjm.journey_map`.
    static var toVersion17: String {
        toVersion18 + """
            DROP VIEW cjm.journey_map;
            ALTER TABLE cjm.journey_stages DROP COLUMN target_step_conversion, DROP COLUMN target_median_time_to_next;
            DELETE FROM cjm.schema_migrations WHERE version >= 18;

            """
    }

    /// Version 17 → 16 (after ``toVersion17``): no `context` and `traits` on events, no
    /// `cjm.customer_traits`.
    static var toVersion16: String {
        toVersion17 + """
            DROP FUNCTION cjm.merge_customer_traits(bigint, bigint, timestamptz, timestamptz);
            DROP TABLE cjm.customer_traits;
            DROP VIEW cjm.events;
            CREATE VIEW cjm.events AS
                SELECT cjm.event_id(e.event_key) AS event_id, e.customer_id, e.ts, e.event, e.touchpoint, e.sentiment,
                       e.revenue, e.properties, (SELECT s.name FROM cjm.sources s WHERE s.id = e.source_id) AS source,
                       e.received_at, e.seq, e.journey, cjm.stage_map(e.stage_ids) AS stages
                FROM cjm.event_rows e;
            ALTER TABLE cjm.event_rows DROP COLUMN context, DROP COLUMN traits;
            DELETE FROM cjm.schema_migrations WHERE version >= 17;

            """
    }

    /// Version 16 → 15 (after ``toVersion16``): no `cjm.seal_queue`; the closed rows it listed stay in
    /// `cjm.instance_rows`, found again by version 15's partial index and seal function;
    /// `cjm.funnel_between` reads `cjm.journey_instances` again.
    static var toVersion15: String {
        let version15 = SchemaMigrations.all.first { $0.version == 15 }!.sql
        let start = version15.range(of: "CREATE FUNCTION cjm.seal_closed_instances")!.lowerBound
        let end = version15.range(of: "$$;\n", range: start..<version15.endIndex)!.upperBound
        let version2 = SchemaMigrations.all.first { $0.version == 2 }!.sql
        let funnelStart = version2.range(of: "CREATE FUNCTION cjm.funnel_between")!.lowerBound
        let funnelEnd = version2.range(of: "$$;\n", range: funnelStart..<version2.endIndex)!.upperBound
        return toVersion16 + """
            CREATE OR REPLACE\(version2[funnelStart..<funnelEnd].dropFirst("CREATE".count))
            DROP FUNCTION cjm.instances_entered(text, timestamptz, timestamptz);
            DROP TABLE cjm.seal_queue;
            CREATE INDEX instance_rows_closed ON cjm.instance_rows (journey) WHERE exited_at IS NOT NULL;
            DROP FUNCTION cjm.seal_closed_instances(integer);
            \(version15[start..<end])
            DELETE FROM cjm.schema_migrations WHERE version >= 16;

            """
    }

    /// Version 16 → 14 (through ``toVersion15``): every instance and moment back in
    /// `cjm.journey_instances` and `cjm.critical_moments` as tables (the sealed chunks
    /// unpacked), and the views that read them as version 2 made them.
    static var toVersion14: String { toVersion15 + version15To14 }

    private static let version15To14 = """
        CREATE TEMP TABLE all_instances AS SELECT * FROM cjm.journey_instances;
        CREATE TEMP TABLE all_moments AS SELECT * FROM cjm.critical_moments;
        DROP VIEW cjm.funnel_daily, cjm.exit_points;
        DROP VIEW cjm.journey_instances, cjm.critical_moments;
        DROP FUNCTION cjm.seal_closed_instances(integer);
        DROP TABLE cjm.sealed_instances, cjm.sealed_moments;
        DROP TYPE cjm.sealed_instance, cjm.sealed_moment;
        TRUNCATE cjm.instance_rows, cjm.moment_rows;
        INSERT INTO cjm.instance_rows SELECT * FROM all_instances;
        INSERT INTO cjm.moment_rows SELECT * FROM all_moments;
        DROP TABLE all_instances, all_moments;
        DROP INDEX cjm.instance_rows_closed;
        ALTER TABLE cjm.instance_rows RENAME TO journey_instances;
        ALTER INDEX cjm.instance_rows_pkey RENAME TO journey_instances_pkey;
        ALTER INDEX cjm.instance_rows_open RENAME TO journey_instances_open;
        ALTER INDEX cjm.instance_rows_entered RENAME TO journey_instances_entered;
        ALTER TABLE cjm.moment_rows RENAME TO critical_moments;
        ALTER INDEX cjm.moment_rows_pkey RENAME TO critical_moments_pkey;
        ALTER INDEX cjm.moment_rows_detected RENAME TO critical_moments_detected;
        CREATE VIEW cjm.funnel_daily AS
            SELECT d.journey, d.day, f.stage_index, f.stage, f.reached, f.customers, f.converted_to_next,
                   f.step_conversion, f.overall_conversion, f.drop_off_rate,
                   coalesce(e.watermark >= ((d.day + 1)::timestamp AT TIME ZONE 'UTC') + s.conversion_window, false)
                       AS final
            FROM (SELECT DISTINCT i.journey, (i.entered_at AT TIME ZONE 'UTC')::date AS day
                  FROM cjm.journey_instances i) d
            JOIN cjm.journey_stages s ON s.journey = d.journey AND s.stage_index = 0
            CROSS JOIN LATERAL cjm.funnel_between(d.journey, d.day::timestamp AT TIME ZONE 'UTC',
                                                  (d.day + 1)::timestamp AT TIME ZONE 'UTC') f
            CROSS JOIN cjm.engine_state e
            ORDER BY s.journey_order, d.day, f.stage_index;
        CREATE VIEW cjm.exit_points AS
            SELECT m.journey, m.stage_index, m.stage, m.last_event, m.last_touchpoint,
                   count(*) AS abandonments, count(m.recovered_at) AS recovered,
                   count(*)::double precision / sum(count(*)) OVER (PARTITION BY m.journey, m.stage_index) AS share,
                   rank() OVER (PARTITION BY m.journey, m.stage_index ORDER BY count(*) DESC) AS rank
            FROM cjm.critical_moments m
            WHERE m.reason = 'inactive'
            GROUP BY m.journey, m.stage_index, m.stage, m.last_event, m.last_touchpoint
            ORDER BY m.journey, m.stage_index, abandonments DESC, m.last_event, m.last_touchpoint;
        DELETE FROM cjm.schema_migrations WHERE version >= 15;

        """

    /// Version 14 → 13 (after ``toVersion14``): `cjm.events` as the partitioned table of version 13 (source names and
    /// stage maps written out on every row again, primary key (event_id, ts)), without
    /// `cjm.event_rows`, `cjm.sources`, `cjm.stage_ids` and the functions of migration 14.
    static let toVersion13 =
        toVersion14 + """
            CREATE OR REPLACE FUNCTION cjm.ensure_day_partition(parent text, day date) RETURNS boolean
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
            ALTER VIEW cjm.events RENAME TO events_view;
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
            SELECT cjm.ensure_day_partition('events', day) FROM cjm.day_partitions('event_rows');
            INSERT INTO cjm.events SELECT * FROM cjm.events_view;
            DROP VIEW cjm.events_view;
            DROP TABLE cjm.event_rows;
            DROP FUNCTION cjm.stage_map(bytea);
            DROP FUNCTION cjm.event_id(bytea);
            DROP FUNCTION cjm.event_key(text);
            DROP FUNCTION cjm.event_key_hash(bytea);
            DROP TABLE cjm.stage_ids, cjm.sources;
            DELETE FROM cjm.schema_migrations WHERE version >= 14;

            """

    /// Version 13 → 12: `cjm.events` and `cjm.rejected_events` as the plain tables of
    /// versions 1–12 (the rows moved over), without the partition functions and
    /// `cjm.retention_state`, and `cjm.storage` as version 12 made it.
    static var toVersion12: String {
        let storageView = SchemaMigrations.all.first { $0.version == 12 }!.sql
        return toVersion13
            + """
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
