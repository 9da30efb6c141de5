# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # globals of bench/run
# Helpers shared by the benchmark's steps; sourced by bench/run, not run on its own.

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
    printf 'bench: error: %s\n' "$*" >&2
    exit 1
}

# Seconds since the epoch with microseconds, without forking (bash 5).
now() { printf '%s\n' "$EPOCHREALTIME"; }

# Arithmetic on decimals: calc 'EXPR' prints the value with up to 6 decimals.
calc() { awk "BEGIN { v = $1; if (v == int(v)) printf \"%d\\n\", v; else printf \"%.6f\\n\", v }"; }
# fmt DECIMALS VALUE
fmt() { awk -v d="$1" -v v="$2" 'BEGIN { if (v == "" || v == "nan") print "n/a"; else printf "%.*f\n", d, v }'; }
# A ratio as text: one decimal below 10, none above (0.08× stays 0.08×).
ratio_text() { awk -v v="$1" 'BEGIN { if (v == "" || v == "nan") print "n/a"; else if (v < 1) printf "%.2f×\n", v; else if (v < 10) printf "%.1f×\n", v; else printf "%.0f×\n", v }'; }
# Thousands separators for whole numbers: 1234567 → 1,234,567.
grouped() { awk -v v="$1" 'BEGIN { s = sprintf("%.0f", v); r = ""; while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }; print s r }'; }

# Nearest-rank percentile of the numbers on standard input: percentile 0.99
percentile() {
    sort -g | awk -v q="$1" '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        r = q * NR; k = int(r); if (k < r) k++; if (k < 1) k = 1; print v[k] }'
}

# Appends "key value…" to the raw results file.
record() { printf '%s\n' "$*" >>"$results"; }

# cpu_ticks PID...: CPU time (user + system, clock ticks) the processes used, and their
# children once reaped; missing processes count 0.
cpu_ticks() {
    local total=0 pid fields
    local -a f
    for pid in "$@"; do
        [[ -r /proc/$pid/stat ]] || continue
        # After the command name's closing parenthesis: field 3 on; utime, stime, cutime,
        # cstime are fields 14–17.
        fields=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
        read -r -a f <<<"$fields"
        total=$((total + f[11] + f[12] + f[13] + f[14]))
    done
    echo "$total"
}

# cluster_cpu_ticks: CPU time of the private PostgreSQL (postmaster, every process it
# started, and those that exited).
cluster_cpu_ticks() {
    local postmaster
    postmaster=$(head -1 "$bench_dir/pg/data/postmaster.pid" 2>/dev/null) || { echo 0; return; }
    # shellcheck disable=SC2046  # one pid per word
    cpu_ticks "$postmaster" $(pgrep -P "$postmaster")
}

# settle_cluster: waits (up to 5 s) until the backends of the sessions that just ended are
# reaped. A backend's CPU time moves into the postmaster's cutime only then; read before,
# cluster_cpu_ticks would miss the whole session (a \copy measured 0.1 µs per row so).
# Call before reading cluster_cpu_ticks after a client exits.
settle_cluster() {
    local postmaster i
    postmaster=$(head -1 "$bench_dir/pg/data/postmaster.pid" 2>/dev/null) || return 0
    for ((i = 0; i < 100; i++)); do
        # Client backends (their title names a database and [local]) and zombies.
        if ! pgrep -P "$postmaster" -f '\[local\]' >/dev/null &&
            ! grep -qs '^[0-9]* ([^)]*) Z' $(pgrep -P "$postmaster" | sed 's|.*|/proc/&/stat|'); then
            return 0
        fi
        sleep 0.05
    done
}

# children_cpu_ticks: CPU time of this shell's reaped children (cutime + cstime).
children_cpu_ticks() {
    local fields
    local -a f
    fields=$(sed 's/^.*) //' "/proc/$$/stat")
    read -r -a f <<<"$fields"
    echo $((f[13] + f[14]))
}

# A table row for the final summary: figure | cjmd | baseline | ratio | target | met
row() { table_rows+=("$(printf '| %s | %s | %s | %s | %s | %s |' "$@")"); }

# Duration text such as 5s, 200ms, 2m → seconds.
duration_seconds() {
    awk -v t="$1" 'BEGIN {
        if (t == "0") { print 0; exit }
        if (match(t, /^[0-9]+/) == 0) { print "nan"; exit }
        n = substr(t, 1, RLENGTH); u = substr(t, RLENGTH + 1)
        f = (u == "us") ? 1e-6 : (u == "ms") ? 1e-3 : (u == "s") ? 1 : (u == "m") ? 60 : (u == "h") ? 3600 : (u == "d") ? 86400 : -1
        if (f < 0) print "nan"; else print n * f }'
}

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "no free TCP port found on 127.0.0.1"
}

# http_get HOST:PORT PATH: prints the body; fails unless the status is 200. Plain bash
# (/dev/tcp), so curl is not needed.
http_get() {
    local host=${1%:*} port=${1##*:} path=$2 fd response
    exec {fd}<>"/dev/tcp/$host/$port" 2>/dev/null || return 1
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$1" >&"$fd"
    response=$(timeout 10 cat <&"$fd" | tr -d '\r') || true
    exec {fd}>&-
    [[ $response == "HTTP/1."?" 200"* ]] || return 1
    printf '%s\n' "${response#*$'\n\n'}"
}

# metric ADDRESS NAME: the value of an unlabelled Prometheus sample (integer part).
metric() {
    http_get "$1" /metrics | awk -v name="$2" '$1 == name { printf "%d\n", $2; found = 1 } END { if (!found) exit 1 }'
}

# Resident set size of a process, in KiB; rss_kb PID [VmRSS|VmHWM]
rss_kb() {
    awk -v key="${2:-VmRSS}:" '$1 == key { print $2 }' "/proc/$1/status"
}
