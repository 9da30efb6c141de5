# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # globals of bench/run
# The private PostgreSQL cluster of a benchmark run and its databases; sourced by bench/run.

# Starts the cluster in $bench_dir/pg (durable settings: fsync and synchronous commit on,
# as in production) and exports PGHOST, PGPORT, PGUSER for psql.
start_cluster() {
    bash "$repo/scripts/pg-cluster.sh" start "$bench_dir/pg" --database cjm >&2 ||
        die "the private PostgreSQL did not start; see $bench_dir/pg/postgres.log"
    cluster_started=1
    eval "$(bash "$repo/scripts/pg-cluster.sh" env "$bench_dir/pg")"
    unset PGDATABASE
}

stop_cluster() {
    if ((cluster_started)); then
        bash "$repo/scripts/pg-cluster.sh" stop "$bench_dir/pg" >&2 || true
        cluster_started=0
    fi
}

# libpq conninfo of database $1 in the cluster.
conninfo_of() {
    local host=${PGHOST//\\/\\\\}
    host=${host//\'/\\\'}
    printf "host='%s' port=%s user=postgres dbname=%s\n" "$host" "$PGPORT" "$1"
}

# psql on database $1, quiet, stopping at the first error; further arguments go to psql.
psqlx() {
    local db=$1
    shift
    PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d "$(conninfo_of "$db")" "$@"
}

# One value from a query: sql_value DB 'SELECT …'
sql_value() { psqlx "$1" -At -c "$2"; }

# quiet_cluster: before a figure's measured run, does what earlier figures left the cluster
# to do (vacuum of their tables, which autovacuum would start during the run; a checkpoint
# of their writes) and waits for running autovacuum workers (up to 3 minutes), so that one
# figure's aftermath is not counted as the next one's CPU.
quiet_cluster() {
    local i busy db
    for db in $(sql_value postgres "SELECT datname FROM pg_database WHERE datname LIKE 'bench%'"); do
        psqlx "$db" -c "VACUUM" >/dev/null 2>&1 || true
    done
    psqlx postgres -c "CHECKPOINT" >/dev/null || true
    for ((i = 0; i < 180; i++)); do
        busy=$(sql_value postgres "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'") || return 0
        [[ $busy == 0 ]] && return 0
        sleep 1
    done
    log "autovacuum still busy after 3 minutes; measuring anyway"
}

# Drops and creates database $1 (empty).
fresh_database() {
    [[ $1 =~ ^[a-z_][a-z0-9_]*$ ]] || die "bad database name $1"
    psqlx postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null ||
        die "cannot create database $1"
}

# Writes a cjmd configuration for database $1 to file $2, derived from $base_config as
# scripts/quickstart.sh does (database url replaced, Alertmanager webhook dropped). With
# $3 = SOCKET and $4 = TCP_LISTEN and $5 = METRICS_LISTEN the sources become that Unix
# socket and TCP address and metrics go there; without, there are no sources and no
# metrics endpoint (for replay). BENCH_LATENESS, when set, replaces allowed_lateness.
write_config() {
    local db=$1 file=$2 socket=${3:-} tcp=${4:-} metrics=${5:-off} url
    url=$(conninfo_of "$db")
    url=${url//\\/\\\\}
    url=${url//\"/\\\"}
    awk -v url="$url" -v socket="$socket" -v tcp="$tcp" -v metrics="$metrics" -v lateness="${BENCH_LATENESS:-}" '
        /^database:/ { print; in_db = 1; next }
        in_db && /^  url:/ { print "  url: \"" url "\""; in_db = 0; next }
        /^  webhook:/ { next }
        function print_sources() {
            print "sources:"
            print "  - type: unix"
            print "    name: bench-unix"
            print "    path: " socket
            print "    mode: \"0600\""
            print "  - type: tcp"
            print "    name: bench-tcp"
            print "    listen: " tcp
            sources_done = 1
        }
        /^sources:/ {
            skipping = 1
            if (socket != "") print_sources()
            next
        }
        skipping && /^[^ #]/ { skipping = 0 }
        skipping { next }
        /^service:/ { in_service = 1 }
        /^  allowed_lateness:/ && lateness != "" { print "  allowed_lateness: " lateness; next }
        /^  metrics_listen:/ { print "  metrics_listen: " metrics; metrics_done = 1; next }
        { print }
        END {
            if (socket != "" && !sources_done) print_sources()
            if (!metrics_done && !in_service) { print "service:"; print "  metrics_listen: " metrics }
            else if (!metrics_done && metrics != "off") exit 3
        }
    ' "$base_config" >"$file" ||
        die "cannot derive a configuration from $base_config: its service: section has no metrics_listen line to replace"
    local check=$bench_dir/logs/check-config-${file##*/}.log
    "$cjmd" check-config --config "$file" >/dev/null 2>"$check" ||
        die "the derived configuration $file is invalid: $(cat "$check")"
}

# The configured allowed_lateness in seconds.
config_lateness() {
    duration_seconds "$(awk '/^  allowed_lateness:/ { print $2 }' "$1")"
}

# Migrates the database of configuration $1.
migrate() {
    local log_file=$bench_dir/logs/migrate-${1##*/}.log
    "$cjmd" migrate --config "$1" >/dev/null 2>"$log_file" || die "cjmd migrate failed: $(cat "$log_file")"
}
