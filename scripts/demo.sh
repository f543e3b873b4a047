#!/usr/bin/env bash
# Sets up and runs Settle's local demo: a py-evm devnet with a USDC-like token, a LiteSVM runtime with a mint and
# localstripe start on 127.0.0.1, `settled serve` runs against them, customers approve the merchant, invoices are
# charged onchain, confirmed and marked paid in Stripe as you watch; one payment is missed for a low allowance and
# paid after a top-up; the last screen is a wallet's allowance history. Everything stops at the end (exit 0 only if
# every step happened). The steps are in scripts/demo.py; options are passed on to it:
#
#   scripts/demo.sh                  # about a minute after the build
#   scripts/demo.sh --keep-dir       # keep the temporary directory (settled.log, peer logs, database, config)
#   scripts/demo.sh --timeout-scale 3   # a slow machine: triple every deadline
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages (the C libraries settled links) and .venv (the peers and the Python libraries the customers'
# wallets are played with: eth-account, solders).
scripts/setup.sh
if [ -t 2 ]; then printf '\033[1m==> %s\033[0m\n' "Building settled" >&2; else echo "==> Building settled" >&2; fi
swift build --product settled
exec .venv/bin/python scripts/demo.py --settled "$(swift build --product settled --show-bin-path)/settled" "$@"
