#!/usr/bin/env python3
"""Settle's local demo: a whole billing world on this machine, driven end to end (run by scripts/demo.sh).

What happens, in order (every step prints what it sees as it happens):

 1. Three local peers from Tests/Peers start: a py-evm devnet (an EVM chain over JSON-RPC), LiteSVM behind Solana's
    JSON-RPC, and localstripe (a Stripe-compatible server, with Settle's test extension for send_invoice invoices).
    A 6-decimal USDC-like token is deployed on the devnet and a 6-decimal mint is made on LiteSVM; alice and bob
    get tokens on the devnet, carol on Solana.
 2. The chain files and settle.toml are written into a temporary directory and `settled serve` starts on them.
 3. The customers approve the merchant. Settle's API suggests the allowance for a 25 USD monthly plan and builds
    each unsigned approval; the customer signs it here (as their wallet would) and sends it. Bob approves only
    5 USDC, too little for one payment.
 4. Each customer gets a Stripe customer (metadata settle_chain, settle_token, settle_wallet) and an open
    send_invoice invoice of 25.00 USD due in 2 seconds.
 5. The charges are followed through Settle's API (due -> signed -> broadcast -> included -> settled -> reported),
    the merchant webhooks Settle sends are received here (signatures checked), and each paid Stripe invoice shown.
 6. Bob's charge waits for funds (low allowance) and the merchant gets payment.missed; bob then raises his
    allowance, the demo asks Settle to retry, and the invoice is paid.
 7. Dave subscribes through a checkout link and pays his first invoice from his wallet at once.
 8. Native billing: the merchant creates an hourly item (no Stripe); alice subscribes, dated an hour ago; Settle
    pulls period 0 and its scheduler issues and pulls the renewal for period 1.
 9. Bob's allowance history and the balances are printed; settled is stopped with SIGTERM (it must exit 0 within
    20 s), the peers are stopped, and the temporary directory is removed (kept with --keep-dir).

The demo exits 0 only if every expected outcome happened within its deadline. Otherwise it names the step that did
not happen, shows the end of settled's log, and exits 1. It needs no terminal (colour only when stdout is one).
"""
import argparse
import base64
import ctypes
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from eth_account import Account
from eth_utils import to_checksum_address
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import Transaction

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "Tests" / "Peers"

# The plan every customer is on: 25.00 USD a month, paid in a 6-decimal stablecoin at parity (25 USDC).
PLAN_CENTS = 2500
DECIMALS = 6
PLAN_UNITS = PLAN_CENTS * 10 ** DECIMALS // 100
USDC = 10 ** DECIMALS

# Timing of the story, in seconds (short so the demo runs in about a minute).
DUE_IN = 2           # invoices fall due this long after they are created
MISSED_AFTER = 4     # [dunning] missed_after: payment.missed this long after the due time
LATE_AFTER = 8       # [dunning] late_after: payment.late
RETRY_AFTER = 3      # [settlement] retry_seconds: a charge short of funds is re-checked this often
MINE_EVERY = 1.0     # an empty devnet block this often, so transactions gather confirmations
PASS_INTERVAL = 0.5  # settled serve --interval
POLL_EVERY = 0.5     # how often the demo looks at the charges
HARD_LIMIT = 300     # the whole demo, whatever happens


class DemoError(Exception):
    """An expected step did not happen; the message says which and what was seen instead."""


# ---------------------------------------------------------------------------------------------------- output

class Output:
    """Timestamped lines (seconds since the start), one topic column, colour only on a terminal. Thread-safe: the
    merchant webhook receiver prints from its own threads."""
    COLOURS = {"setup": "2", "settled": "36", "api": "36", "stripe": "35", "charge": "34", "webhook": "33",
               "ok": "32", "FAILED": "31"}

    def __init__(self, colour: bool):
        self.colour = colour
        self.start = time.monotonic()
        self.lock = threading.Lock()

    def paint(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour else text

    def line(self, topic: str, text: str) -> None:
        stamp = f"{time.monotonic() - self.start:6.1f}s"
        with self.lock:
            print(f"{self.paint('2', stamp)}  {self.paint(self.COLOURS.get(topic, '0'), f'{topic:<8}')} {text}", flush=True)

    def heading(self, text: str) -> None:
        with self.lock:
            print(f"\n{self.paint('1', '== ' + text)}", flush=True)

    def plain(self, text: str) -> None:
        with self.lock:
            print(text, flush=True)


def units(amount, decimals: int = DECIMALS) -> str:
    """Base units as a decimal number without trailing zeros: 25000000 -> '25', 2500000 -> '2.5'."""
    whole, fraction = divmod(int(amount), 10 ** decimals)
    text = f"{whole}.{fraction:0{decimals}d}".rstrip("0").rstrip(".") if decimals else str(whole)
    return text


def base_units(value) -> int:
    """An amount from the API: a string of base units, or an object {"amount": "...", "display": "..."}."""
    return int(value["amount"] if isinstance(value, dict) else value)


def short(text: str, keep: int = 6) -> str:
    """0x1234…cdef: long hashes and addresses kept readable."""
    text = str(text)
    return text if len(text) <= 2 * keep + 1 else f"{text[:keep]}…{text[-4:]}"


# ---------------------------------------------------------------------------------------------------- HTTP

# Direct connections only: every server here is on 127.0.0.1, and an http_proxy in the environment must not
# intercept them.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Unreachable(DemoError):
    """Nothing answered (connection refused, timeout)."""


def http(method: str, url: str, *, json_body=None, form=None, headers=None, timeout: float = 15.0):
    """One request; (status, body) with the body parsed as JSON when it is JSON. Non-2xx statuses are returned, not
    raised; only a failure to talk at all raises `Unreachable`."""
    data = None
    headers = dict(headers or {})
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _opener.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        raise Unreachable(f"{method} {url}: {getattr(error, 'reason', error)}") from None
    try:
        return status, (json.loads(raw) if raw else None)
    except ValueError:
        return status, raw.decode(errors="replace")


class JSONRPC:
    """A JSON-RPC 2.0 client for the chain peers (node methods and their dev methods alike)."""

    def __init__(self, name: str, url: str):
        self.name, self.url, self.next_id = name, url, 0

    def __call__(self, method: str, *params):
        self.next_id += 1
        status, body = http("POST", self.url, json_body={"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": list(params)})
        if status != 200 or not isinstance(body, dict):
            raise DemoError(f"{self.name} {method}: HTTP {status}: {body}")
        if "error" in body:
            raise DemoError(f"{self.name} {method}: {body['error']}")
        return body["result"]


def free_port() -> int:
    """A port nothing listens on right now (for settled's [server] listen)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------------- processes

def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} is missing)"


class Peer:
    """A test peer from Tests/Peers run with this Python (the project's .venv). It announces its port as the first
    line of its standard output, which goes to a file here (no pipe to drain); its standard error goes to a log.
    Peers also exit by themselves when this process dies (peerlib.exit_with_parent)."""

    def __init__(self, name: str, script: str, args: list, workdir: Path, timeout: float = 60):
        self.name = name
        self.log = workdir / f"{name}.log"
        announced = workdir / f"{name}.out"
        with open(announced, "wb") as stdout, open(self.log, "wb") as stderr:
            self.process = subprocess.Popen([sys.executable, "-u", str(PEERS / script), *args], stdin=subprocess.DEVNULL,
                                            stdout=stdout, stderr=stderr, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            first, newline, _ = announced.read_text(errors="replace").partition("\n")
            if newline:
                if not first.startswith("PORT "):
                    raise DemoError(f"{name} printed {first!r} instead of 'PORT n'")
                self.port = int(first.split()[1])
                return
            if self.process.poll() is not None:
                raise DemoError(f"{name} exited with status {self.process.returncode} before announcing its port:\n{tail(self.log)}")
            if time.monotonic() > deadline:
                raise DemoError(f"{name} did not announce its port within {timeout:.0f} s:\n{tail(self.log)}")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """SIGKILL and reap (peers hold nothing worth a graceful stop)."""
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def _die_with_parent() -> None:
    """Run in the child between fork and exec: the kernel sends it SIGTERM if the demo dies (even by SIGKILL), so
    settled never outlives it. Linux only; elsewhere the demo's own cleanup is all there is."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Settled:
    """`settled serve` as a child process, its output in settled.log."""

    def __init__(self, binary: str, workdir: Path):
        self.binary = binary
        self.log = workdir / "settled.log"
        self.process = None

    def serve_option(self, option: str) -> bool:
        """Whether `settled serve` takes `option` (its --help lists it)."""
        result = subprocess.run([self.binary, "serve", "--help"], capture_output=True, text=True, timeout=60)
        return option in result.stdout + result.stderr

    def start(self, config: Path, environment: dict) -> None:
        arguments = [self.binary, "serve", "--config", str(config), "--interval", str(PASS_INTERVAL)]
        if self.serve_option("--log-format"):
            arguments += ["--log-format", "json"]  # one object per line: what a log shipper would get
        with open(self.log, "wb") as log:
            # No other thread runs yet (peers write to files, the receiver and the miner start afterwards), so the
            # pre-exec hook cannot deadlock.
            self.process = subprocess.Popen(arguments, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            env=environment, start_new_session=True, preexec_fn=_die_with_parent)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_running(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise DemoError(f"settled exited on its own with status {self.process.returncode}")

    def stop(self, grace: float) -> tuple:
        """SIGTERM, then SIGKILL after `grace` seconds. (exit status, seconds it took, whether it had to be killed)."""
        if self.process is None:
            return None, 0.0, False
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
            return self.process.returncode, time.monotonic() - started, False
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            return self.process.returncode, time.monotonic() - started, True


# ---------------------------------------------------------------------------------------------------- the chains

@dataclass
class EVMWallet:
    name: str
    address: str  # EIP-55 checksummed
    key: str      # 0x-prefixed hex private key


class Devnet:
    """The py-evm devnet: its prefunded accounts, a token, and raw transactions in and receipts out."""

    def __init__(self, peer: Peer):
        self.rpc = JSONRPC("devnet", peer.url)
        self.chain_id = int(self.rpc("eth_chainId"), 16)

    def accounts(self) -> list:
        return [(to_checksum_address(a["address"]), a["privateKey"]) for a in self.rpc("settle_accounts")]

    def deploy_token(self, name: str, symbol: str, decimals: int) -> str:
        return to_checksum_address(self.rpc("settle_deployToken", {"name": name, "symbol": symbol, "decimals": decimals}))

    def mint(self, token: str, to: str, amount: int) -> None:
        self.receipt(self.rpc("settle_mint", {"token": token, "to": to, "amount": str(amount)}))

    def send_raw(self, raw: bytes) -> str:
        return self.rpc("eth_sendRawTransaction", "0x" + raw.hex())

    def receipt(self, tx_hash: str, timeout: float = 20) -> dict:
        """The receipt of a successful transaction (the devnet mines each transaction into a block at once)."""
        deadline = time.monotonic() + timeout
        while (receipt := self.rpc("eth_getTransactionReceipt", tx_hash)) is None:
            if time.monotonic() > deadline:
                raise DemoError(f"devnet: transaction {tx_hash} was not mined within {timeout:.0f} s")
            time.sleep(0.1)
        if receipt["status"] != "0x1":
            raise DemoError(f"devnet: transaction {tx_hash} reverted")
        return receipt


class BlockMiner(threading.Thread):
    """Mines an empty devnet block every MINE_EVERY seconds. The devnet mines a block for each transaction and
    otherwise stands still, so without this a payment would never gather the confirmations Settle waits for. (Once a
    second: faster, block timestamps would run ahead of the clock.)"""

    def __init__(self, devnet: Devnet):
        super().__init__(name="block-miner", daemon=True)
        self.rpc = JSONRPC("devnet", devnet.rpc.url)  # its own client: request ids are per client
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(MINE_EVERY):
            try:
                self.rpc("evm_mine")
            except DemoError:
                pass  # the devnet is being stopped; the next tick retries otherwise


class LiteSVM:
    """The Solana peer: funded keypairs, a mint, token accounts, and signed transactions in."""

    def __init__(self, peer: Peer):
        self.rpc = JSONRPC("litesvm", peer.url)

    def keypairs(self, count: int) -> list:
        return [Keypair.from_bytes(bytes(k["secretKey"])) for k in self.rpc("settle_keypairs", count)]

    def create_mint(self, decimals: int) -> str:
        return self.rpc("settle_createMint", {"decimals": decimals, "program": "token"})

    def create_token_account(self, owner: Pubkey, mint: str) -> str:
        return self.rpc("settle_createAta", {"owner": str(owner), "mint": mint})

    def mint_to(self, mint: str, wallet: Pubkey, amount: int) -> None:
        self.rpc("settle_mintTo", {"mint": mint, "destination": str(wallet), "amount": str(amount)})

    def send(self, transaction: Transaction, timeout: float = 20) -> str:
        """Sends a signed transaction and waits until it is confirmed without error."""
        signature = self.rpc("sendTransaction", base64.b64encode(bytes(transaction)).decode(), {"encoding": "base64"})
        deadline = time.monotonic() + timeout
        while True:
            status = self.rpc("getSignatureStatuses", [signature])["value"][0]
            if status and status.get("confirmationStatus") in ("confirmed", "finalized"):
                if status.get("err") is not None:
                    raise DemoError(f"litesvm: transaction {signature} failed: {status['err']}")
                return signature
            if time.monotonic() > deadline:
                raise DemoError(f"litesvm: transaction {signature} was not confirmed within {timeout:.0f} s")
            time.sleep(0.1)


# ---------------------------------------------------------------------------------------------------- Stripe

def stripe_form(params: dict, prefix: str = "") -> list:
    """Stripe's form encoding: nested objects as metadata[key]=value, booleans as true/false."""
    pairs = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            pairs += stripe_form(value, name)
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        else:
            pairs.append((name, str(value)))
    return pairs


class Stripe:
    """The few Stripe calls the merchant's billing side makes here, against localstripe."""

    def __init__(self, peer: Peer, api_key: str):
        self.base, self.api_key = peer.url, api_key

    def request(self, method: str, path: str, params: dict = None) -> dict:
        status, body = http(method, self.base + path, form=stripe_form(params) if params is not None else None,
                            headers={"Authorization": f"Bearer {self.api_key}"})
        if not 200 <= status < 300:
            raise DemoError(f"Stripe {method} {path}: HTTP {status}: {body}")
        return body

    def register_webhook(self, url: str, secret: str) -> None:
        """localstripe's own configuration call: where to send (signed) events."""
        status, body = http("POST", f"{self.base}/_config/webhooks/settle", json_body={"url": url, "secret": secret})
        if not 200 <= status < 300:
            raise DemoError(f"Stripe webhook registration: HTTP {status}: {body}")

    def customer(self, name: str, chain: str, token: str, wallet: str) -> str:
        """A customer whose metadata tells Settle what they pay with."""
        return self.request("POST", "/v1/customers", {
            "email": f"{name}@example.com", "name": name.capitalize(),
            "metadata": {"settle_chain": chain, "settle_token": token, "settle_wallet": wallet},
        })["id"]

    def draft_invoice(self, customer: str, cents: int, due_date: int) -> str:
        """An invoice item and a send_invoice draft due at `due_date` (what a subscription renewal makes)."""
        self.request("POST", "/v1/invoiceitems", {"customer": customer, "amount": cents, "currency": "usd", "description": "Pro plan, monthly"})
        return self.request("POST", "/v1/invoices", {"customer": customer, "collection_method": "send_invoice",
                                                      "due_date": due_date, "auto_advance": False})["id"]

    def finalize(self, invoice_id: str) -> None:
        """draft -> open: Stripe sends invoice.finalized, and Settle takes the invoice on."""
        self.request("POST", f"/v1/invoices/{invoice_id}/finalize")

    def invoice(self, invoice_id: str) -> dict:
        return self.request("GET", f"/v1/invoices/{invoice_id}")


# ---------------------------------------------------------------------------------------------------- Settle's API

class SettleAPI:
    """Settle's HTTP API (settled serve's [server] listen), with the demo's admin bearer token."""

    def __init__(self, port: int, token: str):
        self.base = f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, expect=(200,), body=None, **query):
        query = {k: v for k, v in query.items() if v is not None}
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        status, body = http(method, url, headers=self.headers, json_body=body)
        if status not in expect:
            raise DemoError(f"Settle API {method} {path}{'?' + urllib.parse.urlencode(query) if query else ''} answered {status} "
                            f"(expected {' or '.join(map(str, expect))}): {body}")
        return body

    def get(self, path: str, **query):
        return self.call("GET", path, **query)

    def health(self):
        return http("GET", self.base + "/healthz", timeout=5)

    def charges(self) -> list:
        """Every charge, following next_cursor."""
        found, cursor = [], None
        for _ in range(100):
            page = self.get("/v1/charges", limit=50, cursor=cursor)
            found += page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                return found
        raise DemoError("Settle API /v1/charges: more than 100 pages (next_cursor never ends?)")

    def wallet(self, chain: str, wallet: str, what: str, **query):
        return self.get(f"/v1/chains/{chain}/wallets/{wallet}/{what}", **query)


# ---------------------------------------------------------------------------------------------------- merchant

def settle_signature_ok(header: str, body: bytes, secret: str, tolerance: int = 300) -> bool:
    """What a merchant checks on each Settle webhook (Stripe's scheme): `Settle-Signature: t=T,v1=HEX` where HEX is
    HMAC-SHA256(secret, "T." + body), compared in constant time, T within five minutes of now."""
    fields = [part.strip().split("=", 1) for part in (header or "").split(",") if "=" in part]
    stamps = [value for key, value in fields if key == "t"]
    signatures = [value for key, value in fields if key == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
        return False
    expected = hmac.new(secret.encode(), stamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(stamps[0])) <= tolerance
    return fresh and any(hmac.compare_digest(expected, signature) for signature in signatures)


class MerchantReceiver:
    """The merchant's webhook endpoint: POST /merchant on 127.0.0.1, each event verified, printed and kept."""

    def __init__(self, secret: str, out: Output, names: dict):
        self.secret, self.out, self.names = secret, out, names
        self.events = []       # (type, data) of events with a valid signature, in arrival order
        self.bad = []          # descriptions of requests with a bad signature
        self.ids = set()       # Settle-Event-Id values seen (a redelivery is printed once)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                code = receiver.receive(self.path, self.headers.get("Settle-Signature"), self.headers.get("Settle-Event-Id"), body)
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # bound now, served once start() runs
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="merchant", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/merchant"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()

    def receive(self, path: str, signature: str, event_id: str, body: bytes) -> int:
        if path != "/merchant":
            return 404
        if not settle_signature_ok(signature, body, self.secret):
            with self.lock:
                self.bad.append(f"{event_id}: Settle-Signature {signature!r} does not verify")
            self.out.line("FAILED", f"webhook {event_id} has a bad signature (answered 400)")
            return 400
        try:
            event = json.loads(body)
            kind, data = event["type"], event.get("data") or {}
        except (ValueError, KeyError, TypeError):
            with self.lock:
                self.bad.append(f"{event_id}: body is not a Settle event: {body[:200]!r}")
            return 400
        with self.lock:
            repeat = event_id in self.ids
            self.ids.add(event_id)
            if not repeat:
                self.events.append((kind, data))
        if not repeat:
            who = self.names.get(data.get("invoice"), data.get("customer", "?"))
            detail = f"{who:<5} {data.get('invoice', '')}"
            if "token_amount" in data:
                detail += f"  {units(data['token_amount'], int(data.get('token_decimals', DECIMALS)))} {data.get('token', '')}"
            if data.get("reason"):
                detail += f"  reason {data['reason']}"
            if data.get("tx_hash"):
                detail += f"  tx {short(data['tx_hash'])}"
            self.out.line("webhook", f"{kind:<17} {detail}  (signature ok)")
        return 200

    def seen(self, kind: str, invoice: str) -> bool:
        with self.lock:
            return any(k == kind and d.get("invoice") == invoice for k, d in self.events)


# ---------------------------------------------------------------------------------------------------- following charges

class Deadlines:
    """Named expectations, each with a time limit. `check` fails the demo naming the first one that is overdue, so a
    stuck run says exactly which step did not happen (and, through `context`, where things stand)."""

    def __init__(self, scale: float):
        self.scale = scale
        self.pending = {}  # key -> (description, deadline)
        self.done = set()

    def expect(self, key, description: str, seconds: float) -> None:
        if key not in self.done and key not in self.pending:
            self.pending[key] = (description, time.monotonic() + seconds * self.scale)

    def met(self, key) -> None:
        self.pending.pop(key, None)
        self.done.add(key)

    def check(self, context) -> None:
        now = time.monotonic()
        for description, deadline in self.pending.values():
            if now > deadline:
                raise DemoError(f"expected within its deadline, did not happen: {description}\n  now: {context()}")


class ChargeWatcher:
    """Follows the demo's charges through the API and prints each move as it happens. GET /v1/charges lists them
    (with their states); for every charge not yet finished, GET /v1/charges/{invoice} gives its history of moves and
    its attempts, and the entries not printed yet are printed in order, so moves made within one pass (signed,
    broadcast and included at once, say) and re-checks that end where they started (awaiting_funds -> due ->
    awaiting_funds) are all shown."""

    FINISHED = ("reported", "cancelled", "uncollectible")

    def __init__(self, api: SettleAPI, out: Output, names: dict):
        self.api, self.out, self.names = api, out, names
        self.latest = {}        # invoice -> the charge as last listed
        self.printed = {}       # invoice -> how many history entries are printed
        self.attempts = {}      # invoice -> (transaction, outcome, block) of attempts printed
        self.transaction = {}   # invoice -> its latest attempt's transaction

    def poll(self) -> dict:
        for charge in self.api.charges():
            invoice = charge["invoice"]
            if invoice not in self.names:
                continue
            name = self.names[invoice]
            if invoice not in self.latest:
                self.out.line("charge", f"{name:<5} charge created for {invoice}: {units(charge['amount'], 2)} {charge['currency'].upper()} = "
                                        f"{units(charge['token_amount'], charge['decimals'])} {charge['token']} from {short(charge['wallet'])} "
                                        f"on {charge['chain']} (state {charge['state']})")
            previous = self.latest.get(invoice)
            self.latest[invoice] = charge
            if previous is None or previous["state"] not in self.FINISHED:
                self.show_moves(invoice)
        return self.latest

    def show_moves(self, invoice: str) -> None:
        detail = self.api.get(f"/v1/charges/{invoice}")
        name = self.names[invoice]
        # The history is in the order the moves were made and only grows: print what is past the printed part.
        history = detail.get("history") or []
        for move in history[self.printed.get(invoice, 0):]:
            reason = f"  ({move['reason']})" if move.get("reason") else ""
            self.out.line("charge", f"{name:<5} {move.get('from')} -> {move.get('to')}{reason}")
        self.printed[invoice] = max(self.printed.get(invoice, 0), len(history))
        for attempt in detail.get("attempts") or []:
            transaction = attempt.get("transaction")
            key = (transaction, attempt.get("outcome"), attempt.get("block"))
            if transaction and key not in self.attempts.setdefault(invoice, set()):
                self.attempts[invoice].add(key)
                self.transaction[invoice] = transaction
                where = f" in block {attempt['block']}" if attempt.get("block") is not None else ""
                self.out.line("charge", f"{name:<5} attempt {attempt.get('sequence', '?')}: tx {short(transaction, 10)} "
                                        f"{attempt.get('outcome') or ''}{where}")

    def summary(self) -> str:
        return "; ".join(f"{self.names[i]} {c['state']}" + (f" ({c['reason']})" if c.get("reason") else "")
                         for i, c in self.latest.items()) or "no charges yet"


# ---------------------------------------------------------------------------------------------------- the demo

class Demo:
    """The story, one method per step (run() lists them in order), and close(), which undoes whatever was started."""

    def __init__(self, args, out: Output):
        self.args, self.out = args, out
        self.workdir = Path(tempfile.mkdtemp(prefix="settle-demo-"))
        self.peers = []
        self.settled = Settled(args.settled, self.workdir)
        self.receiver = None
        self.miner = None
        self.deadlines = Deadlines(args.timeout_scale)
        # Secrets shared by the demo and settled (passed to settled in its environment, never in a file).
        self.stripe_key = "sk_test_" + secrets.token_hex(12)
        self.stripe_webhook_secret = "whsec_" + secrets.token_hex(16)
        self.merchant_secret = "merchant_" + secrets.token_hex(16)
        self.api_token = "demo_" + secrets.token_hex(16)

    # -- 1. the local world ----------------------------------------------------------------------------------------

    def start_peers(self) -> None:
        self.out.heading("1. A local world: an EVM devnet, a Solana runtime, Stripe")
        self.devnet_peer = self.peer("devnet", "evm_devnet.py")
        self.out.line("setup", f"EVM devnet (py-evm) on {self.devnet_peer.url}")
        self.svm_peer = self.peer("litesvm", "solana_rpc.py", "--slot-interval-ms", "400")
        self.out.line("setup", f"Solana runtime (LiteSVM, a slot every 400 ms, finalized 4 behind) on {self.svm_peer.url}")
        self.stripe_peer = self.peer("stripe", "stripe_peer.py")
        self.out.line("setup", f"Stripe (localstripe) on {self.stripe_peer.url}")
        self.devnet, self.svm = Devnet(self.devnet_peer), LiteSVM(self.svm_peer)
        self.stripe = Stripe(self.stripe_peer, self.stripe_key)

    def peer(self, name: str, script: str, *args) -> Peer:
        peer = Peer(name, script, list(args), self.workdir, timeout=60 * self.args.timeout_scale)
        self.peers.append(peer)
        return peer

    def create_accounts(self) -> None:
        accounts = self.devnet.accounts()
        # Prefunded devnet accounts (they have ETH for gas): 0 deploys the token, 1 and 2 are customers, 8 receives
        # payments, 9 is the merchant's spender (the key settled signs transferFrom with).
        owner = accounts[0][0]
        self.alice = EVMWallet("alice", *accounts[1])
        self.bob = EVMWallet("bob", *accounts[2])
        self.dave = EVMWallet("dave", *accounts[3])
        self.evm_treasury = accounts[8][0]
        self.spender = EVMWallet("spender", *accounts[9])
        self.token = self.devnet.deploy_token("USD Coin (demo)", "USDC", DECIMALS)
        self.out.line("setup", f"devnet: token USDC ({DECIMALS} decimals) at {self.token}, minted by {short(owner)}")
        self.devnet.mint(self.token, self.alice.address, 1_000 * USDC)
        self.devnet.mint(self.token, self.bob.address, 100 * USDC)
        self.devnet.mint(self.token, self.dave.address, 100 * USDC)
        self.out.line("setup", f"devnet: alice {self.alice.address} has 1000 USDC, bob {self.bob.address} has 100 USDC")
        self.out.line("setup", f"devnet: merchant spender {self.spender.address}, treasury {self.evm_treasury}")

        # Solana: every keypair comes funded with SOL for fees. The delegate pays its own fees.
        self.carol, self.delegate, self.sol_treasury = self.svm.keypairs(3)
        self.mint = self.svm.create_mint(DECIMALS)
        self.svm.create_token_account(self.sol_treasury.pubkey(), self.mint)
        self.svm.mint_to(self.mint, self.carol.pubkey(), 500 * USDC)
        self.out.line("setup", f"litesvm: mint USDC ({DECIMALS} decimals) {self.mint}")
        self.out.line("setup", f"litesvm: carol {self.carol.pubkey()} has 500 USDC")
        self.out.line("setup", f"litesvm: merchant delegate {self.delegate.pubkey()}, treasury {self.sol_treasury.pubkey()}")

    # -- 2. settled ---------------------------------------------------------------------------------------------

    def write_config(self) -> Path:
        chains = self.workdir / "chains"
        chains.mkdir()
        # The delegate's keypair in the Solana CLI's format (64 numbers), readable by its owner only: settled
        # refuses key files others can read.
        delegate_file = self.workdir / "delegate.json"
        descriptor = os.open(delegate_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(list(bytes(self.delegate)), handle)

        (chains / "devnet.toml").write_text(f"""\
# The local py-evm devnet. A payment is final 2 blocks after the one it is in (a block a second here).
family = "evm"
chain_id = {self.devnet.chain_id}
rpc_urls = ["{self.devnet_peer.url}"]
block_time_ms = 1000
poll_interval_ms = 250

[finality]
mode = "confirmations"
confirmations = 2
reorg_window = 64

[index]
mode = "scoped"
spenders = ["{self.spender.address}"]

[[tokens]]
symbol = "USDC"
address = "{self.token}"
decimals = {DECIMALS}

[signer]
key = "env:DEMO_EVM_SPENDER_KEY"     # the spender's private key, in settled's environment only
treasury = "{self.evm_treasury}"

[settlement]
retry_seconds = [{RETRY_AFTER}]
""")
        (chains / "litesvm.toml").write_text(f"""\
# The local LiteSVM runtime. Settle pulls with SPL TransferChecked as the customers' delegate.
family = "solana"
rpc_urls = ["{self.svm_peer.url}"]
poll_interval_ms = 400

[[tokens]]
symbol = "USDC"
mint = "{self.mint}"
decimals = {DECIMALS}
program = "token"

[signer]
key = "file:{delegate_file}"
treasury = "{self.sol_treasury.pubkey()}"

[settlement]
retry_seconds = [{RETRY_AFTER}]
""")
        self.listen_port = free_port()
        config = self.workdir / "settle.toml"
        config.write_text(f"""\
database = "{self.workdir / 'settle.sqlite'}"
chains_directory = "{chains}"
chains = ["devnet", "litesvm"]

[stripe]
api_key = "env:STRIPE_API_KEY"
webhook_secrets = ["env:STRIPE_WEBHOOK_SECRET"]
base_url = "{self.stripe_peer.url}"
poll_seconds = 5
warn_ahead = 0

[dunning]
missed_after = {MISSED_AFTER}
late_after = {LATE_AFTER}

[merchant]
webhook_url = "{self.receiver.url}"
webhook_secret = "env:DEMO_MERCHANT_SECRET"
retry_seconds = [3]

[server]
listen = "127.0.0.1:{self.listen_port}"

[api]
[[api.tokens]]
name = "demo"
token = "env:DEMO_API_TOKEN"
scope = "admin"
""")
        self.out.line("setup", f"wrote {config} and chains/devnet.toml, chains/litesvm.toml")
        return config

    def start_settled(self) -> None:
        self.out.heading("2. settled serve")
        self.receiver = MerchantReceiver(self.merchant_secret, self.out, {})
        config = self.write_config()
        # settled's environment: ours without SETTLE_* (those override settle.toml), plus the secrets.
        environment = {k: v for k, v in os.environ.items() if not k.startswith("SETTLE_")}
        environment.update(STRIPE_API_KEY=self.stripe_key, STRIPE_WEBHOOK_SECRET=self.stripe_webhook_secret,
                           DEMO_MERCHANT_SECRET=self.merchant_secret, DEMO_API_TOKEN=self.api_token,
                           DEMO_EVM_SPENDER_KEY=self.spender.key)
        self.settled.start(config, environment)
        self.out.line("settled", f"started: {Path(self.args.settled).name} serve --config settle.toml --interval {PASS_INTERVAL} "
                                 f"(pid {self.settled.process.pid}, log {self.settled.log})")
        self.receiver.start()
        self.miner = BlockMiner(self.devnet)
        self.miner.start()
        self.api = SettleAPI(self.listen_port, self.api_token)

        deadline = time.monotonic() + 60 * self.args.timeout_scale
        while True:
            self.settled.check_running()
            try:
                status, health = self.api.health()
                break
            except Unreachable:
                pass
            if time.monotonic() > deadline:
                raise DemoError(f"settled's GET /healthz did not answer within {60 * self.args.timeout_scale:.0f} s")
            time.sleep(0.2)
        if status not in (200, 503) or not isinstance(health, dict) or health.get("status") not in ("ok", "degraded"):
            raise DemoError(f"GET /healthz answered {status}: {health} (expected 200 or 503 with status ok or degraded)")
        chains = ", ".join(f"{c.get('chain')} ({c.get('family')}) head {c.get('head')} indexed {c.get('indexed')}"
                           for c in health.get("chains", []))
        self.out.line("settled", f"GET /healthz: {health['status']}; {chains}")

        self.stripe.register_webhook(f"http://127.0.0.1:{self.listen_port}/webhooks/stripe", self.stripe_webhook_secret)
        self.out.line("stripe", f"webhook endpoint registered: http://127.0.0.1:{self.listen_port}/webhooks/stripe (signed)")

    # -- 3. approvals -------------------------------------------------------------------------------------------

    def approve_evm(self, wallet: EVMWallet, amount: int) -> None:
        """The customer's side of an EVM approval: Settle builds the unsigned transaction, the wallet checks what it
        signs (approve of this token to the merchant's spender, this amount, from this account), signs, sends."""
        built = self.api.wallet("devnet", wallet.address, "approval", token="USDC", amount=amount)
        tx = built["transaction"]
        data = bytes.fromhex(tx["data"][2:])
        if (data[:4] != bytes.fromhex("095ea7b3") or int.from_bytes(data[36:68], "big") != amount
                or to_checksum_address(data[16:36]) != self.spender.address or to_checksum_address(tx["to"]) != self.token
                or to_checksum_address(tx["from"]) != wallet.address):
            raise DemoError(f"the API's approval for {wallet.name} is not approve({self.spender.address}, {amount}) on {self.token}: {built}")
        signed = Account.sign_transaction({
            "type": int(tx["type"], 16), "chainId": int(tx["chainId"], 16), "nonce": int(tx["nonce"], 16),
            "to": to_checksum_address(tx["to"]), "value": int(tx["value"], 16), "data": tx["data"], "gas": int(tx["gas"], 16),
            "maxFeePerGas": int(tx["maxFeePerGas"], 16), "maxPriorityFeePerGas": int(tx["maxPriorityFeePerGas"], 16),
        }, wallet.key)
        receipt = self.devnet.receipt(self.devnet.send_raw(signed.raw_transaction))
        self.out.line("api", f"{wallet.name:<5} signed the API's approve({short(self.spender.address)}, {units(amount)} USDC) "
                             f"-> tx {short(receipt['transactionHash'], 10)} in block {int(receipt['blockNumber'], 16)}")

    def approve_solana(self, owner: Keypair, name: str, amount: int) -> None:
        """The same on Solana: an unsigned legacy transaction with one ApproveChecked, paid by the wallet. The wallet
        checks it pays the fee and the instruction delegates this amount to the merchant's delegate, then signs."""
        built = self.api.wallet("litesvm", str(owner.pubkey()), "approval", token="USDC", amount=amount)
        unsigned = Transaction.from_bytes(base64.b64decode(built["transaction"]))
        message = unsigned.message
        keys = message.account_keys
        approvals = [ix for ix in message.instructions if ix.data and ix.data[0] == 13]  # 13 = ApproveChecked
        if (keys[0] != owner.pubkey() or len(approvals) != 1 or int.from_bytes(bytes(approvals[0].data[1:9]), "little") != amount
                or keys[approvals[0].accounts[2]] != self.delegate.pubkey()):
            raise DemoError(f"the API's Solana approval for {name} is not ApproveChecked({self.delegate.pubkey()}, {amount}) paid by {name}: {built}")
        signed = Transaction([owner], message, message.recent_blockhash)
        signature = self.svm.send(signed)
        self.out.line("api", f"{name:<5} signed the API's ApproveChecked(delegate {short(str(self.delegate.pubkey()))}, "
                             f"{units(amount)} USDC) -> {short(signature, 10)}")

    def readiness(self, chain: str, wallet: str, name: str, ready: bool, short_of: set = frozenset()) -> None:
        """Asks Settle whether a wallet can pay one invoice, until the answer is the expected one (the approval just
        sent must be seen first)."""
        deadline = time.monotonic() + 15 * self.args.timeout_scale
        while True:
            answer = self.api.wallet(chain, wallet, "readiness", token="USDC", amount=PLAN_UNITS)
            if answer.get("ready") == ready and set(answer.get("short") or []) >= set(short_of):
                break
            if time.monotonic() > deadline:
                raise DemoError(f"readiness of {name} for {units(PLAN_UNITS)} USDC: expected ready={ready} short={sorted(short_of)}, "
                                f"Settle says {answer}")
            time.sleep(0.3)
        verdict = "ready" if ready else f"NOT ready, short of {', '.join(answer.get('short') or [])}"
        advice = f" ({answer['advice']})" if not ready and answer.get("advice") else ""
        self.out.line("api", f"{name:<5} readiness for {units(PLAN_UNITS)} USDC: balance {units(base_units(answer['balance']))}, "
                             f"allowance {units(base_units(answer['allowance']))} -> {verdict}{advice}")

    def approvals(self) -> None:
        self.out.heading("3. Customers approve the merchant (amounts and transactions from Settle's API)")
        suggestion = self.api.get("/v1/suggested-allowance", chain="devnet", token="USDC", amount=PLAN_UNITS,
                                  interval="month", interval_count=1)
        self.suggested = int(suggestion["suggested"])
        self.out.line("api", f"suggested allowance for {units(PLAN_UNITS)} USDC a month: {units(self.suggested)} USDC "
                             f"({suggestion.get('payments', '?')} payments)")
        if self.suggested < PLAN_UNITS:
            raise DemoError(f"the suggested allowance {self.suggested} does not cover one payment of {PLAN_UNITS}")
        self.approve_evm(self.alice, self.suggested)
        self.approve_evm(self.bob, 5 * USDC)  # too little for a 25 USDC invoice
        solana_suggestion = self.api.get("/v1/suggested-allowance", chain="litesvm", token="USDC", amount=PLAN_UNITS,
                                         interval="month", interval_count=1)
        self.approve_solana(self.carol, "carol", int(solana_suggestion["suggested"]))
        self.readiness("devnet", self.alice.address, "alice", True)
        self.readiness("devnet", self.bob.address, "bob", False, {"allowance"})
        self.readiness("litesvm", str(self.carol.pubkey()), "carol", True)

    # -- 4. invoices --------------------------------------------------------------------------------------------

    def invoices(self) -> None:
        self.out.heading("4. Stripe: a customer and an open 25.00 USD invoice each, due in 2 s")
        customers = [("alice", "devnet", self.alice.address), ("bob", "devnet", self.bob.address), ("carol", "litesvm", str(self.carol.pubkey()))]
        self.invoice_of = {}
        due = int(time.time()) + DUE_IN
        for name, chain, wallet in customers:
            customer = self.stripe.customer(name, chain, "USDC", wallet)
            invoice = self.stripe.draft_invoice(customer, PLAN_CENTS, due)
            self.invoice_of[name] = invoice
            self.receiver.names[invoice] = name  # before finalizing: a webhook may come at once
            self.stripe.finalize(invoice)
            self.out.line("stripe", f"{name:<5} customer {customer} (settle_chain={chain}, settle_wallet={short(wallet)}), "
                                    f"invoice {invoice} open, due {datetime.fromtimestamp(due, timezone.utc):%H:%M:%S} UTC")

    # -- 5 and 6. following the charges; bob's top-up -------------------------------------------------------------

    def follow(self) -> None:
        self.out.heading("5. Settle collects: charges, webhooks, Stripe (bob's allowance is too low)")
        names = {invoice: name for name, invoice in self.invoice_of.items()}
        self.watcher = watcher = ChargeWatcher(self.api, self.out, names)
        expect, met = self.deadlines.expect, self.deadlines.met
        for name in names.values():
            expect(("charge", name), f"Settle makes a charge of {name}'s invoice {self.invoice_of[name]} (Stripe webhook -> ledger)", 20)
        for name in ("alice", "carol"):
            expect(("reported", name), f"{name}'s invoice is charged, final and marked paid in Stripe (state reported)", 45)
        expect(("awaiting", "bob"), "bob's charge waits for funds with reason low_allowance (state awaiting_funds)", 30)
        expect(("missed", "bob"), "the merchant receives payment.missed for bob's invoice", 30)
        topped_up = False
        stripe_paid = set()
        while True:
            self.settled.check_running()
            charges = watcher.poll()
            for invoice, charge in charges.items():
                name = names[invoice]
                met(("charge", name))
                if charge["state"] in ("cancelled", "uncollectible"):
                    raise DemoError(f"{name}'s charge ended {charge['state']} ({charge.get('reason')}), not paid")
                if charge["state"] == "reported" and name not in stripe_paid:
                    met(("reported", name))
                    self.show_stripe_invoice(name, invoice)
                    stripe_paid.add(name)
                    expect(("succeeded", name), f"the merchant receives payment.succeeded for {name}'s invoice", 15)
                if self.receiver.seen("payment.succeeded", invoice):
                    met(("succeeded", name))
            bob = charges.get(self.invoice_of["bob"])
            if bob and bob["state"] == "awaiting_funds" and "allowance" in (bob.get("reason") or ""):
                met(("awaiting", "bob"))
            if self.receiver.seen("payment.missed", self.invoice_of["bob"]):
                met(("missed", "bob"))
            if not topped_up and {("awaiting", "bob"), ("missed", "bob")} <= self.deadlines.done:
                self.top_up_bob()
                topped_up = True
                expect(("reported", "bob"), "after the top-up and retry, bob's invoice is charged and marked paid (state reported)", 45)
            if topped_up and len(stripe_paid) == 3 and not self.deadlines.pending:
                break
            self.deadlines.check(watcher.summary)
            time.sleep(POLL_EVERY)
        if self.receiver.bad:
            raise DemoError("merchant webhooks with a bad signature: " + "; ".join(self.receiver.bad))
        self.out.line("ok", "all three invoices paid in Stripe; bob's after a missed payment and a top-up")

    def top_up_bob(self) -> None:
        self.out.heading("6. Bob raises his allowance; the merchant asks Settle to retry")
        self.approve_evm(self.bob, self.suggested)
        self.readiness("devnet", self.bob.address, "bob", True)
        invoice = self.invoice_of["bob"]
        # Settle would also re-check on its own ([settlement] retry_seconds); the merchant need not wait.
        status, body = http("POST", f"{self.api.base}/v1/charges/{invoice}/retry", headers=self.api.headers)
        if status in (200, 202):
            self.out.line("api", f"POST /v1/charges/{invoice}/retry -> {status}, charge {body.get('state')}")
        elif status == 409:  # the scheduled re-check got there first
            self.out.line("api", f"POST /v1/charges/{invoice}/retry -> 409: {body}")
        else:
            raise DemoError(f"POST /v1/charges/{invoice}/retry answered {status} (expected 202): {body}")

    def show_stripe_invoice(self, name: str, invoice: str) -> None:
        """What the merchant's Stripe dashboard now shows: the invoice paid, and what Settle wrote on it."""
        deadline = time.monotonic() + 5 * self.args.timeout_scale
        while (stripe_invoice := self.stripe.invoice(invoice))["status"] != "paid":
            if time.monotonic() > deadline:
                raise DemoError(f"Settle reported {name}'s charge but Stripe shows invoice {invoice} {stripe_invoice['status']}, not paid")
            time.sleep(0.3)
        notes = ", ".join(f"{k}={short(v, 10)}" for k, v in sorted((stripe_invoice.get("metadata") or {}).items()) if k.startswith("settle"))
        how = "paid out of band" if stripe_invoice.get("paid_out_of_band") else "paid"
        self.out.line("stripe", f"{name:<5} invoice {invoice}: status paid ({how}, amount_paid {stripe_invoice.get('amount_paid')})"
                                + (f"; metadata {notes}" if notes else ""))

    # -- 7. a checkout -----------------------------------------------------------------------------------------

    def checkout(self) -> None:
        """Dave subscribes through a checkout link: the merchant asks Settle for a session, dave's browser opens the
        page and his wallet signs the approval the page offers (done here with his key through the page's own
        requests, as the page's script would); Settle reads the approval from the chain, creates the subscription in
        Stripe and charges its first invoice at once."""
        self.out.heading("7. A checkout: dave subscribes from a link and pays from his wallet at once")
        price = self.stripe.request("POST", "/v1/prices", {"currency": "usd", "unit_amount": PLAN_CENTS, "recurring": {"interval": "month"},
                                                           "product_data": {"name": "Pro plan"}})["id"]
        customer = self.stripe.request("POST", "/v1/customers", {"email": "dave@example.com", "name": "Dave"})["id"]
        status, session = http("POST", f"{self.api.base}/v1/checkout_sessions", headers=self.api.headers,
                               json_body={"customer": customer, "price": price, "chains": ["devnet"], "pay_invoice_immediately": True})
        if status != 201:
            raise DemoError(f"POST /v1/checkout_sessions answered {status}: {session}")
        self.out.line("api", f"checkout session for dave: {session['url']} (expires {datetime.fromtimestamp(session['expires_at'], timezone.utc):%H:%M} UTC)")
        status, page = http("GET", session["url"])
        marker = 'name="settle-csrf" content="'
        if status != 200 or marker not in str(page):
            raise DemoError(f"the checkout page answered {status}")
        csrf = str(page).split(marker, 1)[1].split('"', 1)[0]
        query = urllib.parse.urlencode({"chain": "devnet", "token": "USDC", "wallet": self.dave.address})
        status, built = http("GET", f"{session['url']}/approval?{query}")
        if status != 200:
            raise DemoError(f"the page's approval request answered {status}: {built}")
        sent = None
        for item in built["transactions"]:
            tx = item["transaction"]
            data = bytes.fromhex(tx["data"][2:])
            if data[:4] != bytes.fromhex("095ea7b3") or to_checksum_address(data[16:36]) != self.spender.address or to_checksum_address(tx["to"]) != self.token:
                raise DemoError(f"the checkout's transaction is not an approve of USDC to the merchant's spender: {tx}")
            signed = Account.sign_transaction({
                "type": 2, "chainId": int(tx["chainId"], 16), "nonce": int(tx["nonce"], 16), "to": to_checksum_address(tx["to"]), "value": 0,
                "data": tx["data"], "gas": int(tx["gas"], 16), "maxFeePerGas": int(tx["maxFeePerGas"], 16),
                "maxPriorityFeePerGas": int(tx["maxPriorityFeePerGas"], 16)}, self.dave.key)
            sent = self.devnet.send_raw(signed.raw_transaction)
            self.out.line("wallet", f"dave signed approve({short(self.spender.address)}, {units(int.from_bytes(data[36:68], 'big'))} USDC) "
                                    f"-> tx {short(sent, 10)}")
        status, state = http("POST", f"{session['url']}/approval", headers={"X-Settle-CSRF": csrf},
                             json_body={"chain": "devnet", "token": "USDC", "transaction": sent})
        if status != 200:
            raise DemoError(f"reporting the approval answered {status}: {state}")
        shown, deadline = None, time.monotonic() + 60 * self.args.timeout_scale
        while not state.get("complete"):
            if state["step"] != shown:
                shown = state["step"]
                self.out.line("page", f"checkout step: {shown}" + (f" (wallet {short(state['wallet'])}, allowance {state['approved']} USDC)"
                                                                   if shown == "approved" and state.get("wallet") else ""))
            if state.get("problem") or state.get("expired"):
                raise DemoError(f"the checkout stopped: {state}")
            if time.monotonic() > deadline:
                raise DemoError(f"the checkout did not complete within {60 * self.args.timeout_scale:.0f} s: {state}")
            time.sleep(POLL_EVERY)
            state = http("GET", f"{session['url']}/state")[1]
        for invoice in state["invoices"]:
            self.out.line("page", f"paid: invoice {invoice['id']} {invoice['amount']} {invoice['token']} in transaction {short(invoice['transaction'] or '', 10)}")
        subscription = self.stripe.request("GET", f"/v1/subscriptions/{state['subscription']}")
        self.out.line("stripe", f"dave's subscription {subscription['id']}: {subscription['collection_method']}, "
                                f"settle_wallet={short(subscription['metadata'].get('settle_wallet', ''))}")

    # -- 8. native billing -------------------------------------------------------------------------------------

    def native(self) -> None:
        """Settle bills by itself: the merchant creates an hourly item, alice subscribes to it with the wallet she has
        approved (her subscription dated an hour ago, as for a subscriber moved to Settle mid-period); Settle pulls
        period 0 at once, and its scheduler issues period 1's renewal at its boundary and pulls it. Stripe is not
        involved."""
        self.out.heading("8. Native billing: an hourly item, no Stripe; the first payment and a renewal")
        item = self.api.call("POST", "/v1/items", expect=(201,), body={
            "id": "item_api_hourly", "name": "API access (hourly)", "kind": "subscription", "interval": "hour", "amount": 50,
            "currency": "usd", "tokens": ["USDC"]})
        self.out.line("api", f"item {item['id']}: {item['name']}, 0.50 USD every hour, paid in {', '.join(item['tokens'])}")
        started = int(time.time()) - 3_600 - 30
        agreement = self.api.call("POST", "/v1/agreements", expect=(201,), body={
            "customer": "alice_hourly", "chain": "devnet", "token": "USDC", "wallet": self.alice.address, "item": item["id"],
            "starts_at": started})
        self.out.line("api", f"alice subscribes (agreement {agreement['id']}, begun {datetime.fromtimestamp(started, timezone.utc):%H:%M:%S} UTC): "
                             f"first invoice {agreement['invoice']}")
        shown, deadline = set(), time.monotonic() + 60 * self.args.timeout_scale
        while True:
            invoices = self.api.get("/v1/invoices", agreement=agreement["id"])["data"]
            for invoice in invoices:
                charge = invoice["charge"]
                key = (invoice["id"], invoice["paid"])
                if key in shown:
                    continue
                shown.add(key)
                what = "first payment" if invoice["period"] == 0 else "renewal issued by the scheduler"
                due = datetime.fromtimestamp(invoice["due_at"], timezone.utc)
                self.out.line("charge", f"{invoice['id']} ({what}, period {invoice['period']}, due {due:%H:%M:%S} UTC): "
                                        + (f"paid, {charge['display']} USDC" if invoice["paid"] else charge["state"]))
            if len(invoices) >= 2 and all(invoice["paid"] for invoice in invoices):
                break
            if time.monotonic() > deadline:
                raise DemoError(f"alice's hourly subscription was not paid twice within {60 * self.args.timeout_scale:.0f} s: {invoices}")
            time.sleep(POLL_EVERY)
        if len(invoices) != 2:
            raise DemoError(f"alice's subscription has {len(invoices)} invoices, expected period 0 and one renewal: {invoices}")

    # -- 9. the record ------------------------------------------------------------------------------------------

    def allowance_history(self) -> None:
        self.out.heading("9. Bob's allowance history (Settle's index of his approvals)")
        # Three entries: approve 5, approve the suggested amount, and the allowance the token lowered when Settle
        # pulled 25 (the token emits an Approval for it). The index may be a block or two behind: wait for it.
        reduced = self.suggested - PLAN_UNITS
        deadline = time.monotonic() + 20 * self.args.timeout_scale
        while True:
            rows, cursor = [], None
            for _ in range(20):
                page = self.api.wallet("devnet", self.bob.address, "allowances", token="USDC", limit=50, cursor=cursor)
                rows += page.get("data") or []
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            amounts = [int(row["amount"]) for row in rows]
            if amounts[-3:] == [5 * USDC, self.suggested, reduced]:
                break
            if time.monotonic() > deadline:
                raise DemoError(f"bob's allowance history should end with 5, {units(self.suggested)} and {units(reduced)} USDC; "
                                f"Settle's API has {[units(a) for a in amounts]}")
            time.sleep(0.5)
        # Times are the devnet's block times: after a burst of blocks (the setup) they run a few seconds ahead.
        pull = self.watcher.transaction.get(self.invoice_of["bob"])
        self.out.plain(f"    {'block':>6}  {'time (UTC)':<10}  {'spender':<14}  {'allowance':>12}  {'transaction':<22}  what")
        for row in rows:
            when = row.get("time")
            when = datetime.fromtimestamp(int(when), timezone.utc).strftime("%H:%M:%S") if str(when).isdigit() else str(when or "")
            what = "Settle's pull of 25 USDC lowered it" if row.get("transaction") == pull else "bob approved"
            self.out.plain(f"    {row.get('block', ''):>6}  {when:<10}  {short(row.get('spender', '')):<14}  "
                           f"{units(row['amount']) + ' USDC':>12}  {short(row.get('transaction', ''), 10):<22}  {what}")
        current = ", ".join(f"{units(c['amount'])} {c.get('token', '')}" for c in page.get("current") or [])
        self.out.plain(f"    current allowance to the spender: {current or '(none)'}")

    def balances(self) -> None:
        self.out.heading("Balances (Settle's API)")
        for chain, name, wallet in (("devnet", "alice", self.alice.address), ("devnet", "bob", self.bob.address),
                                    ("devnet", "treasury", self.evm_treasury), ("litesvm", "carol", str(self.carol.pubkey())),
                                    ("litesvm", "treasury", str(self.sol_treasury.pubkey()))):
            rows = self.api.wallet(chain, wallet, "balances").get("data") or []
            text = ", ".join(f"{units(r['amount'], int(r.get('decimals', DECIMALS)))} {r['token']}" for r in rows)
            self.out.plain(f"    {chain:<8} {name:<9} {short(wallet):<14} {text}")

    # -- 9. the end ---------------------------------------------------------------------------------------------

    def stop_settled(self) -> None:
        self.out.heading("10. Shutdown")
        status, seconds, killed = self.settled.stop(grace=20)
        if killed:
            raise DemoError(f"settled did not exit within 20 s of SIGTERM (killed)")
        if status != 0:
            raise DemoError(f"settled exited with status {status} after SIGTERM (expected 0)")
        self.out.line("settled", f"SIGTERM -> exited 0 after {seconds:.1f} s")

    def run(self) -> None:
        self.start_peers()
        self.create_accounts()
        self.start_settled()
        self.approvals()
        self.invoices()
        self.follow()
        self.checkout()
        self.native()
        self.allowance_history()
        self.balances()
        self.stop_settled()

    def close(self) -> None:
        """Stops whatever still runs (settled first, so it sees no peer vanish under it) and removes the directory.
        Safe to call whatever state the demo is in."""
        if self.settled.running():
            self.settled.stop(grace=5)
        if self.miner:
            self.miner.halt.set()
            self.miner.join(timeout=5)
        if self.receiver:
            self.receiver.stop()
        for peer in self.peers:
            peer.stop()
        names = ", ".join(p.name for p in self.peers)
        if names:
            self.out.line("setup", f"stopped {names}")
        if self.args.keep_dir:
            self.out.line("setup", f"kept {self.workdir} (settled.log, peer logs, settle.sqlite, configuration)")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settled", required=True, help="the settled binary")
    parser.add_argument("--keep-dir", action="store_true", help="keep the temporary directory (logs, database, configuration)")
    parser.add_argument("--timeout-scale", type=float, default=1.0, help="multiply every deadline (slow machines)")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(errors="replace")  # a non-UTF-8 terminal gets "?" for "…", not a crash
    colour = args.color == "always" or (args.color == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
                                         and os.environ.get("TERM") != "dumb")
    out = Output(colour)
    if not os.access(args.settled, os.X_OK):
        out.line("FAILED", f"{args.settled} is not an executable (build it: swift build --product settled)")
        return 2

    # Ctrl-C (SIGINT), SIGTERM and the overall time limit all unwind through Demo.close.
    def on_signal(number, frame):
        raise KeyboardInterrupt(signal.Signals(number).name)

    def on_alarm(number, frame):
        raise DemoError(f"the demo ran longer than its {HARD_LIMIT * args.timeout_scale:.0f} s limit")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(HARD_LIMIT * args.timeout_scale))

    demo = Demo(args, out)
    result = 1
    try:
        demo.run()
        result = 0
    except DemoError as error:
        out.line("FAILED", str(error))
        if demo.settled.process is not None:
            out.plain(f"--- last 40 lines of {demo.settled.log} ---\n{tail(demo.settled.log)}\n---")
    except Exception:  # a bug here, or an answer of a shape the demo does not expect: say so, with settled's side
        out.line("FAILED", "unexpected error in the demo driver:\n" + traceback.format_exc().rstrip())
        if demo.settled.process is not None:
            out.plain(f"--- last 40 lines of {demo.settled.log} ---\n{tail(demo.settled.log)}\n---")
    except KeyboardInterrupt as interrupt:
        out.line("FAILED", f"interrupted ({interrupt.args[0] if interrupt.args else 'SIGINT'}); stopping everything")
        result = 130
    finally:
        # Cleaning up is not interrupted: a second Ctrl-C must not leave processes behind.
        signal.alarm(0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        demo.close()
    if result == 0:
        out.line("ok", f"demo complete in {time.monotonic() - out.start:.1f} s: every expected step happened, nothing left running")
    return result


if __name__ == "__main__":
    sys.exit(main())
