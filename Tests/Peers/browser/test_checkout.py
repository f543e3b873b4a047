#!/usr/bin/env python3
"""Checkout in a real browser: `settled serve` (the binary just built) with the py-evm devnet and localstripe (with
Settle's test extension), pages opened in Debian's headless Chromium. The wallet is the TEST STAND-IN FOR A BROWSER
WALLET (Tests/Peers/browser/wallet_standin.js + wallet.py; no real wallet runs headless): it signs with the customer's
devnet key and sends to the devnet, as a browser wallet would. Verdicts come from the chain (transfers and allowances
read from the devnet) and from Stripe, never from the page or Settle's tables.

Scenarios:
  1. A customer on a free plan upgrades to a paid price with pay_invoice_immediately: the approval is signed in the
     wallet, the subscription is switched and the prorated invoice is paid on the devnet within the checkout.
  2. A card-paying subscription is switched to crypto: Stripe shows send_invoice and the settle_* metadata, with
     the wallet the approval proved.
  3. The customer rejects the approval in the wallet: the page says so and nothing is sent.
  4. An expired session and a tampered id get pages that say so.
  5. The portal: a short allowance raised (readiness turns all set), then revoked.
  6. A USDT-style token (refuses to change a standing allowance): the checkout sends approve(0), waits, then approves.
  7. The portal's change: a customer moves to a second wallet and another token; the next invoice is paid from there.

    .venv/bin/python Tests/Peers/browser/test_checkout.py --settled PATH [--artifacts DIR]

Screenshots of every step, desktop and phone, go to DIR (default .artifacts/browser/checkout). Ends with
`N passed, N failed`.
"""
import argparse
import base64
import json
import os
import secrets
import struct
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(HERE.parent))
import demo  # noqa: E402  (the local world's building blocks: peers, devnet, Stripe, settled)
from browser import Browser, EVMWallet, SolanaWallet, Wallet  # noqa: E402
from eth_abi import decode as abi_decode, encode as abi_encode  # noqa: E402
from eth_account import Account  # noqa: E402
from eth_utils import keccak, to_checksum_address  # noqa: E402
from solders.pubkey import Pubkey  # noqa: E402

USDC = 10 ** demo.DECIMALS
TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
ATA_PROGRAM = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
APPROVAL_TOPIC = "0x" + keccak(text="Approval(address,address,uint256)").hex()


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name} {detail}")

    def equal(self, name, have, want):
        self.check(name, have == want, f"have {have!r}, want {want!r}")


class World:
    """Devnet, localstripe and settled serve; `close()` stops them."""

    def __init__(self, settled_binary: str, merchant_webhook: str = None):
        self.workdir = Path(tempfile.mkdtemp(prefix="settle-checkout-"))
        self.reader = "dashboard_read_" + secrets.token_hex(12)  # a read-scope API token (the dashboard's read-only sign-in)
        self.merchant_webhook = merchant_webhook  # where merchant webhooks go (None: not sent)
        self.merchant_secret = "mwh_" + secrets.token_hex(16)
        self.peers, self.miner = [], None
        self.settled = demo.Settled(settled_binary, self.workdir)
        self.admin = "checkout_admin_" + secrets.token_hex(12)
        self.stripe_key = "sk_test_" + secrets.token_hex(12)
        self.webhook_secret = "whsec_" + secrets.token_hex(16)

    def start(self):
        self.devnet_peer = self.peer("devnet", "evm_devnet.py", "--accounts", "14")
        self.svm_peer = self.peer("litesvm", "solana_rpc.py", "--slot-interval-ms", "400")
        self.stripe_peer = self.peer("stripe", "stripe_peer.py")
        self.svm = demo.LiteSVM(self.svm_peer)
        self.dave, self.delegate, self.sol_treasury = self.svm.keypairs(3)
        self.mint = self.svm.create_mint(demo.DECIMALS)
        self.svm.create_token_account(self.sol_treasury.pubkey(), self.mint)
        self.svm.mint_to(self.mint, self.dave.pubkey(), 500 * USDC)
        delegate_file = self.workdir / "delegate.json"
        descriptor = os.open(delegate_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(list(bytes(self.delegate)), handle)
        self.devnet = demo.Devnet(self.devnet_peer)
        self.stripe = demo.Stripe(self.stripe_peer, self.stripe_key)
        accounts = self.devnet.accounts()
        self.customers = [accounts[3], accounts[4], accounts[5], accounts[6]]  # (address, key): each scenario its own wallet
        self.treasury, (self.spender, spender_key) = accounts[8][0], accounts[9]
        self.token = self.devnet.deploy_token("USD Coin (checkout)", "USDC", demo.DECIMALS)
        # A token like USDT: it refuses to change one non-zero allowance into another (the page sends approve(0) first).
        self.usdt = to_checksum_address(self.devnet.rpc("settle_deployToken", {"name": "Tether (checkout)", "symbol": "USDT",
                                                                               "decimals": demo.DECIMALS, "kind": "usdt"}))
        self.grace, (self.heidi, self.heidi_usdt) = accounts[10], (accounts[11], accounts[12])  # heidi moves to her second wallet
        self.ivan = accounts[13]  # buys an item of Settle's own billing, paid in USDT only
        for address, _ in self.customers + [self.heidi]:
            self.devnet.mint(self.token, address, 1_000 * USDC)
        for address, _ in [self.grace, self.heidi_usdt, self.ivan]:
            self.devnet.mint(self.usdt, address, 1_000 * USDC)
        chains = self.workdir / "chains"
        chains.mkdir()
        (chains / "devnet.toml").write_text(f"""\
family = "evm"
chain_id = {self.devnet.chain_id}
rpc_urls = ["{self.devnet_peer.url}"]
explorer_tx_url = "https://explorer.invalid/tx/{{tx}}"
block_time_ms = 1000
poll_interval_ms = 250
[finality]
mode = "confirmations"
confirmations = 2
reorg_window = 64
[index]
mode = "scoped"
spenders = ["{self.spender}"]
[[tokens]]
symbol = "USDC"
address = "{self.token}"
decimals = {demo.DECIMALS}
[[tokens]]
symbol = "USDT"
address = "{self.usdt}"
decimals = {demo.DECIMALS}
[signer]
key = "env:CHECKOUT_SPENDER_KEY"
treasury = "{self.treasury}"
""")
        (chains / "litesvm.toml").write_text(f"""\
family = "solana"
rpc_urls = ["{self.svm_peer.url}"]
poll_interval_ms = 400
[[tokens]]
symbol = "USDC"
mint = "{self.mint}"
decimals = {demo.DECIMALS}
program = "token"
[signer]
key = "file:{delegate_file}"
treasury = "{self.sol_treasury.pubkey()}"
""")
        self.port = demo.free_port()
        config = self.workdir / "settle.toml"
        config.write_text(f"""\
database = "{self.workdir / 'settle.sqlite'}"
chains_directory = "{chains}"
chains = ["devnet", "litesvm"]
[stripe]
api_key = "env:STRIPE_API_KEY"
webhook_secrets = ["env:STRIPE_WEBHOOK_SECRET"]
base_url = "{self.stripe_peer.url}"
poll_seconds = 2
warn_ahead = 0
[server]
listen = "127.0.0.1:{self.port}"
[api]
[[api.tokens]]
name = "checkout"
token = "env:CHECKOUT_ADMIN_TOKEN"
scope = "admin"
[[api.tokens]]
name = "support"
token = "env:DASHBOARD_READ_TOKEN"
scope = "read"
""" + ("" if self.merchant_webhook is None else f"""[merchant]
webhook_url = "{self.merchant_webhook}"
webhook_secret = "env:MERCHANT_WEBHOOK_SECRET"
retry_seconds = [1]
"""))
        environment = {k: v for k, v in os.environ.items() if not k.startswith("SETTLE_")}
        environment.update(STRIPE_API_KEY=self.stripe_key, STRIPE_WEBHOOK_SECRET=self.webhook_secret,
                           CHECKOUT_ADMIN_TOKEN=self.admin, CHECKOUT_SPENDER_KEY=spender_key, DASHBOARD_READ_TOKEN=self.reader,
                           MERCHANT_WEBHOOK_SECRET=self.merchant_secret)
        self.settled.start(config, environment)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if demo.http("GET", self.base + "/healthz", timeout=2)[0] in (200, 503):
                    break
            except demo.Unreachable:
                pass
            self.settled.check_running()
            if time.monotonic() > deadline:
                raise demo.DemoError(f"settled did not answer /healthz:\n{demo.tail(self.settled.log)}")
            time.sleep(0.2)
        self.stripe.register_webhook(f"{self.base}/webhooks/stripe", self.webhook_secret)
        self.miner = demo.BlockMiner(self.devnet)
        self.miner.start()

    def peer(self, name, script, *args):
        peer = demo.Peer(name, script, list(args), self.workdir)
        self.peers.append(peer)
        return peer

    def close(self):
        if self.miner:
            self.miner.halt.set()
        status = self.settled.stop(15)[0]
        for peer in self.peers:
            peer.stop()
        return status

    # -- Stripe, as the merchant's billing would

    def price(self, cents, name):
        return self.stripe.request("POST", "/v1/prices", {"currency": "usd", "unit_amount": cents, "recurring": {"interval": "month"},
                                                          "product_data": {"name": name}})["id"]

    def session(self, body):
        status, answer = demo.http("POST", self.base + "/v1/checkout_sessions", json_body=body,
                                   headers={"Authorization": f"Bearer {self.admin}"})
        if status != 201:
            raise demo.DemoError(f"POST /v1/checkout_sessions answered {status}: {answer}")
        return answer

    def approve(self, owner, key, amount, token="USDC"):
        """The customer approves `amount` outside any page (Settle's unsigned approval, signed with the key)."""
        status, built = demo.http("GET", f"{self.base}/v1/chains/devnet/wallets/{owner}/approval?token={token}&amount={amount}",
                                  headers={"Authorization": f"Bearer {self.admin}"})
        if status != 200:
            raise demo.DemoError(f"approval: {status} {built}")
        tx = built["transaction"]
        signed = Account.sign_transaction({
            "type": 2, "chainId": int(tx["chainId"], 16), "nonce": int(tx["nonce"], 16), "to": to_checksum_address(tx["to"]), "value": 0,
            "data": tx["data"], "gas": int(tx["gas"], 16), "maxFeePerGas": int(tx["maxFeePerGas"], 16),
            "maxPriorityFeePerGas": int(tx["maxPriorityFeePerGas"], 16)}, key)
        self.devnet.receipt(self.devnet.send_raw(signed.raw_transaction))

    def charge_of(self, invoice, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            status, body = demo.http("GET", f"{self.base}/v1/charges/{invoice}", headers={"Authorization": f"Bearer {self.admin}"})
            if status == 200:
                return body
            if time.monotonic() > deadline:
                raise demo.DemoError(f"no charge for {invoice} within {timeout} s: {status} {body}")
            time.sleep(0.3)

    # -- the chain, as ground truth

    def allowance(self, owner, token=None, block="latest"):
        data = "0xdd62ed3e" + abi_encode(["address", "address"], [owner, self.spender]).hex()
        return abi_decode(["uint256"], bytes.fromhex(self.devnet.rpc("eth_call", {"to": token or self.token, "data": data}, block)[2:]))[0]

    def approvals(self, owner, token):
        """The values of the owner's Approval logs to our spender, in chain order."""
        logs = self.devnet.rpc("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest", "address": token,
                                               "topics": [APPROVAL_TOPIC, "0x" + "00" * 12 + owner[2:].lower(),
                                                          "0x" + "00" * 12 + self.spender[2:].lower()]})
        return [int(log["data"], 16) for log in logs]

    def transfers_to_treasury(self, sender, token=None, block="latest"):
        logs = self.devnet.rpc("eth_getLogs", {"fromBlock": "0x0", "toBlock": block, "address": token or self.token,
                                               "topics": [TRANSFER_TOPIC, "0x" + "00" * 12 + sender[2:].lower(),
                                                          "0x" + "00" * 12 + self.treasury[2:].lower()]})
        return [int(log["data"], 16) for log in logs]


def token_account(world, owner):
    """(amount, delegate or None, delegated amount) of the owner's USDC associated token account, read from LiteSVM
    (the SPL Token account layout); None when it does not exist."""
    address, _ = Pubkey.find_program_address([bytes(owner), bytes(TOKEN_PROGRAM), bytes(Pubkey.from_string(world.mint))], ATA_PROGRAM)
    info = world.svm.rpc("getAccountInfo", str(address), {"encoding": "base64", "commitment": "confirmed"})["value"]
    if info is None:
        return None
    data = base64.b64decode(info["data"][0])
    has_delegate = struct.unpack_from("<I", data, 72)[0] == 1
    return (struct.unpack_from("<Q", data, 64)[0], str(Pubkey.from_bytes(data[76:108])) if has_delegate else None,
            struct.unpack_from("<Q", data, 121)[0])


def wait_paid(world, invoice, timeout=60):
    """The invoice's Stripe status once paid, or its status at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        status = world.stripe.request("GET", f"/v1/invoices/{invoice}")["status"]
        if status == "paid" or time.monotonic() > deadline:
            return status
        time.sleep(1)


def step(browser):
    return browser.execute("return document.querySelector('meta[name=\"settle-step\"]').content")


def checkout(world, browser, wallet, url, shots, allowance=None, option=None):
    """Opens the page, connects the wallet, approves; returns when the page shows the checkout complete."""
    browser.open(url)
    if option is not None:
        browser.execute("const s = document.getElementById('option'); s.value = arguments[0]; s.dispatchEvent(new Event('change'))", option)
    browser.screenshot(f"{shots}-1-opened")
    if allowance is not None:
        browser.execute("document.getElementById('allowance').value = arguments[0]", allowance)
    browser.click("#connect")
    browser.wait_for_text("#account", "Connected", timeout=30)
    browser.screenshot(f"{shots}-2-connected")
    browser.click("#approve")
    browser.wait_for(lambda: step(browser) in ("approved", "switched", "charging", "complete"), timeout=60, what="the approval seen on chain")
    browser.screenshot(f"{shots}-3-approved")
    browser.wait_for(lambda: step(browser) == "complete", timeout=180, what="the checkout complete")
    browser.screenshot(f"{shots}-4-complete")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settled", required=True, help="the settled binary")
    parser.add_argument("--artifacts", default=str(ROOT / ".artifacts" / "browser" / "checkout"))
    args = parser.parse_args(argv)
    checks = Checks()
    world = World(args.settled)
    try:
        world.start()
        pro = world.price(2_500, "Pro plan")
        free = world.price(0, "Free plan")
        (alice, alice_key), (bob, bob_key), (carol, carol_key), (erin, erin_key) = world.customers
        (grace, grace_key), (heidi, heidi_key), (heidi2, heidi2_key) = world.grace, world.heidi, world.heidi_usdt
        ivan, ivan_key = world.ivan
        wallet = Wallet(evm=EVMWallet(world.devnet_peer.url, [alice_key, bob_key, carol_key, erin_key, grace_key, heidi_key, heidi2_key, ivan_key]),
                        solana=SolanaWallet(world.svm_peer.url, [list(bytes(world.dave))]))
        with Browser(args.artifacts, wallet=wallet) as browser:
            # 1. Free plan → Pro, paid at once from the wallet.
            customer = world.stripe.request("POST", "/v1/customers", {"email": "alice@example.com", "name": "Alice"})["id"]
            subscription = world.stripe.request("POST", "/v1/subscriptions", {
                "customer": customer, "items": {"0": {"price": free}}, "collection_method": "send_invoice", "days_until_due": 0})["id"]
            session = world.session({"customer": customer, "subscription": subscription, "upgrade": pro, "pay_invoice_immediately": True,
                                     "success_url": "http://127.0.0.1/thanks"})
            wallet.evm.use_account(alice)
            checkout(world, browser, wallet, session["url"], "1-upgrade")
            checks.check("upgrade: the page shows the payment paid", "paid" in browser.text("#payments"), browser.text("#payments"))
            link = browser.execute("const a = document.querySelector('#payments a'); return a ? [a.href, a.textContent] : null")
            checks.check("upgrade: the payment links to the chain file's explorer", link is not None and link[0] == "https://explorer.invalid/tx/" + link[1]
                         and link[1].startswith("0x"), str(link))
            checks.equal("upgrade: one transfer of 25 USDC from alice to the treasury (chain)", world.transfers_to_treasury(alice), [25 * USDC])
            sub = world.stripe.request("GET", f"/v1/subscriptions/{subscription}")
            checks.equal("upgrade: Stripe subscription is send_invoice", sub["collection_method"], "send_invoice")
            checks.equal("upgrade: Stripe metadata names alice's wallet (proven by the approval)", sub["metadata"].get("settle_wallet"), alice)
            checks.equal("upgrade: Stripe subscription is on the Pro price", (sub["items"]["data"][0].get("price") or {}).get("id"), pro)
            paid = world.stripe.request("GET", "/v1/invoices", {"subscription": subscription, "status": "paid"})["data"]
            checks.check("upgrade: the Pro invoice is paid in Stripe", any(i["amount_due"] == 2_500 for i in paid), str([i["amount_due"] for i in paid]))
            checks.equal("upgrade: allowance left = suggested (13 × 25) − 25 (chain)", world.allowance(alice), (13 * 25 - 25) * USDC)

            # 2. A card-paying subscription switched to crypto (no payment now), with a chosen allowance.
            card = world.stripe.request("POST", "/v1/payment_methods", {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12,
                                                                                                    "exp_year": 2030, "cvc": "123"}})["id"]
            customer = world.stripe.request("POST", "/v1/customers", {"email": "bob@example.com", "name": "Bob", "payment_method": card,
                                                                      "invoice_settings": {"default_payment_method": card}})["id"]
            subscription = world.stripe.request("POST", "/v1/subscriptions", {"customer": customer, "items": {"0": {"price": pro}}})["id"]
            checks.equal("switch: starts on charge_automatically", world.stripe.request("GET", f"/v1/subscriptions/{subscription}")["collection_method"],
                         "charge_automatically")
            session = world.session({"customer": customer, "subscription": subscription})
            wallet.evm.use_account(bob)
            checkout(world, browser, wallet, session["url"], "2-switch", allowance="100")
            sub = world.stripe.request("GET", f"/v1/subscriptions/{subscription}")
            checks.equal("switch: Stripe subscription is send_invoice", sub["collection_method"], "send_invoice")
            checks.equal("switch: Stripe metadata settle_chain", sub["metadata"].get("settle_chain"), "devnet")
            checks.equal("switch: Stripe metadata settle_token", sub["metadata"].get("settle_token"), "USDC")
            checks.equal("switch: Stripe metadata settle_wallet is bob's", sub["metadata"].get("settle_wallet"), bob)
            checks.equal("switch: bob's allowance is the 100 USDC he chose (chain)", world.allowance(bob), 100 * USDC)
            checks.equal("switch: nothing taken from bob (chain)", world.transfers_to_treasury(bob), [])

            # 2b. Solana: a new subscription to Pro, paid at once, with USDC on LiteSVM.
            customer = world.stripe.request("POST", "/v1/customers", {"email": "dave@example.com", "name": "Dave"})["id"]
            session = world.session({"customer": customer, "price": pro, "chains": ["litesvm"], "pay_invoice_immediately": True})
            browser.open(session["url"])
            options = browser.execute("return Array.from(document.querySelectorAll('#option option')).map(o => o.value)")
            checks.equal("solana: the page offers only the accepted chain", options, ["litesvm/USDC"])
            checkout(world, browser, wallet, session["url"], "2b-solana")
            amount, delegate, delegated = token_account(world, world.dave.pubkey())
            checks.equal("solana: dave's delegate is Settle's (chain)", delegate, str(world.delegate.pubkey()))
            checks.equal("solana: 25 USDC left dave's account (chain)", amount, 475 * USDC)
            checks.equal("solana: delegation left = suggested (13 × 25) − 25 (chain)", delegated, (13 * 25 - 25) * USDC)
            checks.equal("solana: the treasury received 25 USDC (chain)", token_account(world, world.sol_treasury.pubkey())[0], 25 * USDC)
            subs = world.stripe.request("GET", "/v1/subscriptions", {"customer": customer})["data"]
            checks.check("solana: Stripe subscription names dave's wallet", any(x["metadata"].get("settle_wallet") == str(world.dave.pubkey()) for x in subs),
                         str([x["metadata"] for x in subs]))

            # 3. The customer rejects the approval: the page says so, nothing reaches the chain.
            customer = world.stripe.request("POST", "/v1/customers", {"email": "carol@example.com", "name": "Carol"})["id"]
            session = world.session({"customer": customer, "price": pro})
            wallet.evm.use_account(carol)
            browser.open(session["url"])
            browser.click("#connect")
            browser.wait_for_text("#account", "Connected", timeout=30)
            wallet.reject_next()
            browser.click("#approve")
            browser.wait_for_text("#problem", "rejected", timeout=30)
            browser.screenshot("3-rejected")
            checks.equal("rejected: carol's allowance stays 0 (chain)", world.allowance(carol), 0)
            checks.equal("rejected: the session is still open", step(browser), "open")

            expiring = world.session({"customer": customer, "price": pro, "expires_in": 5})

            # 5. The portal: erin's allowance (10 USDC) is short of her next invoice (25): she raises it, then stops paying.
            world.approve(erin, erin_key, 10 * USDC)
            customer = world.stripe.customer("erin", "devnet", "USDC", erin)
            invoice = world.stripe.draft_invoice(customer, 2_500, int(time.time()) + 3_600)
            world.stripe.finalize(invoice)
            world.charge_of(invoice)
            status, portal = demo.http("POST", world.base + "/v1/portal_sessions", json_body={"customer": customer},
                                       headers={"Authorization": f"Bearer {world.admin}"})
            checks.equal("portal: session created", status, 201)
            wallet.evm.use_account(erin)
            browser.open(portal["url"])
            readiness = "document.querySelector('.readiness') && document.querySelector('.readiness').dataset.readiness"
            browser.wait_for(lambda: browser.execute("return " + readiness) is not None, timeout=30, what="the agreement")
            checks.equal("portal: readiness says raise the allowance", browser.execute("return " + readiness), "raise_allowance")
            browser.screenshot("6-portal-short")
            browser.click("button.raise")
            browser.wait_for_text("#status", "Allowance raised", timeout=60)
            checks.equal("portal: readiness turns all set", browser.execute("return " + readiness), "all_set")
            checks.equal("portal: erin's allowance is now 13 × 25 USDC (chain)", world.allowance(erin), 325 * USDC)
            browser.screenshot("7-portal-raised")
            browser.click("button.stop")
            browser.wait_for_text("#status", "Allowance revoked", timeout=60)
            checks.equal("portal: erin's allowance is 0 after stop paying (chain)", world.allowance(erin), 0)
            checks.equal("portal: readiness says raise the allowance again", browser.execute("return " + readiness), "raise_allowance")
            browser.screenshot("8-portal-revoked")

            # 6. USDT-style token: grace already allows 10 USDT, the checkout's 325 needs approve(0) first. The page
            #    sends both, in order; the token itself refuses a direct 10 -> 325 (the devnet's own checks prove it).
            world.approve(grace, grace_key, 10 * USDC, token="USDT")
            customer = world.stripe.request("POST", "/v1/customers", {"email": "grace@example.com", "name": "Grace"})["id"]
            session = world.session({"customer": customer, "price": pro, "chains": ["devnet"]})
            wallet.evm.use_account(grace)
            checkout(world, browser, wallet, session["url"], "9-usdt", option="devnet/USDT")
            # (The subscription's first invoice may be charged already: a pull logs the reduced allowance too.)
            checks.equal("usdt: grace's approvals in chain order begin 10, then 0, then 325 USDT (chain)",
                         world.approvals(grace, world.usdt)[:3], [10 * USDC, 0, 325 * USDC])
            block = world.devnet.rpc("eth_blockNumber")  # both read at one block: a pull may land between two reads
            checks.equal("usdt: grace's allowance is 325 USDT less what was pulled (chain)", world.allowance(grace, world.usdt, block),
                         325 * USDC - sum(world.transfers_to_treasury(grace, world.usdt, block)))
            subs = world.stripe.request("GET", "/v1/subscriptions", {"customer": customer})["data"]
            checks.check("usdt: Stripe subscription says USDT from grace's wallet",
                         any(x["metadata"].get("settle_token") == "USDT" and x["metadata"].get("settle_wallet") == grace for x in subs),
                         str([x["metadata"] for x in subs]))

            # 7. The portal's change: heidi pays USDC from her first wallet, which allows only 10 of the 25 due in a
            #    minute. She moves to USDT in her second wallet; the next payment comes from there, in USDT.
            world.approve(heidi, heidi_key, 10 * USDC)
            customer = world.stripe.customer("heidi", "devnet", "USDC", heidi)
            invoice = world.stripe.draft_invoice(customer, 2_500, int(time.time()) + 60)
            world.stripe.finalize(invoice)
            world.charge_of(invoice)
            status, portal = demo.http("POST", world.base + "/v1/portal_sessions", json_body={"customer": customer},
                                       headers={"Authorization": f"Bearer {world.admin}"})
            checks.equal("change: portal session created", status, 201)
            browser.open(portal["url"])
            browser.wait_for(lambda: browser.execute("return " + readiness) is not None, timeout=30, what="heidi's agreement")
            checks.equal("change: readiness says raise the allowance", browser.execute("return " + readiness), "raise_allowance")
            browser.click("button.change")
            browser.execute("const s = document.querySelector('select.change-token'); s.value = 'USDT'; s.dispatchEvent(new Event('change'))")
            browser.screenshot("10-portal-change")
            wallet.evm.use_account(heidi2)
            browser.click("button.change-approve")
            browser.wait_for_text("#status", "new wallet and token", timeout=60)
            browser.screenshot("11-portal-changed")
            page = browser.text("#agreements")
            checks.check("change: the page shows USDT from the second wallet", "USDT on devnet" in page and heidi2 in page, page)
            checks.equal("change: readiness all set", browser.execute("return " + readiness), "all_set")
            meta = world.stripe.request("GET", f"/v1/customers/{customer}")["metadata"]
            checks.equal("change: Stripe metadata settle_wallet is the second wallet", meta.get("settle_wallet"), heidi2)
            checks.equal("change: Stripe metadata settle_token is USDT", meta.get("settle_token"), "USDT")
            checks.equal("change: the second wallet allows 13 × 25 USDT (chain)", world.allowance(heidi2, world.usdt), 325 * USDC)
            deadline = time.monotonic() + 120
            while not world.transfers_to_treasury(heidi2, world.usdt) and time.monotonic() < deadline:
                time.sleep(1)
            checks.equal("change: the invoice was paid with 25 USDT from the second wallet (chain)",
                         world.transfers_to_treasury(heidi2, world.usdt), [25 * USDC])
            checks.equal("change: nothing was taken from the first wallet (chain)", world.transfers_to_treasury(heidi), [])
            checks.equal("change: the invoice is paid in Stripe", wait_paid(world, invoice), "paid")

            # 8. Settle's own item, no Stripe: a monthly "Team" plan of 9.00 USD that takes USDT only. The page offers
            #    nothing else; ivan approves 13 payments and the first is pulled in the checkout.
            status, item = demo.http("POST", world.base + "/v1/items", headers={"Authorization": f"Bearer {world.admin}"}, json_body={
                "id": "item_team", "name": "Team plan", "kind": "subscription", "interval": "month", "amount": 900, "currency": "usd",
                "tokens": ["USDT"]})
            checks.equal("item: created", status, 201)
            session = world.session({"customer": "ivan_team", "item": "item_team"})
            wallet.evm.use_account(ivan)
            browser.open(session["url"])
            options = browser.execute("return Array.from(document.querySelectorAll('#option option')).map(o => o.value)")
            checks.equal("item: the page offers only the item's token", options, ["devnet/USDT"])
            checks.check("item: the page says every month", "every month" in browser.text(".price"), browser.text(".price"))
            checkout(world, browser, wallet, session["url"], "12-item")
            checks.equal("item: ivan's first payment is 9 USDT to the treasury (chain)", world.transfers_to_treasury(ivan, world.usdt), [9 * USDC])
            block = world.devnet.rpc("eth_blockNumber")
            checks.equal("item: ivan allows 13 × 9 USDT less the payment (chain)", world.allowance(ivan, world.usdt, block),
                         117 * USDC - sum(world.transfers_to_treasury(ivan, world.usdt, block)))
            status, invoices = demo.http("GET", world.base + "/v1/invoices", headers={"Authorization": f"Bearer {world.admin}"})
            mine = [x for x in (invoices or {}).get("data", []) if x["item"] == "item_team"]
            checks.check("item: one invoice, period 0, paid", len(mine) == 1 and mine[0]["period"] == 0 and mine[0]["paid"], str(mine))

        # 4. A tampered id and an expired session get pages that say so (a 404 and a 410 are what the browser logs).
        with Browser(args.artifacts, wallet=wallet, ignore=(r"status of (404|410)",)) as browser:
            browser.open(session["url"][:-3] + "abc")
            checks.check("tampered: a page says the link is not valid", "not valid" in browser.text("main"), browser.text("main"))
            browser.screenshot("4-tampered")
            time.sleep(max(0.0, expiring["expires_at"] + 1 - time.time()))
            browser.open(expiring["url"])
            checks.check("expired: a page says the checkout expired", "expired" in browser.text("main"), browser.text("main"))
            browser.screenshot("5-expired")
            status, answer = demo.http("GET", expiring["url"] + "/approval?chain=devnet&token=USDC&wallet=" + carol)
            checks.check("expired: no approval transactions are built", status in (404, 410), f"{status} {answer}")
        checks.equal("settled stops cleanly (SIGTERM)", world.close(), 0)
        world = None
    except Exception:  # a failure to run is a failed check, with its story
        traceback.print_exc()
        checks.check("the scenarios ran to the end", False)
        if world is not None:
            print(demo.tail(world.settled.log, 60))
    finally:
        if world is not None:
            world.close()
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
