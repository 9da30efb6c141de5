#!/usr/bin/env bash
# A throwaway PostgreSQL cluster in one directory, reachable only through a Unix socket in
# that directory (no TCP), for tests and the quickstart.
#
#   pg-cluster.sh start DIR [--fast] [--database NAME] [--port N]
#       Creates the cluster on first use (initdb, superuser "postgres", trust auth, UTF8,
#       C locale), starts it and creates database NAME (default: cjm).
#       --fast turns off fsync/synchronous_commit/full_page_writes: quick, but a crash can
#       corrupt the cluster. Tests only.
#   pg-cluster.sh stop DIR        Stops it (no-op when not running).
#   pg-cluster.sh env DIR         Prints `export PGHOST=... PGPORT=... PGUSER=... PGDATABASE=...`.
#   pg-cluster.sh conninfo DIR    Prints a libpq conninfo string for it.
#
# Layout: DIR/data (PGDATA), DIR/.s.PGSQL.PORT (socket), DIR/postgres.log, DIR/cluster.env.
# PostgreSQL refuses to run as root, so as root the server runs as the "postgres" user and
# DIR is handed to it.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/postgres.sh
source "$script_dir/lib/postgres.sh"

die() {
    echo "pg-cluster: $*" >&2
    exit 1
}

usage() {
    sed -n '5,14s/^# \{0,1\}//p' "$script_dir/pg-cluster.sh" >&2
    exit 2
}

# Runs a PostgreSQL program as the unprivileged owner of the cluster.
run_pg() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Quotes a value for a libpq key=value string.
conninfo_quote() {
    local value=${1//\\/\\\\}
    value=${value//\'/\\\'}
    printf "'%s'" "$value"
}

is_running() {
    [[ -f $data/PG_VERSION ]] && run_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

# The socket file is DIR/.s.PGSQL.PORT and DIR belongs to this cluster alone, so any port
# works; a random one away from 5432 keeps stray clients (PGPORT unset) away from it.
pick_port() {
    local port
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        port=$((20000 + RANDOM % 40000))
        [[ -e $dir/.s.PGSQL.$port ]] || {
            echo "$port"
            return 0
        }
    done
    die "could not find a free port number for the socket in $dir"
}

cmd_start() {
    local fast=0 database=cjm port=""
    while (($# > 0)); do
        case $1 in
        --fast) fast=1 ;;
        --database)
            database=${2:?--database needs a name}
            shift
            ;;
        --port)
            port=${2:?--port needs a number}
            shift
            ;;
        *) usage ;;
        esac
        shift
    done
    [[ $database =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "database name '$database' must be a plain identifier"
    [[ -z $port || $port =~ ^[0-9]+$ ]] || die "port '$port' is not a number"

    if [[ $EUID -eq 0 ]]; then
        id -u postgres >/dev/null 2>&1 || die "user 'postgres' missing: run scripts/ensure-deps.sh"
        chown postgres: "$dir"
        chmod 700 "$dir"
        run_pg test -w "$dir" || die "user 'postgres' cannot write $dir (a parent directory is not accessible); use a directory under /tmp"
    fi

    if [[ ! -f $data/PG_VERSION ]]; then
        port=${port:-$(pick_port)}
        local socket="$dir/.s.PGSQL.$port"
        ((${#socket} < 100)) || die "socket path $socket is too long for a Unix socket; use a shorter DIR"
        if ! run_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C \
            >"$dir/initdb.log" 2>&1; then
            cat "$dir/initdb.log" >&2
            die "initdb failed"
        fi
        # lz4 where the server has it (Debian's does), else PostgreSQL's own pglz.
        local wal_compression=pglz
        if run_pg "$bindir/postgres" -D "$data" -c wal_compression=lz4 -C wal_compression >/dev/null 2>&1; then
            wal_compression=lz4
        fi
        {
            echo "# Added by pg-cluster.sh"
            echo "listen_addresses = ''"
            echo "unix_socket_directories = '$dir'"
            echo "port = $port"
            if ((fast)); then
                echo "fsync = off"
                echo "synchronous_commit = off"
                echo "full_page_writes = off"
                # Parallel test targets each open their own connections.
                echo "max_connections = 200"
            else
                # Settings for a continuous write load (cjmd's): checkpoints far apart, so
                # that fewer full-page images follow each one, and those compressed.
                echo "max_wal_size = 4GB"
                echo "checkpoint_timeout = 15min"
                echo "wal_compression = $wal_compression"
                # An eighth of the memory, between PostgreSQL's default and 512 MB.
                local memory_kb
                memory_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo 2>/dev/null || echo 0)
                echo "shared_buffers = $((memory_kb / 8 / 1024 < 128 ? 128 : memory_kb / 8 / 1024 > 512 ? 512 : memory_kb / 8 / 1024))MB"
            fi
        } | run_pg tee -a "$data/postgresql.conf" >/dev/null
    fi
    port=$(run_pg "$bindir/postgres" -D "$data" -C port)

    if ! is_running; then
        if ! run_pg "$bindir/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 start >/dev/null; then
            tail -n 30 "$dir/postgres.log" >&2 || true
            die "the server did not start; log: $dir/postgres.log"
        fi
    fi

    local exists
    exists=$("$bindir/psql" -h "$dir" -p "$port" -U postgres -d postgres -tAX \
        -c "SELECT 1 FROM pg_database WHERE datname = '$database'")
    if [[ $exists != 1 ]]; then
        "$bindir/createdb" -h "$dir" -p "$port" -U postgres "$database"
    fi

    {
        printf 'export PGHOST=%q\n' "$dir"
        printf 'export PGPORT=%q\n' "$port"
        printf 'export PGUSER=postgres\n'
        printf 'export PGDATABASE=%q\n' "$database"
    } >"$dir/cluster.env"
    echo "pg-cluster: running in $dir (socket port $port, database $database)" >&2
}

cmd_stop() {
    if is_running; then
        run_pg "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
    fi
}

cmd_env() {
    [[ -f $dir/cluster.env ]] || die "no cluster started in $dir"
    cat "$dir/cluster.env"
}

cmd_conninfo() {
    [[ -f $dir/cluster.env ]] || die "no cluster started in $dir"
    local PGHOST PGPORT PGUSER PGDATABASE
    # shellcheck source=/dev/null
    source "$dir/cluster.env"
    printf 'host=%s port=%s user=%s dbname=%s\n' "$(conninfo_quote "$PGHOST")" "$PGPORT" \
        "$(conninfo_quote "$PGUSER")" "$(conninfo_quote "$PGDATABASE")"
}

(($# >= 2)) || usage
command=$1
case $command in
start | stop | env | conninfo) ;;
*) usage ;;
esac
if [[ $command == start ]]; then
    mkdir -p "$2"
elif [[ ! -d $2 ]]; then
    [[ $command == stop ]] && exit 0
    die "no cluster directory $2"
fi
dir=$(cd "$2" && pwd)
data=$dir/data
shift 2
bindir=$(pg_bindir) || die "PostgreSQL server binaries not found: run scripts/ensure-deps.sh"
# Programs run as "postgres" may not be allowed into the caller's working directory.
cd /

case $command in
start) cmd_start "$@" ;;
stop) cmd_stop ;;
env) cmd_env ;;
conninfo) cmd_conninfo ;;
*) usage ;;
esac
