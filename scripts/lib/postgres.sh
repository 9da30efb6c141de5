# shellcheck shell=bash
# Shared helpers for the PostgreSQL scripts; source it, do not run it.

# Prints the directory holding initdb/pg_ctl/postgres. Debian keeps them out of PATH in
# /usr/lib/postgresql/VERSION/bin, and fresh machines have no symlinks in /usr/local/bin.
pg_bindir() {
    local dir
    if command -v pg_config >/dev/null 2>&1; then
        dir=$(pg_config --bindir 2>/dev/null || true)
        if [[ -n $dir && -x $dir/initdb && -x $dir/pg_ctl ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    fi
    # pg_config comes from libpq-dev and may name another major version than the server:
    # fall back to the newest installed server.
    while IFS= read -r dir; do
        if [[ -x $dir/initdb && -x $dir/pg_ctl ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV)
    return 1
}
