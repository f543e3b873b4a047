#!/usr/bin/env python3
"""Self-test of the browser harness on a throwaway page (Tests/Peers/browser/selftest/), served from 127.0.0.1 with a
strict Content-Security-Policy. Headless Chromium opens it; the wallet is the test stand-in for a browser wallet
(wallet_standin.js + wallet.py), signing with the customer's devnet key and keypair. The page connects, sends an
ERC-20 approve on the py-evm devnet and an SPL Token Approve on LiteSVM; the verdicts come from the chains (allowance
by eth_call, delegate and delegated amount from the token account). A rejected request must reach the page as 4001;
an inline script must be reported as a CSP violation; no browser process may outlive the test.

    .venv/bin/python Tests/Peers/browser/test_browser_harness.py [--artifacts DIR]

Screenshots (desktop and phone) go to DIR (default .artifacts/browser/harness). Ends with `N passed, N failed`.
"""
import argparse
import base64
import json
import os
import signal
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from browser import Browser, BrowserProblem, EVMWallet, SolanaWallet, Wallet  # noqa: E402
from browser.harness import live_processes  # noqa: E402
from browser.peers import Peer  # noqa: E402
from eth_abi import decode as abi_decode, encode as abi_encode  # noqa: E402
from eth_account import Account  # noqa: E402
from eth_account.messages import encode_defunct  # noqa: E402
from eth_utils import keccak  # noqa: E402
from solders.hash import Hash  # noqa: E402
from solders.instruction import AccountMeta, Instruction  # noqa: E402
from solders.keypair import Keypair  # noqa: E402
from solders.message import Message  # noqa: E402
from solders.pubkey import Pubkey  # noqa: E402
from solders.signature import Signature  # noqa: E402
from solders.transaction import Transaction  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'"
TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
EVM_AMOUNT = 250_000_000           # 250 STUSD (6 decimals)
SOL_AMOUNT = 125_000_000           # 125 of a 6-decimal mint


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {name} {detail}")

    def equal(self, name, have, want):
        self.check(name, have == want, f"have {have!r} want {want!r}")


# ---------------------------------------------------------------------- the page's server (stands in for settled serve)
def page_server(values, solana):
    """Serves selftest/ with the CSP header; index.html gets `values`. /solana/approve-tx builds the unsigned SPL
    Approve for the wallet to sign; /solana/status reads the signature's status (the page cannot reach the RPC)."""
    files = {"/": ("index.html", "text/html"), "/inline.html": ("inline.html", "text/html"),
             "/app.js": ("app.js", "text/javascript"), "/style.css": ("style.css", "text/css"),
             "/favicon.svg": ("favicon.svg", "image/svg+xml")}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send(self, status, body, kind):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", CSP)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            if url.path in files:
                name, kind = files[url.path]
                with open(os.path.join(HERE, "selftest", name), encoding="utf-8") as source:
                    text = source.read()
                for key, value in values.items():
                    text = text.replace("{{" + key + "}}", str(value))
                self.send(200, text.encode(), kind + "; charset=utf-8")
            elif url.path == "/solana/approve-tx":
                owner = Pubkey.from_string(query["owner"])
                approve = Instruction(TOKEN_PROGRAM, bytes([4]) + struct.pack("<Q", SOL_AMOUNT), [
                    AccountMeta(Pubkey.from_string(values["sol_account"]), False, True),
                    AccountMeta(Pubkey.from_string(values["sol_delegate"]), False, False),
                    AccountMeta(owner, True, False)])
                blockhash = solana("getLatestBlockhash", {"commitment": "confirmed"})["value"]["blockhash"]
                message = Message.new_with_blockhash([approve], owner, Hash.from_string(blockhash))
                unsigned = bytes(Transaction.new_unsigned(message))
                self.send(200, json.dumps({"transaction": base64.b64encode(unsigned).decode()}).encode(),
                          "application/json")
            elif url.path == "/solana/status":
                status = solana("getSignatureStatuses", [query["signature"]])["value"][0]
                self.send(200, json.dumps(status or {}).encode(), "application/json")
            else:
                self.send(404, b"not found", "text/plain")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# ---------------------------------------------------------------------- ground truth from the chains
def allowance(devnet, token, owner, spender):
    data = "0x" + (keccak(text="allowance(address,address)")[:4] + abi_encode(["address", "address"],
                                                                             [owner, spender])).hex()
    return abi_decode(["uint256"], bytes.fromhex(devnet("eth_call", {"to": token, "data": data}, "latest")[2:]))[0]


def token_account(solana, address):
    """(amount, delegate or None, delegated_amount) from the SPL Token account layout."""
    info = solana("getAccountInfo", address, {"encoding": "base64", "commitment": "confirmed"})["value"]
    data = base64.b64decode(info["data"][0])
    amount = struct.unpack_from("<Q", data, 64)[0]
    has_delegate = struct.unpack_from("<I", data, 72)[0] == 1
    delegate = str(Pubkey.from_bytes(data[76:108])) if has_delegate else None
    return amount, delegate, struct.unpack_from("<Q", data, 121)[0]


# ---------------------------------------------------------------------- the test
def run(c, artifacts):
    started = time.monotonic()
    with Peer("evm_devnet.py") as devnet, Peer("solana_rpc.py") as solana:
        # EVM: a test token, a customer holding some, a spender (the merchant's key in Settle).
        accounts = devnet("settle_accounts")
        customer, other, spender = accounts[3], accounts[4], accounts[1]["address"]
        token = devnet("settle_deployToken", {"name": "Settle Test USD", "symbol": "STUSD", "decimals": 6})
        devnet("settle_mint", {"token": token, "to": customer["address"], "amount": 1_000_000_000})
        # Solana: a mint, a customer wallet with a funded token account, a delegate.
        mint = solana("settle_createMint", {"decimals": 6})
        sol_customer, sol_other = solana("settle_keypairs", 2)
        sol_account = solana("settle_createAta", {"owner": sol_customer["pubkey"], "mint": mint})
        solana("settle_mintTo", {"mint": mint, "destination": sol_account, "amount": 1_000_000_000})
        delegate = str(Keypair().pubkey())
        print(f"peers ready: {time.monotonic() - started:.1f} s")

        values = {"evm_chain_id": int(devnet("eth_chainId"), 16), "evm_token": token, "evm_spender": spender,
                  "evm_amount": EVM_AMOUNT, "sol_mint": mint, "sol_delegate": delegate, "sol_amount": SOL_AMOUNT,
                  "sol_account": sol_account}
        server = page_server(values, solana)
        page = f"http://127.0.0.1:{server.server_port}/"

        wallet = Wallet(evm=EVMWallet(devnet.url, [customer["privateKey"], other["privateKey"]]),
                        solana=SolanaWallet(solana.url, [sol_customer["secretKey"], sol_other["secretKey"]]))
        wallet.evm.active_chain_id = 1   # the wallet starts on another chain: the page must switch it
        try:
            with Browser(artifacts, wallet=wallet) as browser:
                group = browser._group
                print(f"browser up: {time.monotonic() - started:.1f} s")
                scenario(c, browser, wallet, devnet, solana, values, customer, page)
            c.equal("no browser process left after close", live_processes(group), [])
        finally:
            server.shutdown()
            server.server_close()
    print(f"total: {time.monotonic() - started:.1f} s")


def scenario(c, browser, wallet, devnet, solana, values, customer, page):
    browser.open(page)
    discovery = browser.wait_for_text("#discovery", "Wallet Standard")
    c.check("EIP-6963 announcement seen", "EIP-6963, org.settle.test-wallet" in discovery, discovery)
    c.check("Wallet Standard registration seen", "Settle test wallet (Wallet Standard, solana:localnet)" in discovery,
            discovery)
    browser.screenshot("01-loaded")

    # ---- EVM: connect (switching chain), approve, verify on chain
    browser.click("#evm-connect")
    browser.wait_for_text("#evm-status", "Connected.")
    c.equal("page shows the customer's account", browser.text("#evm-account"), customer["address"].lower())
    c.equal("page switched the wallet to the devnet", browser.text("#evm-chain"), str(values["evm_chain_id"]))
    browser.screenshot("02-evm-connected")

    browser.click("#evm-approve")
    browser.wait_for(lambda: browser.find("#evm-status").get_attribute("data-state") in ("approved", "error"),
                     what="the EVM approval")
    c.equal("page shows the approval", browser.find("#evm-status").get_attribute("data-state"), "approved")
    sent = [entry for entry in wallet.log if entry["method"] == "eth_sendTransaction"]
    c.check("one transaction sent by the wallet", len(sent) == 1 and sent[0]["outcome"] == "sent", sent)
    c.equal("the page shows the sent hash", browser.find("#evm-status").get_attribute("data-tx"), sent[0]["hash"])
    c.equal("allowance on chain", allowance(devnet, values["evm_token"], customer["address"], values["evm_spender"]),
            EVM_AMOUNT)
    receipt = devnet("eth_getTransactionReceipt", sent[0]["hash"])
    c.equal("receipt from the customer", receipt["from"], customer["address"].lower())
    browser.screenshot("03-evm-approved")

    # ---- EVM: the user rejects the next request
    wallet.reject_next()
    browser.click("#evm-approve")
    browser.wait_for(lambda: browser.find("#evm-status").get_attribute("data-state") == "error", what="the rejection")
    c.equal("rejection reaches the page as 4001", browser.find("#evm-status").get_attribute("data-error-code"), "4001")
    c.equal("rejection text", browser.text("#evm-status"), "Error 4001: User rejected the request.")
    c.equal("rejection logged", wallet.log[-1]["outcome"], "rejected")
    c.equal("nothing more sent", len([e for e in wallet.log if e["method"] == "eth_sendTransaction"
                                      and e["outcome"] == "sent"]), 1)
    browser.screenshot("04-evm-rejected")

    wallet.evm.use_account(1)
    browser.wait_for_text("#evm-account", wallet.evm.address)
    c.check("accountsChanged reaches the page", browser.text("#evm-account") == wallet.evm.address)

    # ---- Solana: connect, approve (server-built transaction, wallet signs and sends), verify on chain
    before = token_account(solana, values["sol_account"])
    c.equal("no delegate before", before[1:], (None, 0))
    browser.click("#sol-connect")
    browser.wait_for_text("#sol-status", "Connected.")
    c.equal("page shows the Solana account", browser.text("#sol-account"), wallet.solana.address)
    browser.click("#sol-approve")
    browser.wait_for(lambda: browser.find("#sol-status").get_attribute("data-state") in ("approved", "error"),
                     what="the SPL approval")
    c.equal("page shows the SPL approval", browser.find("#sol-status").get_attribute("data-state"), "approved")
    amount, delegate, delegated = token_account(solana, values["sol_account"])
    c.equal("delegate on chain", delegate, values["sol_delegate"])
    c.equal("delegated amount on chain", delegated, SOL_AMOUNT)
    c.equal("balance unchanged", amount, 1_000_000_000)
    sent = [entry for entry in wallet.log if entry["method"] == "signAndSendTransaction"]
    c.check("one Solana transaction sent", len(sent) == 1 and sent[0]["outcome"] == "sent", sent)
    c.equal("the page shows the signature", browser.find("#sol-status").get_attribute("data-signature"),
            sent[0]["signature"])
    browser.screenshot("05-solana-approved")

    # ---- messages: personal_sign (EIP-1193) and solana:signMessage (Wallet Standard), checked by recovery/verify
    browser.execute("""window.ethereum.request({method: "personal_sign", params: ["0x48656c6c6f", arguments[0]]})
                         .then((signature) => { window.testPersonalSign = signature; });""", wallet.evm.address)
    signature = browser.wait_for(lambda: browser.execute("return window.testPersonalSign"), what="personal_sign")
    c.equal("personal_sign recovers to the account",
            Account.recover_message(encode_defunct(hexstr="0x48656c6c6f"), signature=signature).lower(),
            wallet.evm.address)
    browser.execute("""  // an app's side of Wallet Standard discovery: the wallet answers app-ready by registering
        window.dispatchEvent(new CustomEvent("wallet-standard:app-ready", { detail: { register: async (wallet) => {
          const [output] = await wallet.features["solana:signMessage"].signMessage(
            { account: wallet.accounts[0], message: new TextEncoder().encode("Hello") });
          window.testSignMessage = Array.from(output.signature);
        } } }));""")
    signature = browser.wait_for(lambda: browser.execute("return window.testSignMessage"), what="signMessage")
    c.check("solana:signMessage verifies", Signature(bytes(signature)).verify(
        Pubkey.from_string(wallet.solana.address), b"Hello"))

    wallet.reject_next()
    browser.click("#sol-approve")
    browser.wait_for(lambda: browser.find("#sol-status").get_attribute("data-state") == "error", what="the rejection")
    c.equal("Solana rejection reaches the page as 4001", browser.find("#sol-status").get_attribute("data-error-code"),
            "4001")
    browser.screenshot("06-solana-rejected")
    c.check("no page problems during the scenario", not browser.problems())

    # ---- the harness reports a CSP violation (an inline script) as a failure
    try:
        browser.open(page + "inline.html")
        browser.wait_for(lambda: False, timeout=2, what="a CSP report")
        c.check("inline script reported", False, "no BrowserProblem")
    except BrowserProblem as problem:
        c.check("inline script reported as a CSP violation", "Content Security Policy" in str(problem), str(problem))
    except TimeoutError:
        c.check("inline script reported", False, "timed out without a report")
    c.equal("inline script did not run", browser.execute("return document.title"), "Inline script")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", default=os.path.join(REPO, ".artifacts", "browser", "harness"))
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # leave through the `with` blocks: peers and browser die
    c = Checks()
    if os.path.isdir(args.artifacts):
        for stale in os.listdir(args.artifacts):
            if stale.endswith(".png"):
                os.remove(os.path.join(args.artifacts, stale))
    try:
        run(c, args.artifacts)
    except Exception as error:
        c.check("scenario ran to the end", False, f"{type(error).__name__}: {error}")
        raise
    finally:
        print(f"screenshots: {args.artifacts}")
        print(f"{c.passed} passed, {c.failed} failed")
    sys.exit(1 if c.failed else 0)


if __name__ == "__main__":
    main()
