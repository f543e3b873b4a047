#!/usr/bin/env bash
# Sets up and runs every test: installs the Debian packages and the Python reference libraries, generates the
# reference vectors (.vectors/), builds once, runs the whole Swift Testing suite, fuzzes the HTTP API with schemathesis,
# then runs the demo to completion.
#
#   SETTLE_VECTOR_COUNT=5000 scripts/test.sh   # more generated cases per format (default 1000)
#   SETTLE_VECTOR_SEED=7 scripts/test.sh       # another seed (default fixed, so runs are reproducible)
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step's heading says how long the run has taken so far (the whole must stay well under CI's budget).
started=$SECONDS
step() { printf '\033[1m==> [%dm%02ds] %s\033[0m\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)) "$1" >&2; }
trap 'step "Finished (exit $?)"' EXIT

scripts/setup.sh

step "Generating reference vectors into .vectors/"
rm -rf .vectors
.venv/bin/python Tests/Vectors/generate.py --out .vectors --count "${SETTLE_VECTOR_COUNT:-1000}"

step "Self-checks of the test peers (py-evm devnet, LiteSVM RPC, localstripe + stripe_ext, browser harness)"
timeout --signal=KILL 300 .venv/bin/python Tests/Peers/test_evm_devnet.py
timeout --signal=KILL 300 .venv/bin/python Tests/Peers/test_solana_rpc.py
timeout --signal=KILL 120 .venv/bin/python Tests/Peers/test_stripe_peer.py
timeout --signal=KILL 120 .venv/bin/python Tests/Peers/openapi_check.py --self-test
# headless Chromium + the wallet stand-in on a throwaway CSP-strict page; screenshots in .artifacts/browser/harness
timeout --signal=KILL 180 .venv/bin/python Tests/Peers/browser/test_browser_harness.py

step "Every import declared in Package.swift (else the build depends on scheduling order)"
.venv/bin/python scripts/check_imports.py

step "Building (debug, with tests)"
swift build --build-tests

step "Running tests"
# A hung peer must fail the run, not stall it. At most six tests at once: the suite takes as long as with every test
# started together (measured: 619 s against 600-640 s), and the shared devnets and the two cores are not swamped.
SETTLE_VECTORS_DIR="$PWD/.vectors" timeout --signal=KILL 2400 swift test --skip-build --experimental-maximum-parallelization-width 6

step "Several daemons at full scale: three settled serve on one PostgreSQL, 60 SIGKILLs, 3 SIGSTOPs, 323 invoices, verdict from the chain"
SETTLE_LONG_TESTS=1 SETTLE_VECTORS_DIR="$PWD/.vectors" timeout --signal=KILL 1500 swift test --skip-build --filter SeveralDaemonsServeTests

step "Native billing at length: a month of hourly renewals on the devnet (injected clock), and settled serve without Stripe SIGKILLed inside its scheduler"
SETTLE_LONG_TESTS=1 SETTLE_VECTORS_DIR="$PWD/.vectors" timeout --signal=KILL 900 swift test --skip-build --filter "NativeMonthTests|NativeServeTests"

step "Checkout in headless Chromium: settled serve, the devnet, localstripe and the test stand-in for a browser wallet (screenshots in .artifacts/browser/checkout)"
timeout --signal=KILL 900 .venv/bin/python Tests/Peers/browser/test_checkout.py --settled "$(swift build --product settled --show-bin-path)/settled"
step "Merchant dashboard in headless Chromium: sign-in, read-only and admin, Get data, retry, redeliver, refusals (screenshots in .artifacts/browser/dashboard)"
timeout --signal=KILL 900 .venv/bin/python Tests/Peers/browser/test_dashboard.py --settled "$(swift build --product settled --show-bin-path)/settled"

step "The HTTP API against schemathesis (admin, read and no token) and a generated client, with the binary just built"
timeout --signal=KILL 900 .venv/bin/python Tests/Peers/api_fuzz.py --settled "$(swift build --product settled --show-bin-path)/settled"

step "The demo (README's first command) to completion, with the binary just built"
timeout --signal=KILL 600 .venv/bin/python scripts/demo.py --settled "$(swift build --product settled --show-bin-path)/settled" --color never
