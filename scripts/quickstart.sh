#!/usr/bin/env bash
# The quickstart: from a fresh Debian 12 machine to a journey funnel in one command.
#
#   scripts/quickstart.sh [CUSTOMERS]
#
# Installs what is missing (PostgreSQL, libpq headers), builds cjmd in release mode, starts
# a private PostgreSQL under .state/pg (Unix socket only), applies the schema, simulates
# about 100,000 touchpoint events for the journeys of config/cjmd.yaml, replays them and
# prints the funnel. Running it again adds nothing twice. Stop the database with
#   scripts/pg-cluster.sh stop .state/pg
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

customers=${1:-23000}
state=${CJMD_STATE_DIR:-$PWD/.state}
mkdir -p "$state"

bash scripts/ensure-deps.sh
echo "quickstart: building cjmd (release)…" >&2
swift build -c release --product cjmd 2>&1 | grep -E "error|warning: unre|Compiling cjmd|Build complete" >&2 || true
cjmd=$(swift build -c release --show-bin-path)/cjmd
[[ -x $cjmd ]] || { echo "quickstart: the build failed; run: swift build -c release" >&2; exit 1; }

bash scripts/pg-cluster.sh start "$state/pg" --database cjm >&2
conninfo=$(bash scripts/pg-cluster.sh conninfo "$state/pg")

# The shipped configuration, pointed at the private database, without the Alertmanager
# webhook (alerts still land in cjm.alerts).
config=$state/cjmd.yaml
escaped=${conninfo//\\/\\\\}
escaped=${escaped//\"/\\\"}
awk -v url="$escaped" '
    /^database:/ { print; in_db = 1; next }
    in_db && /^  url:/ { print "  url: \"" url "\""; in_db = 0; next }
    /^  webhook:/ { next }
    { print }
' config/cjmd.yaml >"$config"

"$cjmd" check-config --config "$config" >&2
"$cjmd" migrate --config "$config" >&2
events=$state/events.ndjson
"$cjmd" simulate --config "$config" --customers "$customers" --seed 42 --disorder 2s \
    --duplicates 0.01 --malformed 0.001 --output "$events"
echo "quickstart: events of the same data, for comparison: $(wc -l <"$events") lines, $(du -h "$events" | cut -f1)" >&2
"$cjmd" replay --config "$config" "$events"
echo
"$cjmd" report --config "$config"
cat <<MSG
Explore the tables and views:
  psql "$conninfo" -c 'SELECT * FROM cjm.exit_points LIMIT 10'
  $cjmd report --config $config --format json
Stop the database:  scripts/pg-cluster.sh stop $state/pg
MSG
