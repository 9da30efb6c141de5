# shellcheck shell=bash
# The baseline of figure 4: an ordered funnel computed ad hoc in SQL from the raw events
# (cjm.event_rows, the table under the view cjm.events), the way an analyst would without cjmd. Sourced by bench/run.

# adhoc_funnel_sql JOURNEY STAGES FROM TO: prints the query for a journey of STAGES stages
# over the customers whose first stage-0 event falls in [FROM, TO) (-infinity/infinity:
# all). FROM and TO are timestamptz literals without quotes; JOURNEY a plain name.
#
# Per customer: the first event mapped to stage 0 is the entry; stage k+1 is reached by the
# first event mapped to it at or after the reach time of stage k, within the conversion
# window from the entry. The result has cjm.funnel's main columns: reached,
# converted_to_next, step_conversion and the median time to the next stage.
#
# It counts each customer's first entry only (cjmd also counts an instance per re-entry
# after an exit), so its numbers are close to cjm.funnel's, not equal; what figure 4
# compares is the cost. The form is one pass over the events, grouped by customer, with
# each stage's times in an array searched per customer: linear in events and immune to
# the row misestimates (jsonb ->> joins, CTE chains) that turn the textbook
# join-per-stage form into nested loops over the whole table.
# The numbers in an event's cjm.event_rows.stage_ids, two bytes each (one per journey it
# matched), for as many journeys as are configured.
stage_number_slots() {
    local journeys k
    journeys=$(psqlx "$db" -At -c "SELECT count(DISTINCT journey) FROM cjm.journey_stages")
    for ((k = 0; k < journeys; k++)); do
        ((k > 0)) && printf ', '
        printf '(get_byte(e.stage_ids, %d) << 8) | get_byte(e.stage_ids, %d)' $((2 * k)) $((2 * k + 1))
    done
}

adhoc_funnel_sql() {
    local journey=$1 stages=$2 from=$3 to=$4 k
    cat <<SQL
WITH numbers AS (                       -- the stored number of each of the journey's stages
    SELECT n.id, s.stage_index
    FROM cjm.stage_ids n JOIN cjm.journey_stages s USING (journey, stage)
    WHERE n.journey = '$journey'
),
staged AS (                             -- every event of the journey with its stage index
    SELECT e.customer_id, e.ts, n.stage_index
    FROM cjm.event_rows e
    JOIN numbers n ON n.id = ANY (ARRAY[$(stage_number_slots)])
),
per_customer AS (                       -- entry, and the times of each later stage's events
    SELECT customer_id,
           min(ts) FILTER (WHERE stage_index = 0) AS t0
SQL
    for ((k = 1; k < stages; k++)); do
        echo "         , array_agg(ts) FILTER (WHERE stage_index = $k) AS a$k"
    done
    cat <<SQL
    FROM staged
    GROUP BY customer_id
),
reach AS (                              -- reach time of each stage (NULL: not reached)
    SELECT c.t0$(for ((k = 1; k < stages; k++)); do printf ', r%d.t AS t%d' "$k" "$k"; done)
    FROM per_customer c
    CROSS JOIN (SELECT conversion_window AS w FROM cjm.journey_stages
                WHERE journey = '$journey' AND stage_index = 0) win
SQL
    for ((k = 1; k < stages; k++)); do
        local previous="r$((k - 1)).t"
        ((k == 1)) && previous="c.t0"
        echo "    LEFT JOIN LATERAL (SELECT min(t) AS t FROM unnest(c.a$k) t WHERE t >= $previous AND t <= c.t0 + win.w) r$k ON true"
    done
    cat <<SQL
    WHERE c.t0 >= '$from' AND c.t0 < '$to'
),
totals AS (
    SELECT $(for ((k = 0; k < stages; k++)); do ((k > 0)) && printf ', '; printf 'count(t%d) AS n%d' "$k" "$k"; done)
SQL
    for ((k = 0; k < stages - 1; k++)); do
        echo "         , percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t$((k + 1)) - t$k)) AS m$k"
    done
    echo "    FROM reach"
    echo ")"
    echo "SELECT v.* FROM totals, LATERAL (VALUES"
    for ((k = 0; k < stages; k++)); do
        if ((k < stages - 1)); then
            printf '    (%d, n%d, n%d, n%d::double precision / nullif(n%d, 0), m%d::double precision),\n' \
                "$k" "$k" "$((k + 1))" "$((k + 1))" "$k" "$k"
        else
            printf '    (%d, n%d, NULL::bigint, NULL::double precision, NULL::double precision)\n' "$k" "$k"
        fi
    done
    echo ") v(stage_index, reached, converted_to_next, step_conversion, median_time_to_next);"
}
