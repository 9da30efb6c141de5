# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # globals of bench/soak
# The soak's daemon configuration and the steps it takes during the run: reloads with a
# changed batch_max_delay, and the PostgreSQL restart. Sourced by bench/soak.

# The configuration bench/run would use (write_config: sources, metrics, database), with
# the shipped journey made short-lived: instances expire after $conversion_window and are
# flagged abandoned after $abandon_after (none: never), and the alert window and baseline are minutes, so
# that expiry, abandonment and alert evaluation all run during the soak and the daemon's
# state reaches a steady size instead of growing for 30 days of event time.
# soak_write_base_config DB SOCKET TCP METRICS
soak_write_base_config() {
    write_config "$1" "$soak_base_config" "$2" "$3" "$4"
}

# soak_write_config BATCH_DELAY: writes $soak_config from the base with that
# batch_max_delay, atomically (the daemon re-reads it on SIGHUP), and checks it.
soak_write_config() {
    local delay=$1 temporary=$soak_config.tmp
    awk -v delay="$delay" -v window="$conversion_window" -v abandon="$abandon_after" \
        -v alert_window="$alert_window" -v alert_baseline="$alert_baseline" '
        /^[a-z]/ { section = $1 }
        section == "ingest:" && /^  batch_max_delay:/ { print "  batch_max_delay: " delay; seen_delay = 1; next }
        section == "journeys:" && /^    conversion_window:/ { print "    conversion_window: " window; next }
        section == "journeys:" && /^        abandon_after:/ { if (abandon != "none") print "        abandon_after: " abandon; next }
        section == "alerts:" && /^  window:/ { print "  window: " alert_window; next }
        section == "alerts:" && /^  baseline:/ { print "  baseline: " alert_baseline; next }
        { print }
        END { if (!seen_delay) exit 3 }
    ' "$soak_base_config" >"$temporary" ||
        die "cannot derive the soak configuration: $soak_base_config has no ingest.batch_max_delay line to replace"
    local check=$soak_dir/logs/check-config-soak.log
    "$cjmd" check-config --config "$temporary" >/dev/null 2>"$check" ||
        die "the soak configuration $temporary is invalid: $(cat "$check")"
    mv "$temporary" "$soak_config"
}

# Reloads: the configuration alternates between two batch_max_delay values, so that every
# SIGHUP really changes something; the daemon must log "reload: applied" for each.
soak_reload() {
    local delay=$1 before
    before=$(grep -c 'reload: applied' "$daemon_log" || true)
    soak_write_config "$delay"
    kill -HUP "$daemon_pid" || die "cannot send SIGHUP to cjmd (pid $daemon_pid)"
    reloads_sent=$((reloads_sent + 1))
    local deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
        if (($(grep -c 'reload: applied' "$daemon_log" || true) > before)); then
            reloads_applied=$((reloads_applied + 1))
            log "reload $reloads_sent applied (batch_max_delay $delay)"
            return 0
        fi
        sleep 0.2
    done
    log "warning: reload $reloads_sent (batch_max_delay $delay) not applied 30 s after SIGHUP; see $daemon_log"
}

# Restarts PostgreSQL (pg_ctl restart -m fast: sessions are cut, a shutdown checkpoint,
# then a fresh server), as the cluster's owner when we are root, as scripts/pg-cluster.sh
# does. Records how long pg_ctl took.
soak_restart_postgres() {
    local bindir data=$soak_dir/pg/data started
    bindir=$(pg_bindir) || die "PostgreSQL server binaries not found: run scripts/ensure-deps.sh"
    started=$(now)
    local -a as_owner=()
    [[ $EUID -ne 0 ]] || as_owner=(runuser -u postgres --)
    (cd / && "${as_owner[@]}" "$bindir/pg_ctl" -D "$data" -l "$soak_dir/pg/postgres.log" -m fast -w -t 120 restart >/dev/null) ||
        die "pg_ctl restart failed; see $soak_dir/pg/postgres.log"
    pg_restart_seconds=$(calc "$(now) - $started")
    pg_restarts=$((pg_restarts + 1))
    log "PostgreSQL restarted in $(fmt 1 "$pg_restart_seconds") s"
}
