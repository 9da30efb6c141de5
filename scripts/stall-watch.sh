#!/usr/bin/env bash
# Usage: stall-watch.sh LOG MINUTES REPORT ROOT_PID
#
# Watches the test run's log. When it has not grown for MINUTES (no test prints for that
# long: the longest test takes under 2 minutes here), the run is stuck: this writes REPORT
# with the tests still running, the process tree and the stacks of the test binary and of
# every cjmd it started, then kills them, so that the run fails with a name and a stack
# instead of running into CI's time limit with nothing to show.
set -uo pipefail
log=$1 minutes=$2 report=$3 root=$4
limit=$((minutes * 60))

descendants() {
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        echo "$child"
        descendants "$child"
    done
}

test_binary() {
    local pid
    for pid in $(descendants "$root"); do
        if { tr '\0' ' ' </proc/"$pid"/cmdline; } 2>/dev/null | grep -q 'PackageTests\.xctest'; then
            echo "$pid"
            return
        fi
    done
}

# Only time while the test binary runs: building, or waiting for another SwiftPM that
# holds the build folder, is not a stall of the tests.
last_size=-1 quiet=0
while sleep 15; do
    tests=$(test_binary)
    size=$(stat -c %s "$log" 2>/dev/null || echo 0)
    if [[ -z $tests || $size != "$last_size" ]]; then last_size=$size quiet=0; continue; fi
    quiet=$((quiet + 15))
    ((quiet >= limit)) || continue

    {
        echo "==== stalled: no test output for $minutes minutes; the run is stopped ===="
        echo "-- started and not finished (last lines of the log):"
        grep -E '◇ (Test|Suite)' "$log" | tail -n 4
        echo "-- processes:"
        ps -o pid,stat,etime,args -p "$tests" $(descendants "$tests" | tr '\n' ' ') 2>/dev/null | cut -c1-200
        for pid in $tests $(descendants "$tests"); do
            [[ -r /proc/$pid/cmdline ]] || continue
            echo "-- stacks of $pid: $(tr '\0' ' ' </proc/"$pid"/cmdline | cut -c1-160)"
            if command -v gdb >/dev/null 2>&1; then
                timeout 120 gdb -p "$pid" -batch -ex 'thread apply all bt 16' 2>/dev/null \
                    | grep -E '^Thread|^#' | grep -vE ' in (\?\?|syscall|__GI___|epoll_wait|futex)' | head -n 120
            else
                for task in /proc/"$pid"/task/*; do echo "$(basename "$task") $(cat "$task"/wchan 2>/dev/null)"; done
            fi
            log_of=$(readlink /proc/"$pid"/fd/2 2>/dev/null || true)
            if [[ $pid != "$tests" && -f $log_of ]]; then
                echo "-- last lines of its log ($log_of):"
                tail -n 20 "$log_of" | cut -c1-300
            fi
        done
        kill -KILL $(descendants "$tests") "$tests" 2>/dev/null
    } >"$report" 2>&1
    exit 0
done
