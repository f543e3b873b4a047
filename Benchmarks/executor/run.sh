#!/usr/bin/env bash
# Executor benchmark: (a) charges signed and persisted per second without a chain; (b) end-to-end settled charges
# per minute on the py-evm devnet and on LiteSVM with --payers payers (default 1000), and the executor's CPU per charge.
#
#   Benchmarks/executor/run.sh [--payers 1000]
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh >/dev/null
swift build -c release --product settle-bench >/dev/null
BENCH=$(swift build -c release --show-bin-path)/settle-bench
WORK=$(mktemp -d)
trap 'kill $EVM_PID $SOL_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
.venv/bin/python -u Tests/Peers/evm_devnet.py > "$WORK/evm" 2> "$WORK/evm.log" &
EVM_PID=$!
.venv/bin/python -u Tests/Peers/solana_rpc.py > "$WORK/sol" 2> "$WORK/sol.log" &
SOL_PID=$!
for _ in $(seq 1 300); do grep -q PORT "$WORK/evm" 2>/dev/null && grep -q PORT "$WORK/sol" 2>/dev/null && break; sleep 0.1; done
"$BENCH" executor --evm-url "http://127.0.0.1:$(awk '/PORT/ {print $2}' "$WORK/evm")/" \
    --solana-url "http://127.0.0.1:$(awk '/PORT/ {print $2}' "$WORK/sol")/" "$@"
