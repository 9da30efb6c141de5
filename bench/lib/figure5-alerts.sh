# Figure 5: the alert simulation of docs/alerts.md at full size — false alarms per
# stage-month on steady traffic at five volumes, detection and delay per spike — with the
# default settings, then with a nightly change of mix against the preceding day and against
# the same hours of the week before. Needs no database.

figure_alerts() {
    local days=$1 runs=$2 sim
    log "figure 5: building cjmd-alertsim (release)"
    (cd "$repo" && swift build -c release --product cjmd-alertsim >"$bench_dir/logs/build-alertsim.log" 2>&1) ||
        die "swift build -c release --product cjmd-alertsim failed; see $bench_dir/logs/build-alertsim.log"
    sim=$(cd "$repo" && swift build -c release --show-bin-path)/cjmd-alertsim
    log "figure 5: $days steady days per volume, $runs runs per spike (defaults)"
    "$sim" --days "$days" --runs "$runs" --compare-cusum 0.1 | tee -a "$results"
    local baseline
    for baseline in 24h same_hour_7d; do
        log "figure 5: nightly change of mix (+10 points 01:00-05:00), baseline $baseline"
        "$sim" --days "$days" --no-spikes --nightly-rise 0.1 --baseline "$baseline" | tee -a "$results"
    done
}
