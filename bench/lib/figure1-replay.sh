# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # globals of bench/run
# Figure 1: replay throughput beside psql's \copy of the same events into a table of the
# same shape and keys. Sourced by bench/run.

figure_replay() {
    local events=$1 file db=bench_e$1 tsv=$bench_dir/events-$1.tsv
    log "figure 1: replay of about $(grouped "$events") events vs \\copy"
    file=$(simulated_file "$events")
    replay_into "$db" "$file"
    replayed_db=$db
    local replay_rate
    replay_rate=$(calc "$replay_lines / $replay_seconds")

    # What the replay left on disk in schema cjm (cjm.storage: tables, indexes, TOAST), per
    # event stored, as it is right after the replay (dead row versions included).
    local cjm_bytes stored_events
    cjm_bytes=$(psqlx "$db" -At -c "SELECT sum(total_bytes) FROM cjm.storage") || die "cannot read cjm.storage in $db"
    stored_events=$(psqlx "$db" -At -c "SELECT count(*) FROM cjm.event_rows") || die "cannot count cjm.event_rows in $db"
    record "storage cjm_bytes=$cjm_bytes events=$stored_events ndjson_bytes=$(stat -c %s "$file")"

    # The baseline loads what cjmd stored — same rows, same columns — as TSV into a table
    # of cjm.event_rows' shape (its BRIN index, partitioned by day with the same days'
    # partitions made beforehand, each with the unique index cjmd gives it), in one
    # transaction, like any bulk load.
    psqlx "$db" -c "\\copy (SELECT * FROM cjm.event_rows) TO '$tsv'" || die "cannot export cjm.event_rows to $tsv"
    psqlx "$db" -c "DROP SCHEMA IF EXISTS bench_copy CASCADE" -c "CREATE SCHEMA bench_copy" \
        -c "CREATE TABLE bench_copy.events (LIKE cjm.event_rows INCLUDING ALL) PARTITION BY RANGE (ts)" \
        -c "DO \$\$ DECLARE p record; BEGIN
                FOR p IN SELECT * FROM cjm.day_partitions('event_rows') LOOP
                    EXECUTE format('CREATE TABLE bench_copy.%I PARTITION OF bench_copy.events FOR VALUES FROM (%L) TO (%L)',
                                   p.relation, p.day::timestamp AT TIME ZONE 'UTC', (p.day + 1)::timestamp AT TIME ZONE 'UTC');
                    EXECUTE format('CREATE UNIQUE INDEX ON bench_copy.%I (ts, cjm.event_key_hash(event_key))', p.relation);
                END LOOP; END \$\$" \
        -c "CREATE TABLE bench_copy.raw (doc jsonb)" -c "CHECKPOINT" >/dev/null 2>&1 ||
        die "cannot create the baseline tables in $db"
    local started copy_seconds copy_rate
    log "timing \\copy of the same $(grouped "$replay_lines") rows"
    started=$(now)
    local psql_before postgres_before psql_ticks postgres_ticks
    psql_before=$(children_cpu_ticks)
    postgres_before=$(cluster_cpu_ticks)
    psqlx "$db" -c "\\copy bench_copy.events FROM '$tsv'" >/dev/null || die "\\copy into bench_copy.events failed"
    copy_seconds=$(calc "$(now) - $started")
    psql_ticks=$(($(children_cpu_ticks) - psql_before))
    settle_cluster
    postgres_ticks=$(($(cluster_cpu_ticks) - postgres_before))
    copy_rate=$(calc "$replay_lines / $copy_seconds")
    record "copy_tsv rows=$replay_lines seconds=$copy_seconds rows_per_second=$copy_rate"
    local tick
    tick=$(getconf CLK_TCK)
    record "cpu clk_tck=$tick replay_cjmd_ticks=$replay_cjmd_ticks replay_postgres_ticks=$replay_postgres_ticks copy_psql_ticks=$psql_ticks copy_postgres_ticks=$postgres_ticks"

    # For reference: the NDJSON lines themselves into one jsonb column (parsing JSON, no
    # key). CSV with quote and delimiter bytes that never occur keeps each line intact.
    psqlx "$db" -c "CHECKPOINT" >/dev/null
    local jsonb_seconds jsonb_rate
    started=$(now)
    psqlx "$db" -c "\\copy bench_copy.raw FROM '$file' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')" >/dev/null ||
        die "\\copy of the NDJSON into bench_copy.raw failed"
    jsonb_seconds=$(calc "$(now) - $started")
    jsonb_rate=$(calc "$replay_lines / $jsonb_seconds")
    record "copy_ndjson_jsonb rows=$replay_lines seconds=$jsonb_seconds rows_per_second=$jsonb_rate"
    local raw_bytes
    raw_bytes=$(psqlx "$db" -At -c "SELECT pg_total_relation_size('bench_copy.raw')")
    record "storage raw_jsonb_bytes=$raw_bytes rows=$replay_lines"

    # Leave the database as cjmd wrote it for figure 4.
    psqlx "$db" -c "DROP SCHEMA bench_copy CASCADE" >/dev/null
    rm -f "$tsv"

    local ratio met
    ratio=$(calc "$replay_rate / $copy_rate")
    met=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.8) ? "yes" : "no" }')
    row "1. replay, events/s ($(grouped "$replay_lines") events)" "$(grouped "$replay_rate")" \
        "$(grouped "$copy_rate") (\\copy TSV, same key)" "$(ratio_text "$ratio")" "≥ 0.8× COPY" "$met"
    row "1. (reference) \\copy NDJSON → jsonb, rows/s" "" "$(grouped "$jsonb_rate")" \
        "$(ratio_text "$(calc "$replay_rate / $jsonb_rate")")" "" ""
    local bytes_per_event raw_per_event
    bytes_per_event=$(calc "$cjm_bytes / $stored_events")
    raw_per_event=$(calc "$raw_bytes / $replay_lines")
    row "1. storage, bytes per event (schema cjm, all tables and indexes)" "$(fmt 0 "$bytes_per_event")" \
        "$(fmt 0 "$raw_per_event") (NDJSON lines as one jsonb column, no key)" \
        "$(ratio_text "$(calc "$bytes_per_event / $raw_per_event")")" "≤ 250 B" \
        "$(awk -v b="$bytes_per_event" 'BEGIN { print (b <= 250) ? "yes" : "no" }')"
    # CPU per event of both sides: the replay's floor on these cores is its CPU time over
    # their number (or its busiest process), whatever the overlap.
    local per_event="* 1000000 / $tick / $replay_lines"
    row "1. CPU per event, µs: cjmd · PostgreSQL (replay) and psql · PostgreSQL (\\copy)" \
        "$(fmt 1 "$(calc "$replay_cjmd_ticks $per_event")") · $(fmt 1 "$(calc "$replay_postgres_ticks $per_event")")" \
        "$(fmt 1 "$(calc "$psql_ticks $per_event")") · $(fmt 1 "$(calc "$postgres_ticks $per_event")")" \
        "replay: $(ratio_text "$(calc "($replay_cjmd_ticks + $replay_postgres_ticks) / ($psql_ticks + $postgres_ticks)")") the CPU" "" ""
}
