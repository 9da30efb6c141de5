# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # globals of bench/run
# Simulated input of the replay and query figures; sourced by bench/run.

# The simulator writes about 4.23 events per customer (240,000 customers → 1,015,911
# lines with the shipped journeys), so the customer count for about $1 events is:
customers_for_events() { awk -v e="$1" 'BEGIN { printf "%d\n", e * 240000 / 1016000 + 0.5 }'; }

# simulated_file EVENTS: prints the path of a seeded simulation of about EVENTS events
# (made once per BENCH_DIR; the same seed always gives the same lines). Arrival jitter of
# 2 s stays within the shipped allowed_lateness of 5 s, so replays apply nothing late.
simulated_file() {
    local customers file id_flags=()
    customers=$(customers_for_events "$1")
    file=$bench_dir/sim-c$customers-s$seed.ndjson
    if [[ $event_ids == uuid ]]; then
        file=$bench_dir/sim-c$customers-s$seed-uuid.ndjson
        id_flags=(--uuid-event-ids)
    fi
    if [[ ! -s $file || ! -e $file.done ]]; then
        log "simulating $customers customers (about $(grouped "$1") events) into $file"
        "$cjmd" simulate --config "$replay_config" --customers "$customers" --seed "$seed" --disorder 2s \
            "${id_flags[@]}" --output "$file" 2>>"$bench_dir/logs/simulate.log" ||
            die "cjmd simulate failed; see $bench_dir/logs/simulate.log"
        touch "$file.done"
    fi
    printf '%s\n' "$file"
}

# replay_into DB FILE: a fresh, migrated database DB holding FILE replayed by cjmd; sets
# replay_seconds, replay_lines, and the CPU time (clock ticks) of the replay process and of
# PostgreSQL meanwhile: replay_cjmd_ticks, replay_postgres_ticks.
replay_into() {
    local db=$1 file=$2 config=$bench_dir/config/$1.yaml started
    fresh_database "$db"
    write_config "$db" "$config"
    migrate "$config"
    psqlx "$db" -c "CHECKPOINT" >/dev/null
    replay_lines=$(wc -l <"$file")
    log "replaying $(grouped "$replay_lines") lines into $db"
    started=$(now)
    local cjmd_before postgres_before
    cjmd_before=$(children_cpu_ticks)
    postgres_before=$(cluster_cpu_ticks)
    "$cjmd" replay --config "$config" "$file" >"$bench_dir/logs/replay-$db.log" 2>&1 ||
        die "cjmd replay failed; see $bench_dir/logs/replay-$db.log"
    replay_seconds=$(calc "$(now) - $started")
    replay_cjmd_ticks=$(($(children_cpu_ticks) - cjmd_before))
    settle_cluster
    replay_postgres_ticks=$(($(cluster_cpu_ticks) - postgres_before))
    local stored
    stored=$(sql_value "$db" "SELECT count(*) FROM cjm.events")
    ((stored == replay_lines)) ||
        die "$db holds $stored events after replaying $replay_lines lines (expected all: no duplicates or bad lines are simulated)"
    record "replay db=$db lines=$replay_lines seconds=$replay_seconds events_per_second=$(calc "$replay_lines / $replay_seconds")"
}
