#!/usr/bin/env bash
# Installs the real analytics SDKs the HTTP source is tested with into a Python virtual
# environment, pinned, and prints the environment's python. Reuses an environment that
# already has these versions. Usage: bash scripts/sdk-clients.sh [DIR]
# (default: $CJM_SDK_VENV, else ~/.cache/cjmd/sdk-venv).
set -euo pipefail

venv=${1:-${CJM_SDK_VENV:-$HOME/.cache/cjmd/sdk-venv}}
# The versions docs/http.md was checked against.
pins=(segment-analytics-python==2.4.0 rudder-sdk-python==2.1.9 posthog==7.91.1)
stamp="$venv/.cjmd-pins"

if [[ -x $venv/bin/python && -f $stamp && $(cat "$stamp") == "${pins[*]}" ]]; then
    echo "$venv/bin/python"
    exit 0
fi
command -v python3 >/dev/null 2>&1 || { echo "sdk-clients: python3 is missing" >&2; exit 1; }
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    # Debian's python3 needs python3-venv for `-m venv`.
    if command -v apt-get >/dev/null 2>&1; then
        apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
        python3 -m venv "$venv"
    else
        echo "sdk-clients: python3 -m venv failed; install python3-venv" >&2
        exit 1
    fi
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check "${pins[@]}" >&2
echo "${pins[*]}" >"$stamp"
echo "$venv/bin/python"
