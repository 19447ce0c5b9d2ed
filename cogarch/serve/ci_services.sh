#!/usr/bin/env bash
# Start the servers the serve tests need on 127.0.0.1, idempotently: PostgreSQL (Debian's package) and a Chroma
# server (`chroma run` from the venv). Progress goes to stderr; stdout carries only `export` lines, so:
#
#     eval "$(cogarch/serve/ci_services.sh)"        # sets COGARCH_TEST_POSTGRES_URL, COGARCH_TEST_CHROMA_URL
#     cogarch/serve/ci_services.sh stop              # stops both
#
# Settings (environment): COGARCH_CI_DIR (state, default /tmp/cogarch-ci), COGARCH_CI_PG_PORT (55432),
# COGARCH_CI_CHROMA_PORT (8765), CHROMA (the chroma executable; default: next to python, else on PATH).
set -euo pipefail

dir="${COGARCH_CI_DIR:-/tmp/cogarch-ci}"
pg_port="${COGARCH_CI_PG_PORT:-55432}"
chroma_port="${COGARCH_CI_CHROMA_PORT:-8765}"
log() { echo "ci_services: $*" >&2; }
mkdir -p "$dir"
chmod 755 "$dir"

pg_bin() {
    local found
    found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
    if [[ -z "$found" ]]; then
        log "installing PostgreSQL (apt-get install postgresql)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 \
            || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; }
        found="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
    fi
    echo "$found"
}

as_pg() {  # PostgreSQL refuses to run as root: run its tools as the postgres user then
    if [[ "$(id -u)" == 0 ]]; then
        su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

chroma_exe() {
    if [[ -n "${CHROMA:-}" ]]; then echo "$CHROMA"; return; fi
    local here
    here="$(dirname "$(command -v python3 || true)")"
    for candidate in "$(dirname "$0")/../../.venv/bin/chroma" /work/venv/bin/chroma "$here/chroma" "$(command -v chroma || true)"; do
        if [[ -n "$candidate" && -x "$candidate" ]]; then echo "$candidate"; return; fi
    done
    log "no chroma executable: pip install chromadb"; exit 1
}

heartbeat() { python3 - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/v2/heartbeat", timeout=2).read()
PY
}

stop() {
    local bin; bin="$(pg_bin)"
    [[ -f "$dir/pg/postmaster.pid" ]] && as_pg "$bin/pg_ctl" -D "$dir/pg" -m fast stop >&2 || true
    [[ -f "$dir/chroma.pid" ]] && kill "$(cat "$dir/chroma.pid")" 2>/dev/null || true
    rm -f "$dir/chroma.pid"
}

start_postgres() {
    local bin; bin="$(pg_bin)"
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port"; then
        log "PostgreSQL already up on $pg_port"
    else
        if [[ ! -f "$dir/pg/PG_VERSION" ]]; then
            mkdir -p "$dir/pg"
            [[ "$(id -u)" == 0 ]] && chown postgres "$dir/pg"
            as_pg "$bin/initdb" -D "$dir/pg" -U cogarch --auth=trust -E UTF8 >&2
        fi
        mkdir -p "$dir/pg-run"; [[ "$(id -u)" == 0 ]] && chown postgres "$dir/pg-run"
        as_pg "$bin/pg_ctl" -D "$dir/pg" -l "$dir/pg/server.log" -w \
            -o "-h 127.0.0.1 -p $pg_port -k $dir/pg-run" start >&2
    fi
    if ! as_pg "$bin/psql" -h 127.0.0.1 -p "$pg_port" -U cogarch -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname='cogarch'" | grep -q 1; then
        as_pg "$bin/createdb" -h 127.0.0.1 -p "$pg_port" -U cogarch cogarch >&2
    fi
    echo "export COGARCH_TEST_POSTGRES_URL=postgresql://cogarch@127.0.0.1:$pg_port/cogarch"
}

start_chroma() {
    if heartbeat "$chroma_port"; then
        log "Chroma already up on $chroma_port"
    else
        local exe; exe="$(chroma_exe)"
        ANONYMIZED_TELEMETRY=False nohup "$exe" run --path "$dir/chroma" --host 127.0.0.1 --port "$chroma_port" \
            >"$dir/chroma.log" 2>&1 &
        echo $! >"$dir/chroma.pid"
        for _ in $(seq 1 120); do
            heartbeat "$chroma_port" && break
            sleep 0.5
        done
        heartbeat "$chroma_port" || { log "Chroma did not start; see $dir/chroma.log"; exit 1; }
        log "Chroma up on $chroma_port"
    fi
    echo "export COGARCH_TEST_CHROMA_URL=http://127.0.0.1:$chroma_port"
}

case "${1:-start}" in
    start) start_postgres; start_chroma ;;
    stop) stop ;;
    *) log "usage: $0 [start|stop]"; exit 2 ;;
esac
