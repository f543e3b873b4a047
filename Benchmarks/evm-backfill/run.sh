#!/usr/bin/env bash
# EVM backfill benchmark: Settle against the indexers a user would pick instead, on one synthetic chain, in one run.
#
#   Benchmarks/evm-backfill/run.sh [--blocks 10000] [--logs-per-block 100] [--etl-blocks 1000] [--postgres URL | --no-postgres]
#
# 1. Starts the fixture chain (Tests/Peers/chain_fixture.py: 1,000,000 ERC-20 Transfer/Approval logs by default,
#    real ABI encoding, 5 tokens, 50,000 owners, chained headers, the 10,000-result cap of real providers).
# 2. Measures the fixture alone (bodies fetched, not decoded), so it is shown not to be the bottleneck.
# 3. Settle: `settle-bench evm-backfill` (release): full mode into a fresh SQLite index with its secondary indexes,
#    then the same into PostgreSQL: a fresh database made (and dropped) on the server of --postgres URL
#    (postgres://USER@HOST:PORT/DB?sslmode=disable, password from PGPASSWORD), or by default on a throwaway
#    PostgreSQL 15 cluster on 127.0.0.1 (Tests/Peers/postgres_peer.py, fsync off as in the tests), with the ratio.
# 4. Peers against the same server: a naive Python indexer (requests + sqlite3), cryo 0.3.2 with one-block and
#    100-block requests (parquet, no database), and ethereum-etl 2.4.2 `export_token_transfers` (Python 3.10; run
#    on the first --etl-blocks blocks only, it is slow) — then prints the ratios.
# Virtual environments: .venv (setup.sh), .venv-bench (cryo, requests), .venv-etl (Python 3.10, ethereum-etl).
set -euo pipefail
cd "$(dirname "$0")/../.."
BLOCKS=10000
PER_BLOCK=100
ETL_BLOCKS=1000
PG_URL=""
PG=yes
while [ $# -gt 0 ]; do
    case "$1" in
        --blocks) BLOCKS=$2; shift 2 ;;
        --logs-per-block) PER_BLOCK=$2; shift 2 ;;
        --etl-blocks) ETL_BLOCKS=$2; shift 2 ;;
        --postgres) PG_URL=$2; shift 2 ;;
        --no-postgres) PG=no; shift ;;
        *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
LOGS=$((BLOCKS * PER_BLOCK))
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

scripts/setup.sh >/dev/null
if [ ! -x .venv-bench/bin/python ]; then
    log "Creating .venv-bench (cryo 0.3.2, requests)"
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -q --disable-pip-version-check cryo==0.3.2 requests==2.32.3
fi
PY310=""
for candidate in python3.10 "$(command -v pyenv >/dev/null 2>&1 && echo "$(pyenv root)/versions/3.10.13/bin/python" || true)" /root/.pyenv/versions/3.10.13/bin/python; do
    if [ -n "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
        PY310=$candidate
        break
    fi
done
if [ -n "$PY310" ] && [ ! -x .venv-etl/bin/ethereumetl ]; then
    log "Creating .venv-etl (Python 3.10, ethereum-etl 2.4.2)"
    "$PY310" -m venv .venv-etl
    .venv-etl/bin/pip install -q --disable-pip-version-check ethereum-etl==2.4.2
fi

log "Building settle-bench (release)"
swift build -c release --product settle-bench >/dev/null
BENCH=$(swift build -c release --show-bin-path)/settle-bench

WORK=$(mktemp -d)
PG_PID=""
trap 'kill $FIXTURE_PID 2>/dev/null || true; [ -z "$PG_PID" ] || kill $PG_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
POSTGRES_ARGS=()
if [ "$PG" = yes ] && [ -z "$PG_URL" ]; then
    log "Starting a throwaway PostgreSQL 15 cluster"
    .venv/bin/python -u Tests/Peers/postgres_peer.py > "$WORK/pg-port" 2> "$WORK/pg.log" &
    PG_PID=$!
    for _ in $(seq 1 600); do grep -q PORT "$WORK/pg-port" 2>/dev/null && break; sleep 0.1; done
    grep -q PORT "$WORK/pg-port" || { cat "$WORK/pg.log" >&2; exit 1; }
    PG_URL="postgres://settle@127.0.0.1:$(awk '/PORT/ {print $2}' "$WORK/pg-port")/postgres?sslmode=disable"
fi
[ "$PG" = no ] || POSTGRES_ARGS=(--postgres "$PG_URL")
log "Starting the fixture chain: $BLOCKS blocks x $PER_BLOCK logs"
.venv/bin/python -u Tests/Peers/chain_fixture.py --blocks "$BLOCKS" --logs-per-block "$PER_BLOCK" \
    --tokens-out "$WORK/tokens.txt" > "$WORK/port" 2> "$WORK/fixture.log" &
FIXTURE_PID=$!
for _ in $(seq 1 600); do grep -q PORT "$WORK/port" 2>/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$(awk '/PORT/ {print $2}' "$WORK/port")/"

results=()
run() {
    local output
    output=$("$@")
    echo "$output" | grep -v "rows written"
    results+=("$(echo "$output" | grep "logs/s" | head -n 1)")
}

log "Fixture alone"
run "$BENCH" fixture-rate --url "$URL" --parallel 1
log "Settle"
run "$BENCH" evm-backfill --url "$URL" --tokens "$WORK/tokens.txt" --database "$WORK/settle.sqlite" "${POSTGRES_ARGS[@]}"
log "Naive Python indexer"
run .venv-bench/bin/python Benchmarks/evm-backfill/naive_indexer.py --url "$URL" --blocks "$BLOCKS" --database "$WORK/naive.sqlite"
log "cryo, one block per request"
run .venv-bench/bin/python Benchmarks/evm-backfill/cryo_run.py --url "$URL" --blocks "$BLOCKS" --inner-request-size 1 --out "$WORK/cryo1" --logs "$LOGS"
log "cryo, 100-block requests"
run .venv-bench/bin/python Benchmarks/evm-backfill/cryo_run.py --url "$URL" --blocks "$BLOCKS" --inner-request-size 100 --out "$WORK/cryo100" --logs "$LOGS"
if [ -x .venv-etl/bin/ethereumetl ]; then
    log "ethereum-etl export_token_transfers (first $ETL_BLOCKS blocks)"
    started=$(date +%s.%N)
    .venv-etl/bin/ethereumetl export_token_transfers --start-block 0 --end-block $((ETL_BLOCKS - 1)) --batch-size 100 \
        --provider-uri "$URL" --output "$WORK/etl.csv" 2> "$WORK/etl.log" || { tail -n 3 "$WORK/etl.log"; exit 1; }
    elapsed=$(echo "$(date +%s.%N) - $started" | bc -l)
    rows=$(($(wc -l < "$WORK/etl.csv") - 1))
    line=$(printf "ethereum-etl 2.4.2 (export_token_transfers, CSV): %d transfers in %.2f s = %.0f logs/s" "$rows" "$elapsed" "$(echo "$rows / $elapsed" | bc -l)")
    echo "$line"; results+=("$line")
else
    echo "ethereum-etl skipped: no Python 3.10 found (install it with pyenv to include this peer)"
fi

rate() { echo "$1" | sed -E 's/.* ([0-9]+) logs\/s.*/\1/'; }
SETTLE=$(rate "${results[1]}")
echo
echo "Ratios (Settle's logs/s over each peer's, same machine, same run):"
for line in "${results[@]:2}"; do
    peer=$(rate "$line")
    printf "  %-60s %6.2fx\n" "$(echo "$line" | cut -d: -f1)" "$(echo "$SETTLE / $peer" | bc -l)"
done
printf "  %-60s %6.2f (fraction of the fixture's own rate)\n" "fixture server alone" "$(echo "$SETTLE / $(rate "${results[0]}")" | bc -l)"
