#!/usr/bin/env bash
# Installs what Settle needs on a fresh Debian 12 machine: the four C libraries (Debian -dev packages) and a
# Python virtual environment (.venv) with the pinned reference libraries the tests check against, the test
# peers run on (py-evm devnet, Vyper for the test token), the API fuzzer (schemathesis) and the browser tests
# (Debian's chromium and chromium-driver, driven by selenium).
#
#   scripts/setup.sh            # both
#   scripts/setup.sh --system   # only the Debian packages (enough to build and run the daemon)
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(pkg-config libsqlite3-dev libsecp256k1-dev libsodium-dev libcurl4-openssl-dev)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_system() {
    local missing=()
    for package in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then missing+=(python3-venv); fi
    if [ ${#missing[@]} -eq 0 ]; then
        log "Debian packages present: ${APT_PACKAGES[*]}"
        return
    fi
    log "Installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

install_python() {
    local requirements=(Tests/Vectors/requirements.txt Tests/Peers/requirements-evm.txt Tests/Peers/requirements-solana.txt
                        Tests/Peers/requirements-stripe.txt Tests/Peers/requirements-api.txt Tests/Peers/requirements-fuzz.txt
                        Tests/Peers/requirements-browser.txt)
    local stamp=.venv/.requirements.sha256
    local want
    want=$(cat "${requirements[@]}" | sha256sum | cut -d' ' -f1)
    if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        log "Python environment .venv up to date"
        return
    fi
    log "Creating Python environment .venv (pinned reference libraries)"
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check "${requirements[@]/#/--requirement=}"
    echo "$want" > "$stamp"
}

# The tests also run a real PostgreSQL server (a throwaway cluster per test run, Tests/Peers/postgres_peer.py) and
# drive pages in headless Chromium (Tests/Peers/browser/); selenium uses Debian's chromedriver, never a download.
[ "${1:-}" = "--system" ] || APT_PACKAGES+=(postgresql chromium chromium-driver)
install_system
[ "${1:-}" = "--system" ] || install_python
