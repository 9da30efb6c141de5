#!/usr/bin/env bash
# The project's one test command: installs missing dependencies, starts a throwaway
# PostgreSQL cluster, runs `swift test` against it (extra arguments are passed on, e.g.
# --filter PostgresClientTests), and removes the cluster afterwards, also on failure.
#
# Tests find the database through CJM_TEST_DATABASE_URL; CJM_REQUIRE_DATABASE=1 makes a
# sentinel test fail when it is unreachable, so database tests can never be skipped silently.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/ensure-deps.sh --tests
# The real analytics SDKs the HTTP source is tested with (PyPI, pinned). Without PyPI the
# SDK suite is skipped with a warning; CJM_REQUIRE_SDKS=1 makes that an error.
if sdk_python=$(bash scripts/sdk-clients.sh); then
    export CJM_SDK_PYTHON=$sdk_python
elif [[ ${CJM_REQUIRE_SDKS:-0} == 1 ]]; then
    echo "test.sh: could not install the analytics SDKs (scripts/sdk-clients.sh)" >&2
    exit 1
else
    echo "test.sh: WARNING: could not install the analytics SDKs; their tests are skipped" >&2
fi

# Formatting is part of the suite: the formatter ships with the toolchain. Fix findings with
#   swift format format -i -r Sources Tests
if ! swift format lint --strict -r --configuration .swift-format Sources Tests; then
    echo "test.sh: swift format lint found the problems above; run: swift format format -i -r Sources Tests" >&2
    exit 1
fi
echo "test.sh: swift format lint: clean" >&2

cluster_dir=$(mktemp -d /tmp/cjm-test-pg.XXXXXX)
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    bash scripts/pg-cluster.sh stop "$cluster_dir" >/dev/null 2>&1 || true
    rm -rf "$cluster_dir"
}
trap cleanup EXIT
# Turn signals into a normal exit so the EXIT trap runs.
trap 'exit 130' INT
trap 'exit 143' TERM

bash scripts/pg-cluster.sh start "$cluster_dir" --fast --database cjm_test
# The outage test stops and restarts this cluster.
export CJM_TEST_CLUSTER_DIR=$cluster_dir
CJM_TEST_DATABASE_URL=$(bash scripts/pg-cluster.sh conninfo "$cluster_dir")
export CJM_TEST_DATABASE_URL
export CJM_REQUIRE_DATABASE=1
# ensure-deps installed chromium: the screenshot test must not skip.
export CJM_REQUIRE_CHROMIUM=1
# ... and nats-server: the JetStream tests must not skip either.
export CJM_REQUIRE_NATS=1

status=0
# Release mode: the differential tests run thousands of random scenarios, which a debug
# build would take ten times longer for. -enable-testing keeps @testable imports working.
# Serially: the machine has 2 cores, so the Swift concurrency pool has 2 threads, and tests
# that block (database round trips, child processes) running side by side starve the
# async ones (HTTP servers, timers) into spurious time-outs.
# The output is also kept in a log so that a failure can be summarised at the end: CI
# shows only the tail of a long run, where the failing test would otherwise be lost.
# Line-buffered (stdbuf): through a pipe the test binary's output would otherwise arrive in
# 4 KiB blocks, and a run stopped from outside would lose the lines naming the running test.
# A watcher stops a run that prints nothing for CJM_TEST_STALL_MINUTES (default 15) and
# reports the stacks of what hung; see scripts/stall-watch.sh.
log=$(mktemp /tmp/cjm-test-log.XXXXXX)
status_file=$(mktemp /tmp/cjm-test-status.XXXXXX)
stall_report="$log.stall"
{
    stdbuf -oL -eL swift test -c release -Xswiftc -enable-testing --no-parallel "$@" 2>&1
    echo $? >"$status_file"
} | tee "$log" &
run=$!
bash scripts/stall-watch.sh "$log" "${CJM_TEST_STALL_MINUTES:-15}" "$stall_report" $$ &
watcher=$!
wait "$run" || true
kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true
status=$(cat "$status_file" 2>/dev/null || true)
rm -f "$status_file"
[[ $status =~ ^[0-9]+$ ]] || status=1
if [ -s "$stall_report" ] && [ "$status" -eq 0 ]; then status=1; fi
if [ "$status" -ne 0 ]; then
    echo
    echo "==== failures (full log: $log) ===="
    grep -E -A12 'recorded an issue|error: |Fatal error|crashed|timed out' "$log" | head -n 400 || true
    grep -E '^✘|✘ Test|✘ Suite' "$log" | head -n 100 || true
    # Last, so that it is in the tail CI shows.
    if [ -s "$stall_report" ]; then cat "$stall_report"; fi
else
    rm -f "$log"
fi
exit "$status"
