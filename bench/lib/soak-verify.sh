# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # globals of bench/soak
# The soak's checks in SQL, once the daemon has committed everything and stopped: nothing
# acknowledged is missing, nothing is stored twice, and the journey state counts every
# instance once. Sourced by bench/soak.

# Loads the load generator's acked file (per client: PREFIX ACKED SENT; lines PREFIX-e0 …
# PREFIX-e(ACKED-1) were acknowledged) into a temporary table, expands it to event ids, and
# compares with cjm.events and the dead letters (whose event id is read from the raw line).
# Prints key=value lines.
soak_verify_events() {
    local acked_file=$1 tag=$2 rows
    # Prefixes are the load generator's TAG-uN / TAG-tN; anything else is refused, not quoted.
    rows=$(awk -v q="'" '$1 ~ /^[A-Za-z0-9_-]+$/ && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ && NF == 3 {
            printf "%s(%s%s%s, %s, %s)", (n++ ? ", " : ""), q, $1, q, $2, $3; next }
        { bad = 1 } END { if (bad || n == 0) exit 1 }' "$acked_file") ||
        die "the acked file $acked_file is empty or not PREFIX ACKED SENT lines"
    psqlx "$soak_db" -At -F= -v tag="$tag" -v rows="$rows" <<'SQL'
CREATE TEMP TABLE soak_acked (prefix text NOT NULL, acked bigint NOT NULL, sent bigint NOT NULL);
INSERT INTO soak_acked VALUES :rows;
CREATE TEMP TABLE soak_ids AS
    SELECT a.prefix || '-e' || n AS event_id FROM soak_acked a, generate_series(0, a.acked - 1) AS n;
CREATE TEMP TABLE soak_rejected AS
    SELECT substring(encode(raw, 'escape') FROM '"event_id":"([^"]*)"') AS event_id, reason FROM cjm.rejected_events;
ANALYZE soak_ids;
ANALYZE soak_rejected;
SELECT 'clients', count(*) FROM soak_acked;
SELECT 'lines_sent', sum(sent) FROM soak_acked;
SELECT 'lines_acked', sum(acked) FROM soak_acked;
SELECT 'events_total', count(*) FROM cjm.events;
SELECT 'events_of_run', count(*) FROM cjm.events WHERE event_id LIKE :'tag' || '-%';
SELECT 'events_other', count(*) FROM cjm.events WHERE event_id NOT LIKE :'tag' || '-%';
SELECT 'rejected_total', count(*) FROM cjm.rejected_events;
SELECT 'rejected_of_run', count(*) FROM soak_rejected WHERE event_id LIKE :'tag' || '-%';
SELECT 'rejected_reasons', coalesce(string_agg(reason || ':' || c, ' '), '') FROM
    (SELECT reason, count(*) AS c FROM soak_rejected GROUP BY reason ORDER BY reason) r;
-- Acknowledged, yet neither stored nor dead-lettered.
SELECT 'lost', count(*) FROM soak_ids i
    WHERE NOT EXISTS (SELECT 1 FROM cjm.events e WHERE e.event_id = i.event_id)
      AND NOT EXISTS (SELECT 1 FROM soak_rejected r WHERE r.event_id = i.event_id);
SELECT 'lost_examples', coalesce(string_agg(event_id, ' '), '') FROM (SELECT i.event_id FROM soak_ids i
    WHERE NOT EXISTS (SELECT 1 FROM cjm.events e WHERE e.event_id = i.event_id)
      AND NOT EXISTS (SELECT 1 FROM soak_rejected r WHERE r.event_id = i.event_id) LIMIT 5) x;
-- Twice: one id in two rows of cjm.events (its primary key forbids it; checked anyway), in
-- two dead letters, or both stored and dead-lettered.
SELECT 'duplicates', (SELECT count(*) - count(DISTINCT event_id) FROM cjm.events WHERE event_id LIKE :'tag' || '-%')
    + (SELECT count(*) - count(DISTINCT event_id) FROM soak_rejected WHERE event_id LIKE :'tag' || '-%')
    + (SELECT count(*) FROM soak_rejected r WHERE r.event_id LIKE :'tag' || '-%'
         AND EXISTS (SELECT 1 FROM cjm.events e WHERE e.event_id = r.event_id));
-- Stored, though the client never had it acknowledged (sent before a failure): not a loss.
SELECT 'stored_unacked', count(*) FROM cjm.events e WHERE e.event_id LIKE :'tag' || '-%'
    AND NOT EXISTS (SELECT 1 FROM soak_ids i WHERE i.event_id = e.event_id);
SQL
}

# Journey state counts each instance once: every instance row has its entry event (a
# customer of the load generator enters once per visit, with one stage-0 event), and the
# running funnel totals (cjm.funnel_stats, kept per batch) agree with the instance rows
# (a batch applied twice after a failed commit would count its instances twice there).
soak_verify_instances() {
    psqlx "$soak_db" -At -F= -v journey="$soak_journey" -v entry_events="$soak_entry_events" <<'SQL'
SELECT 'instances', count(*) FROM cjm.journey_instances WHERE journey = :'journey';
SELECT 'instances_open', count(*) FROM cjm.journey_instances WHERE journey = :'journey' AND exited_at IS NULL;
SELECT 'instance_statuses', coalesce(string_agg(status || ':' || c, ' '), '') FROM
    (SELECT status, count(*) AS c FROM cjm.journey_instances WHERE journey = :'journey' GROUP BY status ORDER BY status) s;
SELECT 'entry_events', count(*) FROM cjm.events WHERE event = ANY (string_to_array(:'entry_events', ','));
SELECT 'customers', count(DISTINCT customer_id) FROM cjm.journey_instances WHERE journey = :'journey';
-- Per stage: reached in the running totals vs instances whose furthest stage is at or past it.
SELECT 'funnel_mismatches', count(*) FROM (
    SELECT s.stage_index, s.reached,
           (SELECT count(*) FROM cjm.journey_instances i WHERE i.journey = s.journey AND i.stage_index >= s.stage_index) AS rows
    FROM cjm.funnel_stats s WHERE s.journey = :'journey') x WHERE reached <> rows;
SELECT 'funnel_reached', coalesce(string_agg(stage_index || ':' || reached, ' ' ORDER BY stage_index), '')
    FROM cjm.funnel_stats WHERE journey = :'journey';
SELECT 'instances_by_furthest_stage', coalesce(string_agg(k || ':' || c, ' ' ORDER BY k), '') FROM
    (SELECT stage_index AS k, count(*) AS c FROM cjm.journey_instances WHERE journey = :'journey' GROUP BY stage_index) x;
SELECT 'alerts', count(*) FROM cjm.alerts;
SQL
}
