# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # globals of bench/run
# Starting and stopping `cjmd run` for the socket and memory figures; sourced by bench/run.

daemon_pid=""

# start_daemon CONFIG LOG METRICS_ADDRESS SOCKET: starts `cjmd run` and waits until /healthz
# answers 200 (database reachable, every source listening) and the socket exists.
start_daemon() {
    local config=$1 logfile=$2 metrics=$3 socket=$4
    ((${#socket} < 104)) || die "the socket path $socket is too long for a Unix socket; use a shorter BENCH_DIR"
    rm -f "$socket"
    "$cjmd" run --config "$config" >"$logfile" 2>&1 &
    daemon_pid=$!
    local deadline=$((SECONDS + 60))
    until http_get "$metrics" /healthz >/dev/null 2>&1 && [[ -S $socket ]]; do
        if ! kill -0 "$daemon_pid" 2>/dev/null; then
            wait "$daemon_pid" || true
            daemon_pid=""
            die "cjmd run exited at start; its log ($logfile):"$'\n'"$(tail -n 20 "$logfile")"
        fi
        ((SECONDS < deadline)) || die "cjmd run not ready after 60 s (no 200 from http://$metrics/healthz); log: $logfile"
        sleep 0.2
    done
    log "cjmd run ready (pid $daemon_pid)"
}

# Stops the daemon with SIGTERM (it commits what it accepted) and waits for it.
stop_daemon() {
    [[ -n $daemon_pid ]] || return 0
    local pid=$daemon_pid status=0
    daemon_pid=""
    kill -TERM "$pid" 2>/dev/null || return 0
    local deadline=$((SECONDS + 120))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
        log "cjmd run (pid $pid) still running 120 s after SIGTERM; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || status=$?
    ((status == 0)) || log "cjmd run exited with status $status"
}

# wait_for_metric ADDRESS NAME OP VALUE TIMEOUT: polls /metrics until NAME OP VALUE holds
# (OP: ge or eq); prints the last value.
wait_for_metric() {
    local address=$1 name=$2 op=$3 want=$4 timeout=$5 value=""
    local deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        value=$(metric "$address" "$name" 2>/dev/null || true)
        if [[ -n $value ]]; then
            case $op in
            ge) ((value >= want)) && break ;;
            eq) ((value == want)) && break ;;
            esac
        fi
        kill -0 "$daemon_pid" 2>/dev/null || die "cjmd run stopped while waiting for $name"
        sleep 0.5
    done
    printf '%s\n' "$value"
}
