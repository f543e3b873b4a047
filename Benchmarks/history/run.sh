#!/usr/bin/env bash
# Allowance-history latency of the real API at 10 million indexed approvals, SQLite against PostgreSQL
# (issues 15 and 19).
#
#   Benchmarks/history/run.sh [--quick] [--approvals 10000000] [--wallets 200000] [--heavy 100] [--clients 1,32]
#                             [--seconds 10] [--rounds 3] [--postgres URL | --no-postgres]
#
# `settle-bench history` (release) fills a fresh SQLite index, then a fresh PostgreSQL database, with the same
# synthetic rows in the stores' own schema (10,000,000 approvals and 1,000,000 transfers over 200,000 wallets, 100 of
# them with 10,000 approvals each), prints the query plans of a first and a deep page, serves the real /v1 router on
# 127.0.0.1 and times GET …/wallets/{wallet}/allowances (first pages, deep pages) with one client and then with 32
# concurrent clients, one backend at a time, alternating over rounds: p50/p99 per backend (pooled) and the ratio.
# (GET …/readiness is not in it: it reads the balance and allowance from the node, live, not from the index.)
# PostgreSQL: the server of --postgres URL (postgres://USER@HOST:PORT/DB?sslmode=disable, password from PGPASSWORD;
# a database is made there and dropped), or by default a throwaway PostgreSQL 15 cluster on 127.0.0.1
# (Tests/Peers/postgres_peer.py: fsync off, default shared_buffers). --quick: 1,000,000 approvals, 20,000 wallets.
# Needs about 5 GB free in the temporary directory at the default size.
set -euo pipefail
cd "$(dirname "$0")/../.."
PG_URL=""
PG=yes
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --postgres) PG_URL=$2; shift 2 ;;
        --no-postgres) PG=no; shift ;;
        --quick) ARGS+=(--approvals 1000000 --wallets 20000); shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

[ -x .venv/bin/python ] || scripts/setup.sh >/dev/null
log "Building settle-bench (release)"
flock /tmp/settle-build.lock swift build -c release --product settle-bench >/dev/null
BENCH=$(swift build -c release --show-bin-path)/settle-bench

WORK=$(mktemp -d)
PG_PID=""
trap '[ -z "$PG_PID" ] || kill $PG_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
if [ "$PG" = yes ] && [ -z "$PG_URL" ]; then
    log "Starting a throwaway PostgreSQL 15 cluster"
    .venv/bin/python -u Tests/Peers/postgres_peer.py > "$WORK/pg-port" 2> "$WORK/pg.log" &
    PG_PID=$!
    for _ in $(seq 1 600); do grep -q PORT "$WORK/pg-port" 2>/dev/null && break; sleep 0.1; done
    grep -q PORT "$WORK/pg-port" || { cat "$WORK/pg.log" >&2; exit 1; }
    PG_URL="postgres://settle@127.0.0.1:$(awk '/PORT/ {print $2}' "$WORK/pg-port")/postgres?sslmode=disable"
fi
POSTGRES_ARGS=()
[ "$PG" = no ] || POSTGRES_ARGS=(--postgres "$PG_URL")
log "settle-bench history ${ARGS[*]}"
/usr/bin/time -f "settle-bench: %e s wall, peak RSS %M KB" "$BENCH" history --database "$WORK/history.sqlite" "${ARGS[@]}" "${POSTGRES_ARGS[@]}"
