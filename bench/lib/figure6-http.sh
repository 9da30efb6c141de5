# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # globals of bench/run
# Figure 6: SDK ingest over HTTP — Segment /v1/batch requests of 100 events from wrk
# (bench/lib/http-batch.lua) — as a ratio to figure 2's socket ingest in the same run.
# Sourced by bench/run.

figure_http() {
    local db=bench_http config=$bench_dir/config/bench_http.yaml socket=$bench_dir/http.sock
    local tcp port metrics
    tcp=127.0.0.1:$(free_port)
    port=$(free_port)
    metrics=127.0.0.1:$(free_port)
    log "figure 6: SDK batches over HTTP (wrk, $http_connections connections, 100 events a request)"
    fresh_database "$db"
    write_config "$db" "$config" "$socket" "$tcp" "$metrics"
    # The http source beside the socket ones (write key "bench", as the Lua script sends it).
    awk -v port="$port" '{ print } /^sources:/ { print "  - type: http"; print "    name: bench-http";
        print "    listen: 127.0.0.1:" port; print "    write_keys: [bench]" }' "$config" >"$config.tmp" &&
        mv "$config.tmp" "$config"
    "$cjmd" check-config --config "$config" >/dev/null 2>&1 || die "the http configuration $config is invalid"
    migrate "$config"
    if [[ -n ${BENCH_PRESQL:-} ]]; then
        psqlx "$db" -c "$BENCH_PRESQL" >/dev/null || die "BENCH_PRESQL failed on $db"
    fi
    quiet_cluster
    start_daemon "$config" "$bench_dir/logs/run-http.log" "$metrics" "$socket"
    local cjmd_ticks_start postgres_ticks_start before output
    cjmd_ticks_start=$(cpu_ticks "$daemon_pid")
    postgres_ticks_start=$(cluster_cpu_ticks)
    before=$(children_cpu_ticks)
    output=$(wrk -t 2 -c "$http_connections" -d "${live_seconds}s" --timeout 30s -s "$bench/lib/http-batch.lua" \
        "http://127.0.0.1:$port/v1/batch") || die "wrk failed: $output"
    local wrk_ticks=$(($(children_cpu_ticks) - before))
    local cjmd_ticks=$(($(cpu_ticks "$daemon_pid") - cjmd_ticks_start))
    local postgres_ticks=$(($(cluster_cpu_ticks) - postgres_ticks_start))
    stop_daemon
    local value ok failed seconds per p50 p99
    value() { awk -F= -v k="$1" '$1 == k { print $2 }' <<<"$output"; }
    ok=$(value http_ok_requests)
    failed=$(value http_failed_requests)
    seconds=$(value http_seconds)
    per=$(value http_events_per_request)
    p50=$(value http_latency_p50_ms)
    p99=$(value http_latency_p99_ms)
    [[ $ok =~ ^[0-9]+$ && $ok -gt 0 ]] || die "no HTTP batch got its 200 (wrk output: $output); daemon log: $bench_dir/logs/run-http.log"
    local events rate stored tick
    events=$((ok * per))
    rate=$(calc "$events / $seconds")
    stored=$(sql_value "$db" "SELECT count(*) FROM cjm.event_rows")
    tick=$(getconf CLK_TCK)
    record "http ok_requests=$ok failed_requests=$failed seconds=$seconds events=$events stored=$stored events_per_second=$rate p50_ms=$p50 p99_ms=$p99"
    record "http_cpu events=$events clk_tck=$tick cjmd_ticks=$cjmd_ticks postgres_ticks=$postgres_ticks wrk_ticks=$wrk_ticks"
    ((stored >= events)) || log "warning: $events events answered 200 but $stored stored"
    local socket_rate ratio met baseline
    socket_rate=$(awk '$1 == "live_saturated" { for (i = 2; i <= NF; i++) if ($i ~ /^steady_events_per_second=/) { split($i, a, "="); v = a[2] } } END { print v }' "$results")
    if [[ $socket_rate =~ ^[0-9.]+$ ]] && [[ $(awk -v r="$socket_rate" 'BEGIN { print (r > 0) }') == 1 ]]; then
        ratio=$(calc "$rate / $socket_rate")
        met=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.7) ? "yes" : "no" }')
        baseline="socket ingest (figure 2, same run): $(grouped "$socket_rate")"
    else
        ratio="" met="n/a (run figure 2 too)" baseline="socket ingest: not measured (BENCH_ONLY without 2)"
    fi
    row "6. SDK ingest over HTTP, events/s (/v1/batch, 100 a request, $http_connections connections; $failed not 200)" \
        "$(grouped "$rate")" "$baseline" "$(ratio_text "$ratio")" "≥ 0.7× socket ingest" "$met"
    local cjmd_us postgres_us wrk_us
    cjmd_us=$(calc "$cjmd_ticks * 1000000 / $tick / $events")
    postgres_us=$(calc "$postgres_ticks * 1000000 / $tick / $events")
    wrk_us=$(calc "$wrk_ticks * 1000000 / $tick / $events")
    row "6. CPU per event answered 200, µs: cjmd · PostgreSQL · wrk; request p50 / p99 ms" \
        "$(fmt 1 "$cjmd_us") · $(fmt 1 "$postgres_us") · $(fmt 1 "$wrk_us"); $(fmt 0 "$p50") / $(fmt 0 "$p99")" "" "" "" ""
}
