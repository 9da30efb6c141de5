# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # globals of bench/run
# Figure 3: resident memory per open journey instance. Sourced by bench/run.

figure_memory() {
    local db=bench_open config=$bench_dir/config/bench_open.yaml socket=$bench_dir/open.sock
    local tcp metrics
    tcp=127.0.0.1:$(free_port)
    metrics=127.0.0.1:$(free_port)
    log "figure 3: resident memory at $(grouped "$open_instances") open instances"
    fresh_database "$db"
    write_config "$db" "$config" "$socket" "$tcp" "$metrics"
    migrate "$config"
    local lateness
    lateness=$(config_lateness "$config")
    start_daemon "$config" "$bench_dir/logs/run-open.log" "$metrics" "$socket"
    sleep 2
    local rss_start
    rss_start=$(rss_kb "$daemon_pid")

    # A warm-up batch first, so that one-time allocations (event loops, connection and
    # batch buffers) are not charged to the instances; then the measured instances. Every
    # instance is one stage-0 event of a new customer, stamped now, acknowledged.
    open_and_settle "$socket" "$metrics" "$open_warmup" "$open_warmup" w "$lateness" >/dev/null
    wait_for_instance_rows "$db" "$open_warmup"
    local rss_before
    rss_before=$(rss_kb "$daemon_pid")
    local output
    output=$(open_and_settle "$socket" "$metrics" "$open_instances" $((open_warmup + open_instances)) m "$lateness")
    wait_for_instance_rows "$db" $((open_warmup + open_instances))
    local rss_after hwm open_sql
    rss_after=$(rss_kb "$daemon_pid")
    hwm=$(rss_kb "$daemon_pid" VmHWM)
    open_sql=$(sql_value "$db" "SELECT count(*) FROM cjm.journey_instances WHERE exited_at IS NULL")
    stop_daemon
    ((open_sql >= open_warmup + open_instances)) ||
        die "only $open_sql open instances in cjm.journey_instances; expected $((open_warmup + open_instances))"

    local per_instance from_start
    per_instance=$(calc "($rss_after - $rss_before) * 1024 / $open_instances")
    from_start=$(calc "($rss_after - $rss_start) * 1024 / ($open_instances + $open_warmup)")
    record "memory instances=$open_instances warmup=$open_warmup open_in_sql=$open_sql rss_start_kib=$rss_start" \
        "rss_before_kib=$rss_before rss_after_kib=$rss_after hwm_kib=$hwm bytes_per_instance=$per_instance" \
        "bytes_per_instance_from_start=$from_start $(tr '\n' ' ' <<<"$output")"
    local met
    met=$(awk -v b="$per_instance" 'BEGIN { print (b <= 300) ? "yes" : "no" }')
    row "3. resident bytes per open instance ($(grouped "$open_instances") open, ${id_bytes}-byte ids)" \
        "$(grouped "$per_instance")" "RSS $(grouped "$rss_before") → $(grouped "$rss_after") KiB" \
        "" "≤ 300" "$met"
}

# open_and_settle SOCKET METRICS COUNT TOTAL TAG LATENESS: opens COUNT instances through the
# socket, then waits until the engine holds TOTAL open instances and nothing is left in the
# reorder buffer or the commit queue (events wait there allowed_lateness first).
open_and_settle() {
    local socket=$1 metrics=$2 count=$3 total=$4 tag=$5 lateness=$6 output
    output=$("$loadgen" open --socket "$socket" --instances "$count" --connections "$connections" \
        --id-bytes "$id_bytes" --tag "$tag$(date +%s)") ||
        die "the load generator failed opening instances; daemon log: $bench_dir/logs/run-open.log"
    local timeout open
    timeout=$(awk -v n="$count" -v l="$lateness" 'BEGIN { printf "%d\n", 120 + l + n / 1000 }')
    open=$(wait_for_metric "$metrics" cjmd_open_instances ge "$total" "$timeout")
    ((open >= total)) || die "cjmd_open_instances is $open, expected $total after $timeout s"
    wait_for_metric "$metrics" cjmd_reorder_buffer_events eq 0 "$timeout" >/dev/null
    wait_for_metric "$metrics" cjmd_buffer_events eq 0 "$timeout" >/dev/null
    # One more idle commit round, so that what the last batch allocated is settled.
    sleep 2
    printf '%s\n' "$output"
}

# wait_for_instance_rows DB COUNT: waits until the derived rows of COUNT open instances are
# written (the engine applied them before; the write of a burst of a million takes seconds),
# then for the idle commit round after it, in which the daemon hands freed memory back: the
# reading is of settled memory, not of a write's buffers.
wait_for_instance_rows() {
    local db=$1 count=$2 waited=0
    until (($(sql_value "$db" "SELECT count(*) FROM cjm.instance_rows WHERE exited_at IS NULL") >= count)); do
        ((waited++ < 600)) || die "the derived rows of $count open instances were not written within 5 minutes"
        sleep 0.5
    done
    sleep 3
}
