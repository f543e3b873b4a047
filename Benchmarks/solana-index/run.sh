#!/usr/bin/env bash
# Solana indexing benchmark against the LiteSVM peer (a real Solana runtime behind Settle's test RPC server):
#   (a) decode-and-index throughput of recorded getTransaction responses (transactions/s);
#   (b) a whole indexing pass over RPC, and the RPC calls it spends per indexed transaction;
#   each also into PostgreSQL: a throwaway PostgreSQL 15 cluster (Tests/Peers/postgres_peer.py) unless a
#   `--postgres postgres://USER@HOST:PORT/DB?sslmode=disable` is given, or none with `--no-postgres`;
#   then the same (a) and (b) by a naive peer written with the reference Python library (naive_solana.py: solders,
#   httpx, sqlite3) over the same history on the same node, and Settle's ratios to it.
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
URL="http://127.0.0.1:$(awk '/PORT/ {print $2}' "$WORK/port")/"
"$BENCH" solana-index --url "$URL" "${ARGS[@]}" | tee "$WORK/settle.txt"
ACCOUNT=$(awk '/^token account:/ {print $3}' "$WORK/settle.txt")
.venv/bin/python Benchmarks/solana-index/naive_solana.py --url "$URL" --account "$ACCOUNT" --database "$WORK/naive.sqlite" | tee "$WORK/naive.txt"
.venv/bin/python - "$WORK/settle.txt" "$WORK/naive.txt" <<'PY'
import json, sys
settle = json.loads(next(l for l in open(sys.argv[1]) if l.startswith("settle figures:")).split(":", 1)[1])
naive = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
print()
print("Settle ÷ naive Python (solders), same history, same node, same run:")
print(f"  (a) decode:        {settle['decode_tps'] / naive['decode_tps']:6.2f}x  ({settle['decode_tps']:,.0f} vs {naive['decode_tps']:,.0f} tx/s)")
print(f"  (a) decode+index:  {settle['decode_index_tps'] / naive['decode_index_tps']:6.2f}x  ({settle['decode_index_tps']:,.0f} vs {naive['decode_index_tps']:,.0f} tx/s)")
print(f"  (b) pass over RPC: {settle['pass_tps'] / naive['pass_tps']:6.2f}x  ({settle['pass_tps']:,.0f} vs {naive['pass_tps']:,.0f} tx/s)")
print(f"  RPC calls per indexed transaction: Settle {settle['calls_per_tx']:.2f}, naive {naive['calls_per_tx']:.2f}")
PY
