# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # globals of bench/run
# Figure 2: live ingest over sockets from concurrent clients with acknowledgements, and the
# time from sending an event to seeing it in the funnel. Sourced by bench/run.

# loadgen_value OUTPUT KEY: a key=value line of the load generator's output.
loadgen_value() { awk -F= -v k="$2" '$1 == k { print $2 }' <<<"$1"; }

figure_live() {
    local db=bench_live config=$bench_dir/config/bench_live.yaml socket=$bench_dir/live.sock
    local tcp metrics endpoint
    tcp=127.0.0.1:$(free_port)
    metrics=127.0.0.1:$(free_port)
    log "figure 2: live ingest from $connections clients over $transport sockets"
    fresh_database "$db"
    write_config "$db" "$config" "$socket" "$tcp" "$metrics"
    migrate "$config"
    if [[ -n ${BENCH_PRESQL:-} ]]; then
        psqlx "$db" -c "$BENCH_PRESQL" >/dev/null || die "BENCH_PRESQL failed on $db"
    fi
    local lateness
    lateness=$(config_lateness "$config")
    if [[ $transport == tcp ]]; then endpoint=(--tcp "$tcp"); else endpoint=(--socket "$socket"); fi
    quiet_cluster
    start_daemon "$config" "$bench_dir/logs/run-live.log" "$metrics" "$socket"
    # CPU time over both runs, per acknowledged event: what each process spends on one event,
    # and so what the cores can sustain at best. The load generator's is its runs' own (a
    # command substitution's children are reaped before it returns).
    local cjmd_ticks_start postgres_ticks_start loadgen_ticks=0 before
    cjmd_ticks_start=$(cpu_ticks "$daemon_pid")
    postgres_ticks_start=$(cluster_cpu_ticks)

    # (a) As fast as the daemon acknowledges: the sustained rate.
    local warmup saturated
    warmup=$(awk -v s="$live_seconds" -v l="$lateness" 'BEGIN { w = 2 * l + 2; if (w > s / 2) w = s / 2; printf "%d\n", (w < 1 ? 1 : w) }')
    log "(a) saturating for $live_seconds s (the first $warmup s are warm-up)"
    before=$(children_cpu_ticks)
    saturated=$("$loadgen" live "${endpoint[@]}" --connections "$connections" --seconds "$live_seconds" \
        --warmup-seconds "$warmup" --ack-every 1000 --max-outstanding 8 \
        --probe-conninfo "$(conninfo_of "$db")" --probe-interval-ms 100) ||
        die "the load generator failed (saturated run); daemon log: $bench_dir/logs/run-live.log"
    loadgen_ticks=$((loadgen_ticks + $(children_cpu_ticks) - before))
    record "live_saturated $(tr '\n' ' ' <<<"$saturated")"
    local rate
    rate=$(loadgen_value "$saturated" steady_events_per_second)
    [[ $rate =~ ^[0-9]+$ && $rate -gt 0 ]] || die "no steady rate measured (load generator output: $saturated)"

    # (b) Paced at a fraction of that rate: latency at a load the daemon keeps up with (at
    # saturation it is the clients' window divided by the rate, whatever the daemon does).
    local paced_rate paced
    paced_rate=$(awk -v r="$rate" -v f="$paced_fraction" 'BEGIN { printf "%d\n", r * f }')
    log "(b) paced at $(grouped "$paced_rate") events/s for $live_seconds s"
    before=$(children_cpu_ticks)
    paced=$("$loadgen" live "${endpoint[@]}" --connections "$connections" --seconds "$live_seconds" \
        --warmup-seconds "$warmup" --rate "$paced_rate" --ack-every 100 --max-outstanding 64 \
        --probe-conninfo "$(conninfo_of "$db")" --probe-interval-ms 100) ||
        die "the load generator failed (paced run); daemon log: $bench_dir/logs/run-live.log"
    loadgen_ticks=$((loadgen_ticks + $(children_cpu_ticks) - before))
    record "live_paced $(tr '\n' ' ' <<<"$paced")"
    # Whether the daemon kept up with the offered rate; if not, its queue grew all along and
    # the latency measures that growth.
    local paced_steady kept_up
    paced_steady=$(loadgen_value "$paced" steady_events_per_second)
    kept_up=$(awk -v s="$paced_steady" -v r="$paced_rate" 'BEGIN { print (s >= 0.97 * r) ? "yes" : "no" }')
    record "live_paced_kept_up $kept_up offered=$paced_rate steady=$paced_steady"
    [[ $kept_up == yes ]] || log "warning: paced at $paced_rate events/s the daemon acknowledged only $paced_steady/s; latency includes its growing queue (lower BENCH_PACED_FRACTION)"
    # Before the stop: the daemon's process is gone after it (its last derived write, a
    # fraction of a second, is left out).
    local cjmd_ticks postgres_ticks tick events
    cjmd_ticks=$(($(cpu_ticks "$daemon_pid") - cjmd_ticks_start))
    postgres_ticks=$(($(cluster_cpu_ticks) - postgres_ticks_start))
    tick=$(getconf CLK_TCK)
    events=$(($(loadgen_value "$saturated" events_acked) + $(loadgen_value "$paced" events_acked)))
    record "live_cpu events=$events clk_tck=$tick cjmd_ticks=$cjmd_ticks postgres_ticks=$postgres_ticks loadgen_ticks=$loadgen_ticks"

    # (c) Saturated again, with the live journey map requested every second (docs/map.md):
    # the map must not slow ingestion beyond noise. BENCH_MAP=0 leaves it out.
    local mapped="" map_log=$bench_dir/logs/map-requests.txt map_journey map_loop
    if [[ ${BENCH_MAP:-1} != 0 ]]; then
        map_journey=$(sql_value "$db" "SELECT journey FROM cjm.journey_stages ORDER BY journey_order, stage_index LIMIT 1")
        log "(c) saturating again for $live_seconds s with GET /map/$map_journey every second"
        : >"$map_log"
        (while :; do
            curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}\n' "http://$metrics/map/$map_journey" >>"$map_log" || true
            sleep 1
        done) &
        map_loop=$!
        mapped=$("$loadgen" live "${endpoint[@]}" --connections "$connections" --seconds "$live_seconds" \
            --warmup-seconds "$warmup" --ack-every 1000 --max-outstanding 8) ||
            { kill "$map_loop" 2>/dev/null; die "the load generator failed (run with /map); daemon log: $bench_dir/logs/run-live.log"; }
        kill "$map_loop" 2>/dev/null
        wait "$map_loop" 2>/dev/null || true
        record "live_map $(tr '\n' ' ' <<<"$mapped")"
    fi
    stop_daemon

    # The synthetic customers went all the way through the journey.
    local funnel
    funnel=$(sql_value "$db" "SELECT string_agg(stage_index || ':' || reached, ' ' ORDER BY stage_index) FROM cjm.funnel")
    record "live_funnel $funnel"
    [[ $(awk '{ split($NF, a, ":"); print (a[2] > 0) }' <<<"$funnel") == 1 ]] ||
        log "warning: the last stage of the live run's funnel is empty ($funnel): do the load generator's event names match the journey?"

    local met p50 p99 sat_p50 sat_p99 beyond
    met=$(awk -v r="$rate" 'BEGIN { print (r >= 100000) ? "yes" : "no" }')
    row "2. socket ingest, events/s sustained ($connections clients, acks)" "$(grouped "$rate")" "" "" "≥ 100,000" "$met"
    p50=$(loadgen_value "$paced" visible_p50_seconds)
    p99=$(loadgen_value "$paced" visible_p99_seconds)
    [[ $p99 =~ ^[0-9.]+$ ]] || die "no latency probe became visible in the funnel (probes_unresolved=$(loadgen_value "$paced" probes_unresolved)); daemon log: $bench_dir/logs/run-live.log"
    beyond=$(calc "$p99 - $lateness")
    met=$(awk -v b="$beyond" 'BEGIN { print (b <= 1) ? "yes" : "no" }')
    local label
    label="2. send → visible in funnel, p50 / p99 s, at $(grouped "$paced_rate")/s"
    [[ $kept_up == yes ]] || label+=" (daemon fell behind: $(grouped "$paced_steady")/s)"
    row "$label" "$(fmt 2 "$p50") / $(fmt 2 "$p99")" \
        "allowed_lateness $(fmt 1 "$lateness") s (held by design)" "p99 − lateness: $(fmt 2 "$beyond") s" "p99 ≤ 1 s beyond lateness" "$met"
    local cjmd_us postgres_us loadgen_us ceiling
    cjmd_us=$(calc "$cjmd_ticks * 1000000 / $tick / $events")
    postgres_us=$(calc "$postgres_ticks * 1000000 / $tick / $events")
    loadgen_us=$(calc "$loadgen_ticks * 1000000 / $tick / $events")
    ceiling=$(calc "$(nproc) * 1000000 / ($cjmd_us + $postgres_us + $loadgen_us)")
    row "2. CPU per acknowledged event, µs: cjmd · PostgreSQL · load generator (both runs)" \
        "$(fmt 1 "$cjmd_us") · $(fmt 1 "$postgres_us") · $(fmt 1 "$loadgen_us")" "" \
        "at 100 % of $(nproc) cores: $(grouped "$ceiling") events/s" "" ""
    sat_p50=$(loadgen_value "$saturated" visible_p50_seconds)
    sat_p99=$(loadgen_value "$saturated" visible_p99_seconds)
    row "2. (saturated) send → visible, p50 / p99 s" "$(fmt 2 "$sat_p50") / $(fmt 2 "$sat_p99")" "" "" "" ""
    if [[ -n $mapped ]]; then
        local map_rate map_ratio requests failed map_p50 map_p99
        map_rate=$(loadgen_value "$mapped" steady_events_per_second)
        map_ratio=$(calc "$map_rate / $rate")
        requests=$(wc -l <"$map_log")
        failed=$(awk '$1 != 200' "$map_log" | wc -l)
        map_p50=$(awk '{ print $2 * 1000 }' "$map_log" | sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "") }')
        map_p99=$(awk '{ print $2 * 1000 }' "$map_log" | sort -n | awk '{ v[NR] = $1 } END { i = int(NR * 0.99 + 0.999); if (i < 1) i = 1; print (NR ? v[i] : "") }')
        record "live_map_requests requests=$requests failed=$failed p50_ms=$map_p50 p99_ms=$map_p99"
        met=$(awk -v r="$map_ratio" 'BEGIN { print (r >= 0.9) ? "yes" : "no" }')
        row "2. socket ingest with GET /map every second, events/s (map: $requests requests, $failed not 200, p50 / p99 $(fmt 0 "$map_p50") / $(fmt 0 "$map_p99") ms)" \
            "$(grouped "$map_rate")" "run (a) without it: $(grouped "$rate")" "$(ratio_text "$map_ratio")" "no slower beyond noise (≥ 0.9×)" "$met"
    fi
}
