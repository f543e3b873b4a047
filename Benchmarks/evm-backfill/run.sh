#!/usr/bin/env bash
# EVM backfill benchmark: Settle against the indexers a user would pick instead, over a matrix of log densities and
# node latencies, every client of a cell against the same fixture in the same run.
#
#   Benchmarks/evm-backfill/run.sh [--logs 1000000] [--densities 1,10,100] [--latencies 0,30] [--log-range 2000]
#                                  [--in-flight 8] [--peer-logs 100000] [--postgres URL | --throwaway-postgres] [--etl]
#                                  [--before PATH-TO-AN-OLDER-settle-bench]
#
# For each density D (logs per block), the fixture chain (Tests/Peers/chain_fixture.py) holds --logs logs in
# logs/D blocks: real ABI encoding, 5 tokens, 50,000 owners, chained headers, the 10,000-result cap of real
# providers. For each latency L (ms added to every answer: 0 is a node on the same machine, 30 a remote provider),
# one cell runs, each client as its own process under measure.py (wall time, CPU seconds, peak RSS, the requests the
# fixture served):
#   - the fixture alone: `settle-bench fixture-rate`, 4 x --in-flight requests at once (a remote node's capacity
#     shows only with more requests in flight than any client here keeps), bodies read but not parsed;
#   - Settle: `settle-bench evm-backfill` (release), full mode into a fresh SQLite index with its secondary indexes,
#     max_log_range = --log-range, requests_in_flight = --in-flight;
#   - cryo 0.3.2 at its best: requests of min(--log-range, 10000/D) blocks (the most the provider answers), parquet;
#   - cryo 0.3.2 as shipped (one block per request), and the naive indexer (Python requests + sqlite3, 100-block
#     ranges, one at a time): both on the first --peer-logs logs only (they take minutes over a million), their
#     rate measured over that prefix;
#   - with --etl, ethereum-etl 2.4.2 export_token_transfers (Python 3.10) on the same prefix;
#   - with --before, an older build of settle-bench (say, of the commit before a change) on the whole chain: the
#     same backfill as it was, for "no worse than before" figures in the same run.
# Then the table (measure.py table): logs/s, blocks/s, client CPU-seconds per million logs, peak RSS, requests, and
# Settle's ratio to each peer; and per cell how many times the fastest client's rate the fixture alone serves.
# With --postgres URL (or --throwaway-postgres: a PostgreSQL 15 cluster on 127.0.0.1, Tests/Peers/postgres_peer.py),
# the densest cell also backfills into PostgreSQL beside SQLite and prints the ratio.
# Virtual environments: .venv (setup.sh), .venv-bench (cryo, requests), .venv-etl (Python 3.10, ethereum-etl).
set -euo pipefail
cd "$(dirname "$0")/../.."
LOGS=1000000
DENSITIES=1,10,100
LATENCIES=0,30
LOG_RANGE=2000
IN_FLIGHT=8
PEER_LOGS=100000
PG_URL=""
PG=no
ETL=no
BEFORE=""
while [ $# -gt 0 ]; do
    case "$1" in
        --logs) LOGS=$2; shift 2 ;;
        --densities) DENSITIES=$2; shift 2 ;;
        --latencies) LATENCIES=$2; shift 2 ;;
        --log-range) LOG_RANGE=$2; shift 2 ;;
        --in-flight) IN_FLIGHT=$2; shift 2 ;;
        --peer-logs) PEER_LOGS=$2; shift 2 ;;
        --postgres) PG_URL=$2; PG=yes; shift 2 ;;
        --throwaway-postgres) PG=yes; shift ;;
        --etl) ETL=yes; shift ;;
        --before) BEFORE=$2; shift 2 ;;
        -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument $1 (see $0 --help)" >&2; exit 2 ;;
    esac
done
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

scripts/setup.sh >/dev/null
if [ ! -x .venv-bench/bin/python ] || ! .venv-bench/bin/python -c 'import cryo, requests' 2>/dev/null; then
    log "Creating .venv-bench (cryo 0.3.2, requests)"
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -q --disable-pip-version-check cryo==0.3.2 requests==2.32.3
fi
if [ "$ETL" = yes ] && [ ! -x .venv-etl/bin/ethereumetl ]; then
    PY310=""
    for candidate in python3.10 /root/.pyenv/versions/3.10.13/bin/python; do
        if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then PY310=$candidate; break; fi
    done
    [ -n "$PY310" ] || { echo "--etl needs Python 3.10 (ethereum-etl 2.4.2 does not install on later versions)" >&2; exit 1; }
    log "Creating .venv-etl (Python 3.10, ethereum-etl 2.4.2)"
    "$PY310" -m venv .venv-etl
    .venv-etl/bin/pip install -q --disable-pip-version-check ethereum-etl==2.4.2
fi

log "Building settle-bench (release)"
swift build -c release --product settle-bench >/dev/null
BENCH=$(swift build -c release --show-bin-path)/settle-bench

WORK=$(mktemp -d)
FIXTURE_PID=""
PG_PID=""
trap '[ -z "$FIXTURE_PID" ] || kill $FIXTURE_PID 2>/dev/null || true; [ -z "$PG_PID" ] || kill $PG_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
if [ "$PG" = yes ] && [ -z "$PG_URL" ]; then
    log "Starting a throwaway PostgreSQL 15 cluster"
    .venv/bin/python -u Tests/Peers/postgres_peer.py > "$WORK/pg-port" 2> "$WORK/pg.log" &
    PG_PID=$!
    for _ in $(seq 1 600); do grep -q PORT "$WORK/pg-port" 2>/dev/null && break; sleep 0.1; done
    grep -q PORT "$WORK/pg-port" || { cat "$WORK/pg.log" >&2; exit 1; }
    PG_URL="postgres://settle@127.0.0.1:$(awk '/PORT/ {print $2}' "$WORK/pg-port")/postgres?sslmode=disable"
fi

RESULTS=$WORK/results.jsonl
echo "EVM backfill matrix: $LOGS logs per density; densities $DENSITIES logs/block; latencies $LATENCIES ms;"
echo "Settle max_log_range $LOG_RANGE, requests_in_flight $IN_FLIGHT; slow peers on the first $PEER_LOGS logs."
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"
IFS=, read -r -a densities <<< "$DENSITIES"
IFS=, read -r -a latencies <<< "$LATENCIES"
for density in "${densities[@]}"; do
    blocks=$((LOGS / density))
    peer_blocks=$((PEER_LOGS / density)); [ "$peer_blocks" -le "$blocks" ] || peer_blocks=$blocks
    peer_logs=$((peer_blocks * density))
    best=$((10000 / density)); [ "$best" -le "$LOG_RANGE" ] || best=$LOG_RANGE; [ "$best" -ge 1 ] || best=1
    [ -z "$FIXTURE_PID" ] || { kill $FIXTURE_PID; wait $FIXTURE_PID 2>/dev/null || true; }
    log "Fixture chain: $blocks blocks x $density logs"
    .venv/bin/python -u Tests/Peers/chain_fixture.py --blocks "$blocks" --logs-per-block "$density" \
        --tokens-out "$WORK/tokens.txt" > "$WORK/port" 2> "$WORK/fixture.log" &
    FIXTURE_PID=$!
    for _ in $(seq 1 3000); do grep -q PORT "$WORK/port" 2>/dev/null && break; sleep 0.1; done
    grep -q PORT "$WORK/port" || { cat "$WORK/fixture.log" >&2; exit 1; }
    URL="http://127.0.0.1:$(awk '/PORT/ {print $2}' "$WORK/port")/"
    for latency in "${latencies[@]}"; do
        cell="$density logs/block, $latency ms"
        log "Cell: $cell"
        curl -s -o /dev/null -H 'Content-Type: application/json' \
            -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"fixture_configure\",\"params\":[{\"latency_ms\":$latency}]}" "$URL"
        measure() { .venv/bin/python Benchmarks/evm-backfill/measure.py run --out "$RESULTS" --cell "$cell" --url "$URL" "$@"; }
        settle_range=$LOG_RANGE
        measure --client "fixture alone ($((IN_FLIGHT * 4)) in flight, $best-block requests)" --logs "$LOGS" --blocks "$blocks" -- \
            "$BENCH" fixture-rate --url "$URL" --parallel $((IN_FLIGHT * 4)) --range "$best"
        rm -f "$WORK/settle.sqlite"*
        measure --client "Settle" --logs "$LOGS" --blocks "$blocks" -- \
            "$BENCH" evm-backfill --url "$URL" --tokens "$WORK/tokens.txt" --database "$WORK/settle.sqlite" \
            --log-range "$settle_range" --requests-in-flight "$IN_FLIGHT"
        if [ -n "$BEFORE" ]; then
            rm -f "$WORK/before.sqlite"*
            measure --client "Settle before (an older build)" --logs "$LOGS" --blocks "$blocks" -- \
                "$BEFORE" evm-backfill --url "$URL" --tokens "$WORK/tokens.txt" --database "$WORK/before.sqlite" --log-range "$settle_range"
        fi
        measure --client "cryo 0.3.2, $best-block requests (its best)" --logs "$LOGS" --blocks "$blocks" -- \
            .venv-bench/bin/python Benchmarks/evm-backfill/cryo_run.py --url "$URL" --blocks "$blocks" \
            --inner-request-size "$best" --chunk-size "$best" --out "$WORK/cryo-best" --logs "$LOGS"
        measure --client "cryo 0.3.2 as shipped (1-block requests)" --logs "$peer_logs" --blocks "$peer_blocks" -- \
            .venv-bench/bin/python Benchmarks/evm-backfill/cryo_run.py --url "$URL" --blocks "$peer_blocks" \
            --inner-request-size 1 --out "$WORK/cryo-1" --logs "$peer_logs"
        rm -f "$WORK/naive.sqlite"*
        measure --client "naive Python (requests + sqlite3)" --logs "$peer_logs" --blocks "$peer_blocks" -- \
            .venv-bench/bin/python Benchmarks/evm-backfill/naive_indexer.py --url "$URL" --blocks "$peer_blocks" \
            --database "$WORK/naive.sqlite"
        if [ "$ETL" = yes ]; then
            measure --client "ethereum-etl 2.4.2 (export_token_transfers)" --logs "$peer_logs" --blocks "$peer_blocks" -- \
                .venv-etl/bin/ethereumetl export_token_transfers --start-block 0 --end-block $((peer_blocks - 1)) \
                --batch-size 100 --provider-uri "$URL" --output "$WORK/etl.csv"
        fi
    done
    if [ "$PG" = yes ] && [ "$density" = "${densities[${#densities[@]}-1]}" ]; then
        log "SQLite and PostgreSQL, $density logs/block, $latency ms"
        rm -f "$WORK/settle.sqlite"*
        "$BENCH" evm-backfill --url "$URL" --tokens "$WORK/tokens.txt" --database "$WORK/settle.sqlite" \
            --log-range "$LOG_RANGE" --requests-in-flight "$IN_FLIGHT" --postgres "$PG_URL" | grep -v "rows written"
    fi
done
.venv/bin/python Benchmarks/evm-backfill/measure.py table "$RESULTS"
cp "$RESULTS" "${TMPDIR:-/tmp}/evm-backfill-results.jsonl"
echo
echo "Rows: ${TMPDIR:-/tmp}/evm-backfill-results.jsonl"
