#!/usr/bin/env bash
# Settled charges per minute with one `settled serve` and with three on one PostgreSQL database (issue 15).
#
#   Benchmarks/daemons/run.sh [--invoices 200] [--daemons 1,3] [--payers 5] [--interval 0.25] [--lease-seconds 15]
#
# Builds settled (release), then Benchmarks/daemons/daemons.py runs each daemon count from scratch against the py-evm
# devnet, localstripe and a throwaway PostgreSQL 15 cluster on 127.0.0.1 (see its docstring), verifies every invoice
# paid in Stripe and one exact Transfer per invoice on chain, and prints charges per minute and the ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv/bin/python ] || scripts/setup.sh >/dev/null
printf '\033[1m==> %s\033[0m\n' "Building settled (release)" >&2
flock /tmp/settle-build.lock swift build -c release --product settled >/dev/null
SETTLED=$(swift build -c release --show-bin-path)/settled
.venv/bin/python -u Benchmarks/daemons/daemons.py --settled "$SETTLED" "$@"
