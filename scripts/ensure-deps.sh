#!/usr/bin/env bash
# Installs what building and testing cjmd needs on Debian 12 (PostgreSQL server, libpq
# and nats.c headers, pkg-config, zlib; with --tests also prometheus-alertmanager,
# netcat-openbsd, curl, nginx, openssl, chromium and nats-server), and
# only what is missing:
# a no-op on a prepared machine.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/postgres.sh
source "$script_dir/lib/postgres.sh"

# --tests: also what the test suite drives for real (Prometheus Alertmanager for the webhook,
# Debian's netcat for the README's socket example).
for_tests=false
[[ "${1:-}" == "--tests" ]] && for_tests=true

missing=()
if $for_tests && ! command -v prometheus-alertmanager >/dev/null 2>&1; then
    missing+=(prometheus-alertmanager)
fi
if $for_tests && ! dpkg-query -W -f='${Status}' netcat-openbsd 2>/dev/null | grep -q 'ok installed'; then
    missing+=(netcat-openbsd)
fi
# curl: the HTTP source's tests post SDK requests with it; nginx and openssl put TLS in
# front of it (docs/http.md).
if $for_tests && ! command -v curl >/dev/null 2>&1; then
    missing+=(curl)
fi
if $for_tests && ! command -v nginx >/dev/null 2>&1 && [[ ! -x /usr/sbin/nginx ]]; then
    missing+=(nginx-light)
fi
if $for_tests && ! command -v openssl >/dev/null 2>&1; then
    missing+=(openssl)
fi
# chromium: the journey map's screenshot test draws the page headless (docs/map.md).
if $for_tests && ! command -v chromium >/dev/null 2>&1; then
    missing+=(chromium)
fi
# nats-server: the JetStream bus source's tests run real servers (docs/scaling.md).
if $for_tests && ! command -v nats-server >/dev/null 2>&1 && [[ ! -x /usr/sbin/nats-server ]]; then
    missing+=(nats-server)
fi
# zlib: compress-nio links it for gzip request bodies.
if ! dpkg-query -W -f='${Status}' zlib1g-dev 2>/dev/null | grep -q 'ok installed'; then
    missing+=(zlib1g-dev)
fi
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists libpq; then
    missing+=(libpq-dev)
fi
# nats.c: the JetStream bus source links it.
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists libnats; then
    missing+=(libnats-dev)
fi
if ! pg_bindir >/dev/null || ! id -u postgres >/dev/null 2>&1; then
    missing+=(postgresql)
fi

if ((${#missing[@]} > 0)); then
    if [[ $EUID -ne 0 ]]; then
        echo "ensure-deps: missing ${missing[*]}; install with: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "ensure-deps: missing ${missing[*]} and no apt-get here; install them with your package manager" >&2
        exit 1
    fi
    echo "ensure-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! bindir=$(pg_bindir); then
    echo "ensure-deps: PostgreSQL server binaries (initdb, pg_ctl) not found after installing" >&2
    exit 1
fi
if ! pkg-config --exists libpq; then
    echo "ensure-deps: pkg-config cannot find libpq after installing libpq-dev" >&2
    exit 1
fi
if ! pkg-config --exists libnats; then
    echo "ensure-deps: pkg-config cannot find libnats after installing libnats-dev" >&2
    exit 1
fi
echo "ensure-deps: ok (PostgreSQL binaries in $bindir)" >&2
