#!/usr/bin/env bash
# The quickstart: from a fresh Debian 12 machine to a live journey funnel in one command.
#
#   scripts/quickstart.sh [--duration SECONDS] [CUSTOMERS]
#
# 1. Installs what is missing (PostgreSQL, libpq headers), builds cjmd in release mode and
#    starts a private PostgreSQL under .state/pg (Unix socket only).
# 2. History: simulates about 100,000 touchpoint events (CUSTOMERS customers, default
#    23000) for the journeys of config/cjmd.yaml, replays them and prints the funnel.
# 3. Live: starts the daemon, `cjmd run`, on the same database with a Unix socket source,
#    sends it simulated customers in real time with acknowledgements (`cjmd simulate
#    --send-to`), and prints the funnel as it fills, for --duration seconds (default 60)
#    or until Ctrl-C; then stops the daemon cleanly and says how to run it under systemd.
#
# The quickstart's configuration (.state/cjmd.yaml) is the shipped one pointed at the
# private database, with one journey added, "trial", measured in seconds instead of days,
# so that the live funnel moves within a minute. Running it again adds nothing twice.
# Stop the database with   scripts/pg-cluster.sh stop .state/pg
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

duration=60
customers=23000
while (($# > 0)); do
    case $1 in
    --duration) duration=${2:?--duration needs a number of seconds}; shift 2 ;;
    --duration=*) duration=${1#--duration=}; shift ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) customers=$1; shift ;;
    esac
done
[[ $duration =~ ^[0-9]+$ && $duration -gt 0 ]] || { echo "quickstart: --duration must be a whole number of seconds" >&2; exit 64; }
[[ $customers =~ ^[0-9]+$ ]] || { echo "quickstart: CUSTOMERS must be a number" >&2; exit 64; }

state=${CJMD_STATE_DIR:-$PWD/.state}
mkdir -p "$state"

bash scripts/ensure-deps.sh
# CJMD_BINARY: use this cjmd instead of building one.
cjmd=${CJMD_BINARY:-}
if [[ -z $cjmd ]]; then
    echo "quickstart: building cjmd (release)…" >&2
    swift build -c release --product cjmd 2>&1 | grep -E "error|warning: unre|Compiling cjmd|Build complete" >&2 || true
    cjmd=$(swift build -c release --show-bin-path)/cjmd
fi
[[ -x $cjmd ]] || { echo "quickstart: the build failed; run: swift build -c release" >&2; exit 1; }

bash scripts/pg-cluster.sh start "$state/pg" --database cjm >&2
conninfo=$(bash scripts/pg-cluster.sh conninfo "$state/pg")

# The shipped configuration, pointed at the private database, with one Unix socket as its
# only source, without the Alertmanager webhook (alerts still land in cjm.alerts) and the
# metrics endpoint, and with the "trial" journey first.
config=$state/cjmd.yaml
socket=$state/events.sock
escaped=${conninfo//\\/\\\\}
escaped=${escaped//\"/\\\"}
awk -v url="$escaped" -v socket="$socket" '
    /^database:/ { print; in_db = 1; next }
    in_db && /^  url:/ { print "  url: \"" url "\""; in_db = 0; next }
    /^sources:/ {
        print "sources:"
        print "  - type: unix"
        print "    name: events"
        print "    path: " socket
        print "    mode: \"0600\""
        in_sources = 1; next
    }
    in_sources && /^[a-z]/ { in_sources = 0 }
    in_sources { next }
    /^journeys:/ {
        print
        print "  # Added by the quickstart: a journey of seconds, so the live funnel moves in a minute."
        print "  - name: trial"
        print "    conversion_window: 5m"
        print "    stages:"
        print "      - name: visit"
        print "        events: [trial_page_view]"
        print "        abandon_after: 20s"
        print "      - name: signup"
        print "        events: [trial_signup]"
        print "        abandon_after: 20s"
        print "      - name: activation"
        print "        events: [trial_first_project]"
        next
    }
    /^  webhook:/ { next }
    /^    repeat_window:/ { print "    repeat_window: 14d  # the quickstart: a history of weeks, not quarters"; next }
    /^  metrics_listen:/ { print "  metrics_listen: off"; next }
    { print }
' config/cjmd.yaml >"$config"

"$cjmd" check-config --config "$config" >&2
"$cjmd" migrate --config "$config" >&2

echo "quickstart: 1. history — simulating $customers customers and replaying them" >&2
events=$state/events.ndjson
"$cjmd" simulate --config "$config" --customers "$customers" --seed 42 --disorder 2s \
    --duplicates 0.01 --malformed 0.001 --personas --output "$events"
echo "quickstart: events of the same data, for comparison: $(wc -l <"$events") lines, $(du -h "$events" | cut -f1)" >&2
"$cjmd" replay --config "$config" "$events"
echo
"$cjmd" report --config "$config"
echo
echo "quickstart: the purchase funnel of each persona (cjm.funnel_by_persona)" >&2
"$cjmd" report --config "$config" --journey purchase --by persona
echo
echo "quickstart: who came back after buying, and what brought them (cjm.repeat_loop, cjm.repeat_triggers)" >&2
"$cjmd" report --config "$config" --journey purchase --loop
echo
"$cjmd" map --config "$config" --journey purchase -o "$state/purchase-map.html"
echo "quickstart: the journey map of that history: $state/purchase-map.html (open it in a browser)" >&2

echo "quickstart: 2. live — starting the daemon (log: $state/cjmd-run.log)" >&2
"$cjmd" run --config "$config" >"$state/cjmd-run.log" 2>&1 &
daemon=$!
sender=
stop_all() {
    trap - INT TERM
    if [[ -n $sender ]]; then
        kill "$sender" 2>/dev/null || true
        wait "$sender" 2>/dev/null || true
    fi
    if kill -0 "$daemon" 2>/dev/null; then
        echo "quickstart: stopping the daemon (SIGTERM: it commits what it accepted, then exits)" >&2
        kill -TERM "$daemon"
        local status=0
        wait "$daemon" || status=$?
        echo "quickstart: the daemon exited with status $status" >&2
    fi
}
trap 'stop_all; exit 130' INT TERM
for _ in $(seq 300); do
    [[ -S $socket ]] && break
    kill -0 "$daemon" 2>/dev/null || { echo "quickstart: the daemon did not start:" >&2; tail -20 "$state/cjmd-run.log" >&2; exit 1; }
    sleep 0.1
done
[[ -S $socket ]] || { echo "quickstart: the daemon is not listening on $socket" >&2; stop_all; exit 1; }

# About 20 new customers a second, each at the pace of their own journey.
"$cjmd" simulate --config "$config" --customers $((duration * 20)) --seed $((1000 + RANDOM)) \
    --duration "${duration}s" --personas --send-to "$socket" &
sender=$!
echo "quickstart: sending live traffic for ${duration}s into $socket (Ctrl-C stops early)" >&2
elapsed=0
while kill -0 "$sender" 2>/dev/null; do
    sleep 10 & wait $! || true
    elapsed=$((elapsed + 10))
    echo "── live funnel of the trial journey after ${elapsed}s ($(date +%T)) ──"
    "$cjmd" report --config "$config" --journey trial || true
done
sender_status=0
wait "$sender" || sender_status=$?
sender=
# Derived rows follow the events by allowed_lateness (5 s) plus at most half a second.
sleep 6
echo "── live funnel of the trial journey at the end ──"
"$cjmd" report --config "$config" --journey trial
"$cjmd" map --config "$config" --journey trial -o "$state/trial-map.html"
stop_all
trap - INT TERM
[[ $sender_status -eq 0 ]] || echo "quickstart: the live sender exited with status $sender_status" >&2

cat <<MSG

Open the journey maps (one self-contained page each; \`cjmd map --help\`):
  $state/purchase-map.html
  $state/trial-map.html
Explore the tables and views:
  psql "$conninfo" -c 'SELECT * FROM cjm.funnel'
  psql "$conninfo" -c 'SELECT * FROM cjm.funnel_by_persona'
  psql "$conninfo" -c 'SELECT * FROM cjm.repeat_loop'
  psql "$conninfo" -c 'SELECT * FROM cjm.critical_moments ORDER BY detected_at DESC LIMIT 10'
  $cjmd report --config $config --format json
Run the daemon again on this database:
  $cjmd run --config $config
Run it as a service: install the binary as /usr/local/bin/cjmd, the configuration as
/etc/cjmd/cjmd.yaml, and systemd/cjmd.service (see docs/operations.md), then
  systemctl enable --now cjmd
Stop the private database:  scripts/pg-cluster.sh stop $state/pg
MSG
