#!/usr/bin/env bash
# Reads benchmark: executor pass latency (p50/p99) on a database whose Solana index holds 100,000 events of one wallet,
# quiet and then while 50 HTTP clients page that wallet's allowance history through the real API on 127.0.0.1.
# No peer: the executor's chain is in-process (see Benchmarks/SettleBenchmarks/ReadsBenchmark.swift).
#
#   Benchmarks/reads/run.sh [--events 100000] [--clients 50] [--passes 60] [--charges 10] [--seconds 300]
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product settle-bench >/dev/null
BENCH=$(swift build -c release --show-bin-path)/settle-bench
"$BENCH" reads "$@"
