#!/usr/bin/env bash
# Solana indexing benchmark against the LiteSVM peer (a real Solana runtime behind Settle's test RPC server):
#   (a) decode-and-index throughput of recorded getTransaction responses (transactions/s);
#   (b) a whole indexing pass over RPC, and the RPC calls it spends per indexed transaction.
#
#   Benchmarks/solana-index/run.sh [--transactions 2000]
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh >/dev/null
swift build -c release --product settle-bench >/dev/null
BENCH=$(swift build -c release --show-bin-path)/settle-bench
WORK=$(mktemp -d)
trap 'kill $PEER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
.venv/bin/python -u Tests/Peers/solana_rpc.py > "$WORK/port" 2> "$WORK/peer.log" &
PEER_PID=$!
for _ in $(seq 1 300); do grep -q PORT "$WORK/port" 2>/dev/null && break; sleep 0.1; done
"$BENCH" solana-index --url "http://127.0.0.1:$(awk '/PORT/ {print $2}' "$WORK/port")/" "$@"
