#!/usr/bin/env python3
"""Settle's HTTP API against a real fuzzer: schemathesis runs docs/openapi.yaml against `settled serve` in a local
world, three times (an admin token, a read token, no token), and the daemon must come out of it alive.

    .venv/bin/python Tests/Peers/api_fuzz.py --settled .build/debug/settled [--examples 100] [--seed 14] [--keep-dir]

What it does, in order:
 1. Starts the local world of scripts/demo.py (the same building blocks): a py-evm devnet with a 6-decimal USDC and
    a paused PAUSD (a token that reverts everything), LiteSVM with a USDC mint and a Token-2022 mint with a 1%
    transfer fee, localstripe; writes settle.toml with an admin and a read API token and starts `settled serve`
    on 127.0.0.1.
 2. Gives the API something to show: alice and carol approve enough (through the API's unsigned approvals), bob too
    little; an open 25 USD invoice each, plus one for a customer without Settle metadata (a finding, no charge).
    It waits until alice's and carol's charges are reported paid and bob's waits for funds, so charges with EVM and
    Solana attempts and histories exist.
 3. A client generated from the document (Tests/Peers/api_client_check.py, openapi-python-client) must generate
    without a warning and read every route into its models, errors included.
 4. Runs schemathesis (Tests/Peers/requirements-fuzz.txt) over every operation of docs/openapi.yaml, once per token,
    with a fixed seed and at most --examples cases per operation and phase (examples, coverage, fuzzing; the
    stateful phase needs OpenAPI links, which the document does not declare). Tests/Peers/api_fuzz_hooks.py mixes
    the world's chain names, wallets, tokens, invoices and cursors into the generated requests, so the fuzzer
    reaches past `404 no chain`, and signs most Stripe-event-shaped webhook bodies so they reach the inbox. Checks:
    no 5xx (not_a_server_error), every status documented (status_code_conformance), the documented content type
    (content_type_conformance) and headers (response_headers_conformance), every body valid against its schema
    (response_schema_conformance) and, through openapi_check.py, against the media type's x-settle-refine
    (settle_documented), invalid input refused with a 4xx (negative_data_rejection), a missing required header
    refused (missing_required_header), and authentication enforced (ignored_auth).
 5. After each run: settled is still running and answers GET /healthz. At the end it must stop on SIGTERM with
    exit status 0.

Prints a summary per token (operations, test cases, requests, failures, time) and exits 1 on any failure (with the
failures schemathesis printed, and the end of settled's log if it died), 0 otherwise. Everything runs on 127.0.0.1
and is stopped at the end; the temporary directory (settle.toml, settled.log, schemathesis' output and HAR files,
the generated client) is removed unless --keep-dir.
"""
import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eth_account import Account  # noqa: E402
from eth_utils import to_checksum_address  # noqa: E402
from solders.transaction import Transaction  # noqa: E402

import api_client_check  # noqa: E402
import demo  # noqa: E402  (the local world's building blocks: peers, devnet, LiteSVM, Stripe, settled)
from demo import DemoError, Devnet, LiteSVM, Output, Peer, Settled, Stripe, Unreachable  # noqa: E402

SPEC = ROOT / "docs" / "openapi.yaml"
USDC = 10 ** demo.DECIMALS
PLAN_CENTS = 2500
PLAN_UNITS = PLAN_CENTS * USDC // 100
HARD_LIMIT = 600  # seconds for everything, whatever happens (scripts/test.sh kills it at 900)

# The checks, by name (schemathesis 4). Not used: positive_data_acceptance (a valid request may name a chain, wallet or
# invoice that does not exist: 404 is the right answer, not a 2xx); unsupported_method and allow_header_conformance
# (the router answers an unrouted method 404, like any unknown path, not 405; the document says nothing of other
# methods); use_after_free, ensure_resource_availability, object_level_authorization (the API has no delete and no
# per-object owners; they need OpenAPI links it does not declare).
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
          "response_schema_conformance", "negative_data_rejection", "missing_required_header", "ignored_auth",
          "settle_documented"]

# Operations left out, each with why. (None: retry, agreement upserts and approvals are fuzzed against the throwaway
# world; the Stripe webhook route is fuzzed with random signatures, which it must refuse with a 400.)
EXCLUDED_OPERATIONS = {}


class FuzzError(DemoError):
    """The run failed: the message says what."""


# ---------------------------------------------------------------------------------------------------- the world

class World:
    """The peers, settled and the data the fuzzer works over. `close()` stops whatever was started."""

    def __init__(self, args, out: Output):
        self.args, self.out = args, out
        self.workdir = Path(tempfile.mkdtemp(prefix="settle-fuzz-"))
        self.peers = []
        self.settled = Settled(args.settled, self.workdir)
        self.miner = None
        self.stripe_key = "sk_test_" + secrets.token_hex(12)
        self.stripe_webhook_secret = "whsec_" + secrets.token_hex(16)
        self.admin_token = "fuzz_admin_" + secrets.token_hex(16)
        self.read_token = "fuzz_read_" + secrets.token_hex(16)

    def peer(self, name: str, script: str, *args) -> Peer:
        peer = Peer(name, script, list(args), self.workdir, timeout=60 * self.args.timeout_scale)
        self.peers.append(peer)
        return peer

    def start(self) -> None:
        out = self.out
        out.heading("1. The local world: devnet, LiteSVM, localstripe, settled serve")
        self.devnet_peer = self.peer("devnet", "evm_devnet.py")
        self.svm_peer = self.peer("litesvm", "solana_rpc.py", "--slot-interval-ms", "400")
        self.stripe_peer = self.peer("stripe", "stripe_peer.py")
        out.line("setup", f"devnet {self.devnet_peer.url}, litesvm {self.svm_peer.url}, stripe {self.stripe_peer.url}")
        self.devnet, self.svm = Devnet(self.devnet_peer), LiteSVM(self.svm_peer)
        self.stripe = Stripe(self.stripe_peer, self.stripe_key)

        accounts = self.devnet.accounts()
        self.alice, self.bob = demo.EVMWallet("alice", *accounts[1]), demo.EVMWallet("bob", *accounts[2])
        self.evm_treasury, self.spender = accounts[8][0], demo.EVMWallet("spender", *accounts[9])
        self.token = self.devnet.deploy_token("USD Coin (fuzz)", "USDC", demo.DECIMALS)
        self.devnet.mint(self.token, self.alice.address, 1_000 * USDC)
        self.devnet.mint(self.token, self.bob.address, 100 * USDC)
        # A second token that refuses everything (paused), as a real USDC can be: readiness and approvals meet reverts.
        self.paused_token = to_checksum_address(self.devnet.rpc("settle_deployToken", {
            "name": "Paused USD (fuzz)", "symbol": "PAUSD", "decimals": demo.DECIMALS, "kind": "pausable_blocklist"}))
        self.devnet.mint(self.paused_token, self.alice.address, 100 * USDC)
        self.devnet.receipt(self.devnet.rpc("settle_pause", self.paused_token))
        self.carol, self.delegate, self.sol_treasury = self.svm.keypairs(3)
        self.mint = self.svm.create_mint(demo.DECIMALS)
        self.svm.create_token_account(self.sol_treasury.pubkey(), self.mint)
        self.svm.mint_to(self.mint, self.carol.pubkey(), 500 * USDC)
        # And a Token-2022 mint with a 1% transfer fee, grossed up (the executor's and readiness' other path).
        self.fee_mint = self.svm.rpc("settle_createMint", {"decimals": demo.DECIMALS, "program": "token2022",
                                                           "extensions": {"transferFee": {"basisPoints": 100, "maximumFee": 10 * USDC}}})
        self.svm.create_token_account(self.sol_treasury.pubkey(), self.fee_mint)
        self.svm.mint_to(self.fee_mint, self.carol.pubkey(), 100 * USDC)
        out.line("setup", f"devnet: USDC {self.token} (alice 1000, bob 100), PAUSD {self.paused_token} (paused); "
                          f"litesvm: USDC {self.mint} (carol 500), FEE {self.fee_mint} (Token-2022, 1% fee; carol 100)")

        config = self.write_config()
        environment = {k: v for k, v in os.environ.items() if not k.startswith("SETTLE_")}
        environment.update(STRIPE_API_KEY=self.stripe_key, STRIPE_WEBHOOK_SECRET=self.stripe_webhook_secret,
                           FUZZ_ADMIN_TOKEN=self.admin_token, FUZZ_READ_TOKEN=self.read_token, FUZZ_EVM_SPENDER_KEY=self.spender.key)
        self.settled.start(config, environment)
        self.miner = demo.BlockMiner(self.devnet)
        self.miner.start()
        self.api = demo.SettleAPI(self.listen_port, self.admin_token)
        self.wait_for_health(60)
        out.line("settled", f"serving on {self.api.base} (pid {self.settled.process.pid}); tokens: admin, read")
        self.stripe.register_webhook(f"{self.api.base}/webhooks/stripe", self.stripe_webhook_secret)

    def write_config(self) -> Path:
        chains = self.workdir / "chains"
        chains.mkdir()
        delegate_file = self.workdir / "delegate.json"
        descriptor = os.open(delegate_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(list(bytes(self.delegate)), handle)
        (chains / "devnet.toml").write_text(f"""\
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
decimals = {demo.DECIMALS}
[[tokens]]
symbol = "PAUSD"
address = "{self.paused_token}"
decimals = {demo.DECIMALS}
[signer]
key = "env:FUZZ_EVM_SPENDER_KEY"
treasury = "{self.evm_treasury}"
[settlement]
retry_seconds = [3]
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
[[tokens]]
symbol = "FEE"
mint = "{self.fee_mint}"
decimals = {demo.DECIMALS}
program = "token2022"
gross_up_transfer_fee = true
[signer]
key = "file:{delegate_file}"
treasury = "{self.sol_treasury.pubkey()}"
[settlement]
retry_seconds = [3]
""")
        self.listen_port = demo.free_port()
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
missed_after = 4
late_after = 8
[server]
listen = "127.0.0.1:{self.listen_port}"
[api]
[[api.tokens]]
name = "fuzz-admin"
token = "env:FUZZ_ADMIN_TOKEN"
scope = "admin"
[[api.tokens]]
name = "fuzz-read"
token = "env:FUZZ_READ_TOKEN"
scope = "read"
""")
        return config

    def wait_for_health(self, seconds: float):
        deadline = time.monotonic() + seconds * self.args.timeout_scale
        while True:
            self.check_alive()
            try:
                status, body = self.api.health()
                if status in (200, 503) and isinstance(body, dict):
                    return status, body
            except Unreachable:
                pass
            if time.monotonic() > deadline:
                raise FuzzError(f"settled's GET /healthz did not answer within {seconds * self.args.timeout_scale:.0f} s")
            time.sleep(0.2)

    def check_alive(self) -> None:
        if self.settled.process is not None and self.settled.process.poll() is not None:
            raise FuzzError(f"settled exited with status {self.settled.process.returncode}")

    # -- 2. data for the API to show ---------------------------------------------------------------------------

    def approve_evm(self, wallet, amount: int) -> None:
        tx = self.api.wallet("devnet", wallet.address, "approval", token="USDC", amount=amount)["transaction"]
        signed = Account.sign_transaction({
            "type": int(tx["type"], 16), "chainId": int(tx["chainId"], 16), "nonce": int(tx["nonce"], 16),
            "to": to_checksum_address(tx["to"]), "value": int(tx["value"], 16), "data": tx["data"], "gas": int(tx["gas"], 16),
            "maxFeePerGas": int(tx["maxFeePerGas"], 16), "maxPriorityFeePerGas": int(tx["maxPriorityFeePerGas"], 16),
        }, wallet.key)
        self.devnet.receipt(self.devnet.send_raw(signed.raw_transaction))

    def approve_solana(self, owner, amount: int) -> None:
        built = self.api.wallet("litesvm", str(owner.pubkey()), "approval", token="USDC", amount=amount)
        message = Transaction.from_bytes(base64.b64decode(built["transaction"])).message
        self.svm.send(Transaction([owner], message, message.recent_blockhash))

    def populate(self) -> None:
        out = self.out
        out.heading("2. Data for the API to show: approvals, invoices, charges in several states")
        suggested = int(self.api.get("/v1/suggested-allowance", chain="devnet", token="USDC", amount=PLAN_UNITS)["suggested"])
        self.approve_evm(self.alice, suggested)
        self.approve_evm(self.bob, 5 * USDC)
        self.approve_solana(self.carol, suggested)
        out.line("api", f"approved through the API: alice {suggested // USDC} USDC, bob 5 USDC (devnet); carol {suggested // USDC} USDC (litesvm)")
        due = int(time.time()) + 2
        self.invoice_of, self.customers = {}, []
        for name, chain, wallet in (("alice", "devnet", self.alice.address), ("bob", "devnet", self.bob.address),
                                    ("carol", "litesvm", str(self.carol.pubkey()))):
            customer = self.stripe.customer(name, chain, "USDC", wallet)
            self.customers.append(customer)
            self.invoice_of[name] = invoice = self.stripe.draft_invoice(customer, PLAN_CENTS, due)
            self.stripe.finalize(invoice)
        # A customer without settle_* metadata: billing records a finding and makes no charge.
        stranger = self.stripe.request("POST", "/v1/customers", {"email": "dave@example.com", "name": "Dave"})["id"]
        self.customers.append(stranger)
        self.invoice_of["dave"] = invoice = self.stripe.draft_invoice(stranger, PLAN_CENTS, due)
        self.stripe.finalize(invoice)
        out.line("stripe", "open invoices: " + ", ".join(f"{name} {invoice}" for name, invoice in self.invoice_of.items()))

        wanted = {"alice": ("reported",), "carol": ("reported",), "bob": ("awaiting_funds",)}
        deadline = time.monotonic() + 90 * self.args.timeout_scale
        while True:
            self.check_alive()
            states = {charge["invoice"]: charge["state"] for charge in self.api.charges()}
            now = {name: states.get(self.invoice_of[name]) for name in wanted}
            if all(now[name] in wanted[name] for name in wanted):
                break
            if time.monotonic() > deadline:
                raise FuzzError(f"the charges did not reach their states in time: wanted {wanted}, have {now}")
            time.sleep(0.5)
        out.line("charge", "alice reported, carol reported, bob awaiting_funds (low allowance); dave: no charge")

    def facts(self) -> dict:
        """What the hooks mix into generated requests (see api_fuzz_hooks.py)."""
        cursors = [bytes(text, "ascii").hex() for text in ("0", "1", "2", "3", "1:0", "0:0", "2:1", "99999999:0",
                                                             "18446744073709551615:0", "9223372036854775807", "-1")]
        for path, query in (("/v1/charges", {"limit": 1}), ("/v1/agreements", {"limit": 1}),
                            (f"/v1/chains/devnet/wallets/{self.bob.address}/allowances", {"limit": 1}),
                            (f"/v1/chains/litesvm/wallets/{self.carol.pubkey()}/allowances", {"limit": 1})):
            cursor = self.api.get(path, **query).get("next_cursor")
            if cursor:
                cursors.append(cursor)
        return {
            "chains": {
                "devnet": {"tokens": ["USDC", "PAUSD"], "wallets": [self.alice.address, self.bob.address, self.evm_treasury, self.spender.address,
                                                                   self.token, "0x" + "00" * 20]},
                "litesvm": {"tokens": ["USDC", "FEE"], "wallets": [str(self.carol.pubkey()), str(self.sol_treasury.pubkey()), str(self.delegate.pubkey()),
                                                                  self.mint, "11111111111111111111111111111111"]},
            },
            "invoices": list(self.invoice_of.values()),
            "customers": self.customers,
            "cursors": sorted(set(cursors)),
            "webhook_secret": self.stripe_webhook_secret,
            "spec": str(SPEC),
        }

    def stop_settled(self) -> None:
        status, seconds, killed = self.settled.stop(grace=20)
        if killed:
            raise FuzzError("settled did not exit within 20 s of SIGTERM (killed)")
        if status != 0:
            raise FuzzError(f"settled exited with status {status} after SIGTERM (expected 0)")
        self.out.line("settled", f"SIGTERM -> exited 0 after {seconds:.1f} s")

    def close(self) -> None:
        if self.settled.running():
            self.settled.stop(grace=5)
        if self.miner:
            self.miner.halt.set()
            self.miner.join(timeout=5)
        for peer in self.peers:
            peer.stop()
        if self.args.keep_dir:
            self.out.line("setup", f"kept {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------- schemathesis

class Run:
    """One schemathesis run with one token (or none), and what it found."""

    def __init__(self, label: str, token, world: World, args, out: Output):
        self.label, self.token, self.world, self.args, self.out = label, token, world, args, out
        self.log = world.workdir / f"schemathesis-{label}.log"
        self.report = world.workdir / f"schemathesis-{label}.json"
        self.har = world.workdir / f"schemathesis-{label}.har"

    def command(self) -> list:
        command = [str(Path(sys.executable).parent / "schemathesis"), "run", str(SPEC), "--url", self.world.api.base,
                   "--checks", ",".join(CHECKS), "--max-examples", str(self.args.examples), "--seed", str(self.args.seed),
                   "--workers", "1", "--request-timeout", "20", "--generation-database", "none", "--no-color",
                   "--phases", self.args.phases, "--suppress-health-check", "all",
                   "--report", "json,har", "--report-json-path", str(self.report), "--report-har-path", str(self.har)]
        for method_path in EXCLUDED_OPERATIONS:
            method, path = method_path.split(" ", 1)
            command += ["--exclude-by", f'method == "{method}" and path == "{path}"']
        if self.token:
            command += ["--header", f"Authorization: Bearer {self.token}"]
        return command

    def execute(self, facts: dict) -> dict:
        environment = dict(os.environ)
        environment.update(SCHEMATHESIS_HOOKS="api_fuzz_hooks", SETTLE_FUZZ_WORLD=json.dumps(facts),
                           PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])),
                           NO_COLOR="1")
        started = time.monotonic()
        with open(self.log, "wb") as log:
            # In the temporary directory: schemathesis keeps a .schemathesis/ folder where it runs.
            process = subprocess.run(self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=environment,
                                     cwd=self.world.workdir, timeout=self.args.run_timeout * self.args.timeout_scale)
        seconds = time.monotonic() - started
        report = json.loads(self.report.read_text()) if self.report.exists() else {}
        requests = 0
        if self.har.exists():
            try:
                requests = len(json.loads(self.har.read_text())["log"]["entries"])
            except (ValueError, KeyError):
                pass
        operations = (report.get("operations") or {})
        failures = report.get("failures") or []
        errors = report.get("errors") or []
        return {
            "token": self.label, "exit": process.returncode, "seconds": seconds,
            "operations": operations.get("tested", 0), "selected": operations.get("selected", 0),
            "cases": (report.get("test_cases") or {}).get("generated", 0), "requests": requests,
            "failures": sum(group.get("count", 0) for group in failures), "groups": failures,
            "errors": sum(group.get("count", 0) for group in errors), "error_titles": [group.get("title") for group in errors],
        }

    def failures_text(self, lines: int = 200) -> str:
        """What schemathesis printed from its failure section on (or its last lines)."""
        text = self.log.read_text(errors="replace").splitlines()
        for marker in ("FAILURES", "ERRORS"):
            for index, line in enumerate(text):
                if marker in line and set(line.replace(marker, "").strip()) <= {"=", "_", " "}:
                    return "\n".join(text[index:index + lines])
        return "\n".join(text[-lines:])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settled", required=True, help="the settled binary")
    parser.add_argument("--examples", type=int, default=100, help="at most this many generated cases per operation and phase (default 100)")
    parser.add_argument("--seed", type=int, default=14, help="schemathesis' seed (default 14: runs are reproducible)")
    parser.add_argument("--phases", default="examples,coverage,fuzzing", help="schemathesis phases (default examples,coverage,fuzzing)")
    parser.add_argument("--tokens", default="admin,read,none", help="which runs, in order (default admin,read,none)")
    parser.add_argument("--run-timeout", type=float, default=180, help="seconds one schemathesis run may take (default 180)")
    parser.add_argument("--keep-dir", action="store_true", help="keep the temporary directory (settled.log, schemathesis output)")
    parser.add_argument("--timeout-scale", type=float, default=1.0, help="multiply every deadline (slow machines)")
    args = parser.parse_args(argv)
    out = Output(colour=False)
    if not os.access(args.settled, os.X_OK):
        out.line("FAILED", f"{args.settled} is not an executable (build it: swift build --product settled)")
        return 2

    def on_signal(number, frame):
        raise KeyboardInterrupt(signal.Signals(number).name)

    def on_alarm(number, frame):
        raise FuzzError(f"the fuzz run took longer than its {HARD_LIMIT * args.timeout_scale:.0f} s limit")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(HARD_LIMIT * args.timeout_scale))

    world = World(args, out)
    results, failed_runs, result, client_failed = [], [], 1, None
    try:
        world.start()
        world.populate()
        facts = world.facts()
        out.heading("3. A client generated from docs/openapi.yaml (openapi-python-client) reads every route")
        try:
            lines = api_client_check.run(SPEC, world.workdir, world.api.base, world.admin_token, {
                "evm_wallet": world.alice.address, "solana_wallet": str(world.carol.pubkey()),
                "paid_invoice": world.invoice_of["alice"], "waiting_invoice": world.invoice_of["bob"]})
            out.line("client", f"generated without warnings; {len(lines)} calls parsed into the documented models")
        except api_client_check.ClientCheckError as error:
            client_failed = str(error)
            out.line("FAILED", f"generated client: {error}")
        out.heading("4. schemathesis against docs/openapi.yaml")
        tokens = {"admin": world.admin_token, "read": world.read_token, "none": None}
        for label in [name.strip() for name in args.tokens.split(",") if name.strip()]:
            run = Run(label, tokens[label], world, args, out)
            out.line("fuzz", f"token {label}: schemathesis run ({args.examples} examples per operation, seed {args.seed}, checks {', '.join(CHECKS)})")
            summary = run.execute(facts)
            results.append(summary)
            # The daemon must have survived the run and still answer.
            world.check_alive()
            status, _ = world.wait_for_health(10)
            out.line("fuzz", f"token {label}: {summary['operations']} operations, {summary['cases']} test cases, {summary['requests']} requests, "
                             f"{summary['failures']} failures, {summary['errors']} errors, {summary['seconds']:.0f} s; "
                             f"settled alive, /healthz {status}")
            if summary["exit"] != 0 or summary["failures"] or summary["errors"]:
                failed_runs.append(run)
                for group in summary["groups"]:
                    out.line("FAILED", f"token {label}: {group.get('title')} x{group.get('count')} in {', '.join(group.get('operations') or [])}")
                for title in summary["error_titles"]:
                    out.line("FAILED", f"token {label}: error: {title}")
        out.heading("5. settled after the fuzzing")
        world.check_alive()
        status, health = world.wait_for_health(10)
        out.line("settled", f"still running; GET /healthz {status} ({health.get('status')})")
        world.stop_settled()
        result = 1 if failed_runs or client_failed else 0
    except (DemoError, subprocess.TimeoutExpired) as error:
        out.line("FAILED", str(error))
    except Exception:
        out.line("FAILED", "unexpected error in the fuzz driver:\n" + traceback.format_exc().rstrip())
    except KeyboardInterrupt as interrupt:
        out.line("FAILED", f"interrupted ({interrupt.args[0] if interrupt.args else 'SIGINT'})")
        result = 130
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for run in failed_runs:
            out.plain(f"--- schemathesis, token {run.label} ({run.log.name}) ---\n{run.failures_text()}\n---")
        if result != 0 and world.settled.process is not None and world.settled.process.returncode not in (None, 0):
            out.plain(f"--- last 60 lines of {world.settled.log} ---\n{demo.tail(world.settled.log, 60)}\n---")
        world.close()
    out.heading("Summary")
    out.plain(f"    {'token':<6} {'operations':>10} {'test cases':>10} {'requests':>9} {'failures':>9} {'errors':>7} {'seconds':>8}")
    for summary in results:
        out.plain(f"    {summary['token']:<6} {summary['operations']:>10} {summary['cases']:>10} {summary['requests']:>9} "
                  f"{summary['failures']:>9} {summary['errors']:>7} {summary['seconds']:>8.0f}")
    out.line("ok" if result == 0 else "FAILED", f"api fuzz {'passed' if result == 0 else 'failed'} in {time.monotonic() - out.start:.0f} s")
    return result


if __name__ == "__main__":
    sys.exit(main())
