# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034,SC2004,SC2028  # globals and arrays of bench/run
# Figure 4: cjm.funnel and cjm.funnel_between query times beside the same funnel computed
# ad hoc in SQL from cjm.events, at each scale. Sourced by bench/run.

# time_query DB RUNS SQL: runs SQL once to warm up, then RUNS times in one psql session
# with \timing (client round trip included, results discarded); prints the milliseconds.
time_query() {
    local db=$1 runs=$2 sql=$3 times
    times=$({
        echo '\timing on'
        echo '\o /dev/null'
        for ((i = 0; i <= runs; i++)); do printf '%s\n' "$sql"; done
    } | psqlx "$db" | awk '/^Time: / { print $2 }' | tail -n +2)
    (($(wc -l <<<"$times") == runs)) || die "timing the query on $db gave no time for some runs: $sql"
    printf '%s\n' "$times"
}

# queries_at EVENTS: the four timings at one scale; sets funnel_p50[EVENTS].
figure_queries_at() {
    local events=$1 db=bench_e$1
    log "figure 4: query times at about $(grouped "$events") events"
    if [[ $replayed_db != "$db" ]]; then
        replay_into "$db" "$(simulated_file "$events")"
    fi
    # Statistics as autovacuum would leave them, for both sides.
    psqlx "$db" -c "VACUUM ANALYZE" >/dev/null
    local stored journey stages from to
    stored=$(sql_value "$db" "SELECT count(*) FROM cjm.events")
    journey=$(sql_value "$db" "SELECT journey FROM cjm.journey_stages ORDER BY journey_order, stage_index LIMIT 1")
    stages=$(sql_value "$db" "SELECT count(*) FROM cjm.journey_stages WHERE journey = '$journey'")
    # One day of entries: the second day of the simulated period (a whole day).
    from=$(sql_value "$db" "SELECT to_char(date_trunc('day', min(entered_at) AT TIME ZONE 'UTC') + interval '1 day', 'YYYY-MM-DD') FROM cjm.journey_instances")
    to=$(sql_value "$db" "SELECT to_char('$from'::date + 1, 'YYYY-MM-DD')")
    local instances
    instances=$(sql_value "$db" "SELECT count(*) FROM cjm.journey_instances")
    record "scale events=$stored instances=$instances journey=$journey window=[$from,$to)"

    local all_sql window_sql adhoc_all adhoc_window
    all_sql="SELECT * FROM cjm.funnel;"
    window_sql="SELECT * FROM cjm.funnel_between('$journey', '$from', '$to');"
    adhoc_all=$(adhoc_funnel_sql "$journey" "$stages" -infinity infinity)
    adhoc_window=$(adhoc_funnel_sql "$journey" "$stages" "$from" "$to")
    # Both sides' answers, to compare by eye: the ad-hoc funnel counts first entries only.
    {
        echo "== $db: cjm.funnel"
        psqlx "$db" -c "SELECT stage_index, reached, customers, converted_to_next, median_time_to_next FROM cjm.funnel"
        echo "== $db: ad-hoc funnel"
        psqlx "$db" -c "$adhoc_all"
    } >>"$bench_dir/funnels.txt"

    local f_all f_window a_all a_window
    log "timing cjm.funnel ($funnel_runs runs)"
    f_all=$(time_query "$db" "$funnel_runs" "$all_sql")
    log "timing cjm.funnel_between for one day ($funnel_runs runs)"
    f_window=$(time_query "$db" "$funnel_runs" "$window_sql")
    local f_map
    log "timing cjm.journey_map ($funnel_runs runs)"
    f_map=$(time_query "$db" "$funnel_runs" "SELECT * FROM cjm.journey_map WHERE journey = '$journey';")
    record "journey_map_ms events=$stored $(tr '\n' ' ' <<<"$f_map")"
    local f_persona
    log "timing cjm.funnel_by_persona ($funnel_runs runs)"
    f_persona=$(time_query "$db" "$funnel_runs" "SELECT * FROM cjm.funnel_by_persona WHERE journey = '$journey';")
    record "funnel_by_persona_ms events=$stored $(tr '\n' ' ' <<<"$f_persona")"
    local f_loop
    log "timing cjm.repeat_loop ($funnel_runs runs)"
    f_loop=$(time_query "$db" "$funnel_runs" "SELECT * FROM cjm.repeat_loop;")
    record "repeat_loop_ms events=$stored $(tr '\n' ' ' <<<"$f_loop")"
    log "timing the ad-hoc funnel over all events ($adhoc_runs runs)"
    a_all=$(time_query "$db" "$adhoc_runs" "$adhoc_all")
    log "timing the ad-hoc funnel for one day of entries ($adhoc_runs runs)"
    a_window=$(time_query "$db" "$adhoc_runs" "$adhoc_window")
    record "funnel_ms events=$stored $(tr '\n' ' ' <<<"$f_all")"
    record "funnel_between_ms events=$stored $(tr '\n' ' ' <<<"$f_window")"
    record "adhoc_funnel_ms events=$stored $(tr '\n' ' ' <<<"$a_all")"
    record "adhoc_funnel_window_ms events=$stored $(tr '\n' ' ' <<<"$a_window")"

    local fa50 fa99 fw50 fw99 aa50 aa99 aw50 aw99
    fa50=$(percentile 0.5 <<<"$f_all") fa99=$(percentile 0.99 <<<"$f_all")
    fw50=$(percentile 0.5 <<<"$f_window") fw99=$(percentile 0.99 <<<"$f_window")
    aa50=$(percentile 0.5 <<<"$a_all") aa99=$(percentile 0.99 <<<"$a_all")
    aw50=$(percentile 0.5 <<<"$a_window") aw99=$(percentile 0.99 <<<"$a_window")
    funnel_p50[$events]=$fa50
    scale_events[$events]=$stored

    local ratio met target
    ratio=$(calc "$aa50 / $fa50")
    target="≥ 100× at 10M"
    met=""
    if ((stored >= 9000000)); then met=$(awk -v r="$ratio" 'BEGIN { print (r >= 100) ? "yes" : "no" }'); fi
    row "4. cjm.funnel p50 / p99 ms ($(grouped "$stored") events)" "$(fmt 1 "$fa50") / $(fmt 1 "$fa99")" \
        "ad-hoc SQL $(fmt 0 "$aa50") / $(fmt 0 "$aa99")" "$(ratio_text "$ratio")" "$target" "$met"
    ratio=$(calc "$aw50 / $fw50")
    row "4. cjm.funnel_between 1 day p50 / p99 ms ($(grouped "$stored") events)" "$(fmt 1 "$fw50") / $(fmt 1 "$fw99")" \
        "ad-hoc SQL $(fmt 0 "$aw50") / $(fmt 0 "$aw99")" "$(ratio_text "$ratio")" "" ""
    # The to-be map reads the funnel's running totals: as flat in history, and as cheap.
    local fm50 fm99
    fm50=$(percentile 0.5 <<<"$f_map") fm99=$(percentile 0.99 <<<"$f_map")
    ratio=$(calc "$aa50 / $fm50")
    row "4. cjm.journey_map p50 / p99 ms ($(grouped "$stored") events)" "$(fmt 1 "$fm50") / $(fmt 1 "$fm99")" \
        "ad-hoc SQL funnel $(fmt 0 "$aa50") / $(fmt 0 "$aa99")" "$(ratio_text "$ratio")" "" ""
    local fp50 fp99
    fp50=$(percentile 0.5 <<<"$f_persona") fp99=$(percentile 0.99 <<<"$f_persona")
    ratio=$(calc "$aa50 / $fp50")
    row "4. cjm.funnel_by_persona p50 / p99 ms ($(grouped "$stored") events)" "$(fmt 1 "$fp50") / $(fmt 1 "$fp99")" \
        "ad-hoc SQL funnel $(fmt 0 "$aa50") / $(fmt 0 "$aa99")" "$(ratio_text "$ratio")" "" ""
    # The repeat loop reads running totals too.
    local fl50 fl99
    fl50=$(percentile 0.5 <<<"$f_loop") fl99=$(percentile 0.99 <<<"$f_loop")
    ratio=$(calc "$aa50 / $fl50")
    row "4. cjm.repeat_loop p50 / p99 ms ($(grouped "$stored") events)" \
        "$(fmt 1 "$fl50") / $(fmt 1 "$fl99")" "ad-hoc SQL funnel $(fmt 0 "$aa50") / $(fmt 0 "$aa99")" \
        "$(ratio_text "$ratio")" "" ""
}

# After every scale: does the funnel's time grow with the events?
figure_queries_growth() {
    local scales=("$@")
    ((${#scales[@]} >= 2)) || return 0
    local first=${scales[0]} last=${scales[-1]} growth events_growth met
    growth=$(calc "${funnel_p50[$last]} / ${funnel_p50[$first]}")
    events_growth=$(calc "${scale_events[$last]} / ${scale_events[$first]}")
    met=$(awk -v g="$growth" 'BEGIN { print (g <= 1.5) ? "yes" : "no" }')
    record "funnel_growth from=${scale_events[$first]} to=${scale_events[$last]} time_ratio=$growth"
    row "4. cjm.funnel p50 growth, $(grouped "${scale_events[$first]}") → $(grouped "${scale_events[$last]}") events" \
        "$(fmt 2 "$growth")×" "events $(fmt 1 "$events_growth")×" "" "flat (≤ 1.5×)" "$met"
}
