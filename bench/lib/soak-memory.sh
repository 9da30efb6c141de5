# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # globals of bench/soak
# The soak's samples: cjmd's resident memory and a few gauges every few seconds into a CSV,
# and the figures read from it. Sourced by bench/soak.

soak_csv_header="elapsed_s,unix_s,rss_kib,hwm_kib,buffer_events,reorder_buffer_events,open_instances,database_up,backpressure,connections,events_accepted,events_duplicate,events_late,reloads_ok"

# One CSV row: time since $soak_started, VmRSS and VmHWM of the daemon, and from /metrics
# the commit buffer, reorder buffer, open instances, database and backpressure gauges,
# client connections, and the accepted, duplicate and late counters (summed over sources).
soak_sample_row() {
    local at rss hwm body
    at=$(now)
    rss=$(rss_kb "$daemon_pid" VmRSS 2>/dev/null) || return 1
    hwm=$(rss_kb "$daemon_pid" VmHWM 2>/dev/null) || return 1
    body=$(http_get "$metrics_address" /metrics 2>/dev/null) || body=""
    awk -v elapsed="$(calc "$at - $soak_started")" -v unix="$at" -v rss="$rss" -v hwm="$hwm" '
        function base(name) { sub(/\{.*/, "", name); return name }
        /^#/ { next }
        { v[base($1)] += $2 }
        END {
            n = split("cjmd_buffer_events cjmd_reorder_buffer_events cjmd_open_instances cjmd_database_up cjmd_backpressure cjmd_connections cjmd_events_accepted_total cjmd_events_duplicate_total cjmd_events_late_total", names, " ")
            printf "%.1f,%.3f,%s,%s", elapsed, unix, rss, hwm
            for (i = 1; i <= n; i++) printf ",%.0f", v[names[i]]
            printf ",%.0f\n", reloads_ok
        }
        $1 ~ /^cjmd_reloads_total\{.*result="success"/ { reloads_ok += $2 }
    ' <<<"$body"
}

# Samples every $sample_seconds until the daemon stops or the sampler is killed; run in
# the background.
soak_sampler() {
    local next
    next=$(now)
    while kill -0 "$daemon_pid" 2>/dev/null; do
        soak_sample_row >>"$soak_csv" || true
        next=$(calc "$next + $sample_seconds")
        local wait
        wait=$(calc "$next - $(now)")
        if awk -v w="$wait" 'BEGIN { exit !(w > 0) }'; then sleep "$wait"; fi
    done
}

# soak_rss_at SECONDS: VmRSS (KiB) of the sample nearest that time into the run.
soak_rss_at() {
    awk -F, -v t="$1" 'NR > 1 { d = $1 - t; if (d < 0) d = -d; if (best == "" || d < best) { best = d; v = $3 } } END { print v }' "$soak_csv"
}

# The largest VmRSS sample (KiB) of the run.
soak_rss_max() {
    awk -F, 'NR > 1 && $3 > m { m = $3 } END { print m + 0 }' "$soak_csv"
}

# soak_rss_slope FROM TO: least-squares slope of VmRSS over that span, KiB per minute.
soak_rss_slope() {
    awk -F, -v from="$1" -v to="$2" '
        NR > 1 && $1 >= from && $1 <= to { n++; x = $1 / 60; sx += x; sy += $3; sxx += x * x; sxy += x * $3 }
        END { d = n * sxx - sx * sx; if (n < 2 || d == 0) print "nan"; else printf "%.1f\n", (n * sxy - sx * sy) / d }
    ' "$soak_csv"
}

# A short RSS curve for the log and results: one value (MiB) per $1 seconds of the run.
soak_rss_curve() {
    awk -F, -v step="$1" 'NR > 1 { b = int($1 / step); if (!(b in v)) { v[b] = $3; if (b > m) m = b } }
        END { for (i = 0; i <= m; i++) if (i in v) printf "%s%d:%.1f", (c++ ? " " : ""), i * step / 60, v[i] / 1024; print "" }' "$soak_csv"
}
