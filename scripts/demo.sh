#!/usr/bin/env bash
# Sets up and runs Settle's main job on this machine. Until the daemon lands, that is the payment-signing demo:
# a merchant's spender key signs an EIP-1559 transferFrom and a Solana delegate signs an SPL TransferChecked,
# and each signed transaction is decoded and verified again. No network is used.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --system
printf '\033[1m==> %s\033[0m\n' "Building settled" >&2
swift build --product settled
exec "$(swift build --product settled --show-bin-path)/settled" demo "$@"
