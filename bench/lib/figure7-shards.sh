# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # globals of bench/run
# Figure 7: the bus (docs/scaling.md). A gateway publishes the simulated events to a
# 16-partition NATS JetStream bus (one nats-server, one replica); then 1, 2 and 3 shard
# daemons, each owning a share of the partitions, process the whole backlog into a fresh
# database. Measured: the gateway's and the shards' rate and CPU per event (cjmd,
# PostgreSQL, nats-server), from /proc. Sourced by bench/run.

shard_partitions=16
nats_pid=""
shard_pids=()

# start_nats: a nats-server with JetStream in $bench_dir/nats on a free port; sets nats_url.
start_nats() {
    local binary port dir=$bench_dir/nats
    binary=$(command -v nats-server || echo /usr/sbin/nats-server)
    [[ -x $binary ]] || die "figure 7 needs nats-server: apt-get install nats-server"
    rm -rf "$dir"
    mkdir -p "$dir"
    port=$(free_port)
    printf 'listen: 127.0.0.1:%s\njetstream { store_dir: "%s/store" }\n' "$port" "$dir" >"$dir/nats.conf"
    "$binary" -c "$dir/nats.conf" >"$bench_dir/logs/nats.log" 2>&1 &
    nats_pid=$!
    nats_url="nats://127.0.0.1:$port"
    local deadline=$((SECONDS + 20))
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        ((SECONDS < deadline)) || die "nats-server did not listen on $port; see $bench_dir/logs/nats.log"
        sleep 0.1
    done
}

# Stops the shard daemons still running (a failed run's included).
stop_shards() {
    local pid
    for pid in "${shard_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${shard_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    shard_pids=()
}

stop_nats() {
    stop_shards
    [[ -n $nats_pid ]] || return 0
    kill -TERM "$nats_pid" 2>/dev/null || true
    wait "$nats_pid" 2>/dev/null || true
    nats_pid=""
}

# bus_config DB FILE OWNED [SOCKET TCP METRICS]: a configuration of database DB with the
# bus as a jetstream source owning OWNED; with a socket, its sources forward to the bus.
bus_config() {
    local db=$1 file=$2 owned=$3
    write_config "$db" "$file" "${@:4}"
    awk -v url="$nats_url" -v owned="$owned" -v n="$shard_partitions" '
        /^sources:/ {
            print
            print "  - type: jetstream"
            print "    name: bus"
            print "    servers: [\"" url "\"]"
            print "    partitions: " n
            print "    owned_partitions: \"" owned "\""
            print "    idle_after: 1h"
            has_sources = 1
            next
        }
        /^    name: bench-(unix|tcp)$/ { print; print "    forward_to: bus"; next }
        /^service:/ && !has_sources {
            print "sources:"
            print "  - type: jetstream"
            print "    name: bus"
            print "    servers: [\"" url "\"]"
            print "    partitions: " n
            print "    owned_partitions: \"" owned "\""
            print "    idle_after: 1h"
            has_sources = 1
        }
        { print }
    ' "$file" >"$file.tmp" && mv "$file.tmp" "$file"
    "$cjmd" check-config --config "$file" >/dev/null 2>"$bench_dir/logs/check-${file##*/}.log" ||
        die "the bus configuration $file is invalid: $(cat "$bench_dir/logs/check-${file##*/}.log")"
}

figure_shards() {
    local events=$1 file lines db=bench_bus
    log "figure 7: about $(grouped "$events") events through a gateway, then 1, 2 and 3 shards"
    file=$(simulated_file "$events")
    lines=$(wc -l <"$file")
    start_nats
    fresh_database "$db"
    local socket=$bench_dir/gw.sock metrics tcp config=$bench_dir/config/gateway.yaml
    metrics=127.0.0.1:$(free_port)
    tcp=127.0.0.1:$(free_port)
    bus_config "$db" "$config" none "$socket" "$tcp" "$metrics"
    migrate "$config"
    start_daemon "$config" "$bench_dir/logs/gateway.log" "$metrics" "$socket"
    local gateway_pid=$daemon_pid started nats_before gateway_before
    nats_before=$(cpu_ticks "$nats_pid")
    gateway_before=$(cpu_ticks "$gateway_pid")
    started=$(now)
    # Every line, then one acknowledgement request: its answer comes once JetStream has all.
    python3 - "$socket" "$file" <<'EOF' || die "sending $file to the gateway failed"
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
with open(sys.argv[2], "rb") as f:
    while chunk := f.read(1 << 20):
        s.sendall(chunk)
s.sendall(b'{"ack": true}\n')
answer = b""
while not answer.endswith(b"\n"):
    part = s.recv(4096)
    if not part:
        sys.exit("the gateway closed the connection before answering")
    answer += part
print(answer.decode().strip(), file=sys.stderr)
EOF
    local gateway_seconds gateway_ticks nats_ticks
    gateway_seconds=$(calc "$(now) - $started")
    gateway_ticks=$(($(cpu_ticks "$gateway_pid") - gateway_before))
    nats_ticks=$(($(cpu_ticks "$nats_pid") - nats_before))
    stop_daemon
    local tick
    tick=$(getconf CLK_TCK)
    record "bus_gateway lines=$lines seconds=$gateway_seconds cjmd_ticks=$gateway_ticks nats_ticks=$nats_ticks clk_tck=$tick"
    row "7. gateway → JetStream (16 partitions, R1), events/s ($(grouped "$lines") events)" \
        "$(grouped "$(calc "$lines / $gateway_seconds")")" "" "" "" ""
    row "7. gateway CPU per event, µs: cjmd · nats-server" \
        "$(fmt 1 "$(calc "$gateway_ticks * 1000000 / $tick / $lines")") · $(fmt 1 "$(calc "$nats_ticks * 1000000 / $tick / $lines")")" \
        "" "" "" ""

    local shards owned_sets
    for shards in 1 2 3; do
        case $shards in
        1) owned_sets=("0-15") ;;
        2) owned_sets=("0-7" "8-15") ;;
        3) owned_sets=("0-5" "6-10" "11-15") ;;
        esac
        local shard_db=bench_shards$shards pids=() index=0 owned
        fresh_database "$shard_db"
        for owned in "${owned_sets[@]}"; do
            bus_config "$shard_db" "$bench_dir/config/shard$shards-$index.yaml" "$owned"
            index=$((index + 1))
        done
        migrate "$bench_dir/config/shard$shards-0.yaml"
        psqlx "$shard_db" -c "CHECKPOINT" >/dev/null
        local postgres_before cjmd_ticks=0 pid
        postgres_before=$(cluster_cpu_ticks)
        nats_before=$(cpu_ticks "$nats_pid")
        started=$(now)
        for ((index = 0; index < shards; index++)); do
            "$cjmd" run --config "$bench_dir/config/shard$shards-$index.yaml" \
                >"$bench_dir/logs/shard$shards-$index.log" 2>&1 &
            pids+=($!)
            shard_pids+=($!)
        done
        local stored=0 deadline=$((SECONDS + 1800))
        until ((stored >= lines)); do
            ((SECONDS < deadline)) || die "$shards shard(s) stored $stored of $lines events in 30 minutes; logs in $bench_dir/logs"
            for pid in "${pids[@]}"; do
                kill -0 "$pid" 2>/dev/null || die "a shard exited; see $bench_dir/logs/shard$shards-*.log"
            done
            sleep 0.2
            stored=$(sql_value "$shard_db" "SELECT count(*) FROM cjm.event_rows")
        done
        local seconds
        seconds=$(calc "$(now) - $started")
        for pid in "${pids[@]}"; do cjmd_ticks=$((cjmd_ticks + $(cpu_ticks "$pid"))); done
        nats_ticks=$(($(cpu_ticks "$nats_pid") - nats_before))
        stop_shards
        settle_cluster
        local postgres_ticks=$(($(cluster_cpu_ticks) - postgres_before))
        local per_event="* 1000000 / $tick / $lines"
        record "bus_shards shards=$shards lines=$lines seconds=$seconds cjmd_ticks=$cjmd_ticks postgres_ticks=$postgres_ticks nats_ticks=$nats_ticks"
        row "7. $shards shard(s) ($(IFS=' '; echo "${owned_sets[*]}")), backlog events/s" \
            "$(grouped "$(calc "$lines / $seconds")")" \
            "CPU µs/event: cjmd $(fmt 1 "$(calc "$cjmd_ticks $per_event")") · PostgreSQL $(fmt 1 "$(calc "$postgres_ticks $per_event")") · nats-server $(fmt 1 "$(calc "$nats_ticks $per_event")")" \
            "" "" ""
        psqlx postgres -c "DROP DATABASE $shard_db WITH (FORCE)" >/dev/null || true
    done
    stop_nats
}
