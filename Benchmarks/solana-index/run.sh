#!/usr/bin/env bash
# Solana indexing benchmark against the LiteSVM peer (a real Solana runtime behind Settle's test RPC server):
#   (a) decode-and-index throughput of recorded getTransaction responses (transactions/s);
#   (b) a whole indexing pass over RPC, and the RPC calls it spends per indexed transaction;
#   each also into PostgreSQL: a throwaway PostgreSQL 15 cluster (Tests/Peers/postgres_peer.py) unless a
#   `--postgres postgres://USER@HOST:PORT/DB?sslmode=disable` is given, or none with `--no-postgres`.
#
#   Benchmarks/solana-index/run.sh [--transactions 2000] [--postgres URL | --no-postgres]
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh >/dev/null
swift build -c release --product settle-bench >/dev/null
BENCH=$(swift build -c release --show-bin-path)/settle-bench
WORK=$(mktemp -d)
PEER_PID=
PG_PID=
trap 'kill $PEER_PID $PG_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
ARGS=()
POSTGRES=default
for argument in "$@"; do
    case "$argument" in
        --no-postgres) POSTGRES=none ;;
        --postgres) POSTGRES=given; ARGS+=("$argument") ;;
        *) ARGS+=("$argument") ;;
    esac
done
.venv/bin/python -u Tests/Peers/solana_rpc.py > "$WORK/port" 2> "$WORK/peer.log" &
PEER_PID=$!
if [ "$POSTGRES" = default ]; then
    # The peer stops its cluster when this script goes away.
    .venv/bin/python -u Tests/Peers/postgres_peer.py > "$WORK/pgport" 2> "$WORK/pg.log" &
    PG_PID=$!
    for _ in $(seq 1 600); do grep -q PORT "$WORK/pgport" 2>/dev/null && break; sleep 0.1; done
    ARGS+=(--postgres "postgres://settle@127.0.0.1:$(awk '/PORT/ {print $2}' "$WORK/pgport")/postgres?sslmode=disable")
fi
for _ in $(seq 1 300); do grep -q PORT "$WORK/port" 2>/dev/null && break; sleep 0.1; done
"$BENCH" solana-index --url "http://127.0.0.1:$(awk '/PORT/ {print $2}' "$WORK/port")/" "${ARGS[@]}"
