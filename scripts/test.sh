#!/usr/bin/env bash
# Sets up and runs every test: installs the Debian packages and the Python reference libraries, generates the
# reference vectors (.vectors/), builds once, runs the whole Swift Testing suite, fuzzes the HTTP API with schemathesis,
# then runs the demo to completion.
#
#   SETTLE_VECTOR_COUNT=5000 scripts/test.sh   # more generated cases per format (default 1000)
#   SETTLE_VECTOR_SEED=7 scripts/test.sh       # another seed (default fixed, so runs are reproducible)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

printf '\033[1m==> %s\033[0m\n' "Generating reference vectors into .vectors/" >&2
rm -rf .vectors
.venv/bin/python Tests/Vectors/generate.py --out .vectors --count "${SETTLE_VECTOR_COUNT:-1000}"

printf '\033[1m==> %s\033[0m\n' "Self-checks of the test peers (py-evm devnet, LiteSVM RPC, localstripe + stripe_ext, browser harness)" >&2
timeout --signal=KILL 300 .venv/bin/python Tests/Peers/test_evm_devnet.py
timeout --signal=KILL 300 .venv/bin/python Tests/Peers/test_solana_rpc.py
timeout --signal=KILL 120 .venv/bin/python Tests/Peers/test_stripe_peer.py
timeout --signal=KILL 120 .venv/bin/python Tests/Peers/openapi_check.py --self-test
# headless Chromium + the wallet stand-in on a throwaway CSP-strict page; screenshots in .artifacts/browser/harness
timeout --signal=KILL 180 .venv/bin/python Tests/Peers/browser/test_browser_harness.py

printf '\033[1m==> %s\033[0m\n' "Every import declared in Package.swift (else the build depends on scheduling order)" >&2
.venv/bin/python scripts/check_imports.py

printf '\033[1m==> %s\033[0m\n' "Building (debug, with tests)" >&2
swift build --build-tests

printf '\033[1m==> %s\033[0m\n' "Running tests" >&2
# A hung peer must fail the run, not stall it. At most six tests at once: the suite takes as long as with every test
# started together (measured: 619 s against 600-640 s), and the shared devnets and the two cores are not swamped.
SETTLE_VECTORS_DIR="$PWD/.vectors" timeout --signal=KILL 2400 swift test --skip-build --experimental-maximum-parallelization-width 6

printf '\033[1m==> %s\033[0m\n' "Several daemons at full scale: three settled serve on one PostgreSQL, 60 SIGKILLs, 3 SIGSTOPs, 323 invoices, verdict from the chain" >&2
SETTLE_LONG_TESTS=1 SETTLE_VECTORS_DIR="$PWD/.vectors" timeout --signal=KILL 1500 swift test --skip-build --filter SeveralDaemonsServeTests

printf '\033[1m==> %s\033[0m\n' "Native billing at length: a month of hourly renewals on the devnet (injected clock), and settled serve without Stripe SIGKILLed inside its scheduler" >&2
SETTLE_LONG_TESTS=1 SETTLE_VECTORS_DIR="$PWD/.vectors" timeout --signal=KILL 900 swift test --skip-build --filter "NativeMonthTests|NativeServeTests"

printf '\033[1m==> %s\033[0m\n' "Checkout in headless Chromium: settled serve, the devnet, localstripe and the test stand-in for a browser wallet (screenshots in .artifacts/browser/checkout)" >&2
timeout --signal=KILL 900 .venv/bin/python Tests/Peers/browser/test_checkout.py --settled "$(swift build --product settled --show-bin-path)/settled"
printf '\033[1m==> %s\033[0m\n' "Merchant dashboard in headless Chromium: sign-in, read-only and admin, Get data, retry, redeliver, refusals (screenshots in .artifacts/browser/dashboard)" >&2
timeout --signal=KILL 900 .venv/bin/python Tests/Peers/browser/test_dashboard.py --settled "$(swift build --product settled --show-bin-path)/settled"

printf '\033[1m==> %s\033[0m\n' "The HTTP API against schemathesis (admin, read and no token) and a generated client, with the binary just built" >&2
timeout --signal=KILL 900 .venv/bin/python Tests/Peers/api_fuzz.py --settled "$(swift build --product settled --show-bin-path)/settled"

printf '\033[1m==> %s\033[0m\n' "The demo (README's first command) to completion, with the binary just built" >&2
timeout --signal=KILL 600 .venv/bin/python scripts/demo.py --settled "$(swift build --product settled --show-bin-path)/settled" --color never
