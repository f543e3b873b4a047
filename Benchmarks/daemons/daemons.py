#!/usr/bin/env python3
"""Settled charges per minute with one `settled serve` and with three on one PostgreSQL database (issue 15).

Run by Benchmarks/daemons/run.sh, which builds settled (release) and passes --settled. For each daemon count (default
1 then 3), from scratch: a fresh py-evm devnet (Tests/Peers/evm_devnet.py) with a 6-decimal token, --payers payers
funded and approving the merchant's spender; a fresh localstripe (Tests/Peers/stripe_peer.py); a fresh database on one
throwaway PostgreSQL 15 cluster (Tests/Peers/postgres_peer.py); the daemons started on one settle.toml, each with its
own listen port, and waited for (/healthz). Then --invoices open send_invoice invoices (each a different amount, so
every transfer names its invoice) all due at one instant T0, a little after the last is created; Settle takes them on
by polling Stripe. Blocks are mined every --mine-ms so transfers reach their 2 confirmations.

Measured: T0 to the moment the last invoice reads `paid` in Stripe (polled every 0.5 s). Charges per minute = invoices
paid / that time. Also shown: when the first and the last transfer were mined (the devnet's logs, polled alongside),
which splits the time into signing and sending versus confirming and reporting to Stripe. The verdict comes from outside Settle: every invoice `paid` in Stripe, and the token's Transfer logs
to the treasury on the devnet exactly the invoices' amounts, one each. Which daemon held which lease (index, settle,
stripe) is sampled from the `leases` table every second, to show who did the work.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from eth_utils import to_checksum_address

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / "Tests" / "Peers"
DECIMALS = 6
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # everything is on 127.0.0.1


class BenchFailure(Exception):
    pass


def say(text: str) -> None:
    print(text, flush=True)


def http(method: str, url: str, form=None, body=None, headers=None, timeout=30.0):
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
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
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Peer:
    """A Tests/Peers script in this Python; its first stdout line is `PORT n`."""

    def __init__(self, name: str, script: str, workdir: Path, *args):
        self.name = name
        out, self.log = workdir / f"{name}.out", workdir / f"{name}.log"
        with open(out, "wb") as stdout, open(self.log, "wb") as stderr:
            self.process = subprocess.Popen([sys.executable, "-u", str(PEERS / script), *args], stdin=subprocess.DEVNULL,
                                            stdout=stdout, stderr=stderr, start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            first, newline, _ = out.read_text(errors="replace").partition("\n")
            if newline and first.startswith("PORT "):
                self.port = int(first.split()[1])
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise BenchFailure(f"{name} did not start: {self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


class RPC:
    def __init__(self, url: str):
        self.url, self.next_id, self.lock = url, 0, threading.Lock()

    def __call__(self, method: str, *params):
        with self.lock:
            self.next_id += 1
            ident = self.next_id
        status, body = http("POST", self.url, body={"jsonrpc": "2.0", "id": ident, "method": method, "params": list(params)})
        if status != 200 or not isinstance(body, dict) or "error" in body:
            raise BenchFailure(f"devnet {method}: {status} {body}")
        return body["result"]


class Stripe:
    def __init__(self, url: str, key: str):
        self.url, self.key = url, key

    def call(self, method: str, path: str, params: dict = None):
        pairs = []
        for name, value in (params or {}).items():
            if isinstance(value, dict):
                pairs += [(f"{name}[{k}]", str(v)) for k, v in value.items()]
            else:
                pairs.append((name, "true" if value is True else "false" if value is False else str(value)))
        status, body = http(method, self.url + path, form=pairs if method == "POST" else None,
                            headers={"Authorization": f"Bearer {self.key}"})
        if not 200 <= status < 300:
            raise BenchFailure(f"Stripe {method} {path}: {status} {body}")
        return body

    def paid(self) -> dict:
        """Every paid invoice: id -> paid_at (Stripe's status_transitions, seconds)."""
        found, after = {}, None
        while True:
            query = {"status": "paid", "limit": 100, **({"starting_after": after} if after else {})}
            page = self.call("GET", "/v1/invoices?" + urllib.parse.urlencode(query))
            for invoice in page["data"]:
                found[invoice["id"]] = (invoice.get("status_transitions") or {}).get("paid_at")
            if not page.get("has_more") or not page["data"]:
                return found
            after = page["data"][-1]["id"]


class Postgres:
    """The throwaway cluster, reached with psql (trust authentication, superuser settle)."""

    def __init__(self, port: int):
        self.port = port

    def sql(self, database: str, statement: str) -> str:
        result = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", str(self.port), "-U", "settle", "-d", database,
                                 "-c", statement], capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise BenchFailure(f"psql {statement!r}: {result.stderr.strip()}")
        return result.stdout


class Miner(threading.Thread):
    """An empty block every `seconds`, so transfers gather their confirmations (the devnet mines only on a transaction)."""

    def __init__(self, rpc: RPC, seconds: float):
        super().__init__(daemon=True)
        self.rpc, self.seconds, self.halt = RPC(rpc.url), seconds, threading.Event()

    def run(self):
        while not self.halt.wait(self.seconds):
            try:
                self.rpc("evm_mine")
            except (BenchFailure, OSError):
                pass


class LeaseWatch(threading.Thread):
    """Samples the leases table every second: lease name -> {holder pid: seconds held}."""

    def __init__(self, postgres: Postgres, database: str):
        super().__init__(daemon=True)
        self.postgres, self.database, self.halt = postgres, database, threading.Event()
        self.held = {}

    def run(self):
        while not self.halt.wait(1.0):
            try:
                rows = self.postgres.sql(self.database, "SELECT name, holder FROM leases WHERE holder <> ''")
            except (BenchFailure, subprocess.TimeoutExpired):
                continue
            for line in rows.splitlines():
                name, _, holder = line.partition("|")
                parts = holder.split("#")
                pid = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else holder
                per = self.held.setdefault(name, {})
                per[pid] = per.get(pid, 0) + 1


def run_once(args, daemons: int, postgres: Postgres, workdir: Path) -> dict:
    """One measurement with `daemons` daemons, everything fresh. Returns the figures."""
    work = workdir / f"daemons-{daemons}"
    work.mkdir()
    peers, processes, miner, watch = [], [], None, None
    try:
        devnet_peer = Peer("devnet", "evm_devnet.py", work)
        peers.append(devnet_peer)
        stripe_peer = Peer("stripe", "stripe_peer.py", work)
        peers.append(stripe_peer)
        rpc = RPC(devnet_peer.url)
        chain_id = int(rpc("eth_chainId"), 16)
        accounts = [(to_checksum_address(a["address"]), a["privateKey"]) for a in rpc("settle_accounts")]
        # Prefunded accounts: 0 deploys the token, 1..payers pay, 7 is the merchant's spender, 8 the treasury.
        spender, spender_key = accounts[7]
        treasury = accounts[8][0]
        payers = [address for address, _ in accounts[1:1 + args.payers]]
        token = to_checksum_address(rpc("settle_deployToken", {"name": "USD Coin (bench)", "symbol": "USDC", "decimals": DECIMALS}))
        for index, payer in enumerate(payers, start=1):
            rpc("settle_mint", {"token": token, "to": payer, "amount": str(10 ** 15)})
            rpc("settle_tokenCall", {"token": token, "function": "approve(address,uint256)", "args": [spender, str(10 ** 15)], "from": index})

        database = f"settle_daemons_{daemons}_{os.getpid()}"
        postgres.sql("postgres", f"CREATE DATABASE {database}")
        chains = work / "chains"
        chains.mkdir()
        key_file = work / "spender.key"
        key_file.write_text(spender_key)
        key_file.chmod(0o600)
        stripe_key_file = work / "stripe.key"
        stripe_key = f"sk_test_bench_{os.getpid()}"
        stripe_key_file.write_text(stripe_key)
        stripe_key_file.chmod(0o600)
        (chains / "devnet.toml").write_text(f"""\
family = "evm"
chain_id = {chain_id}
rpc_urls = ["{devnet_peer.url}/"]
block_time_ms = 1000
poll_interval_ms = 100

[finality]
mode = "confirmations"
confirmations = 2
reorg_window = 64

[index]
mode = "scoped"
spenders = ["{spender}"]

[[tokens]]
symbol = "USDC"
address = "{token}"
decimals = {DECIMALS}

[signer]
key = "file:{key_file}"
treasury = "{treasury}"
""")
        config = work / "settle.toml"
        config.write_text(f"""\
chains_directory = "{chains}"
chains = ["devnet"]

[database]
url = "postgres://settle@127.0.0.1:{postgres.port}/{database}?sslmode=disable&pool=4"

[stripe]
api_key = "file:{stripe_key_file}"
base_url = "{stripe_peer.url}"
poll_seconds = 1
warn_ahead = 0

[server]
lease_seconds = {args.lease_seconds}
shutdown_seconds = 10

[log]
format = "json"
""")
        environment = {k: v for k, v in os.environ.items() if not k.startswith("SETTLE_")}
        ports = []
        for slot in range(daemons):
            port = free_port()
            ports.append(port)
            log = open(work / f"settled-{slot}.log", "wb")
            processes.append(subprocess.Popen([args.settled, "serve", "--config", str(config), "--interval", str(args.interval)],
                                              stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                              env={**environment, "SETTLE_LISTEN": f"127.0.0.1:{port}"}, start_new_session=True))
        for slot, port in enumerate(ports):
            deadline = time.monotonic() + 180
            while True:
                if processes[slot].poll() is not None:
                    raise BenchFailure(f"daemon {slot} exited ({processes[slot].returncode}): {(work / f'settled-{slot}.log').read_text()[-3000:]}")
                try:
                    status, _ = http("GET", f"http://127.0.0.1:{port}/healthz", timeout=5)
                    if status in (200, 503):
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise BenchFailure(f"daemon {slot} did not answer /healthz within 180 s")
                time.sleep(0.2)
        pids = {process.pid: slot for slot, process in enumerate(processes)}
        say(f"  {daemons} daemon(s) up (pids {', '.join(str(p) for p in pids)}), devnet {devnet_peer.url}, localstripe {stripe_peer.url}")
        miner = Miner(rpc, args.mine_ms / 1000)
        miner.start()
        watch = LeaseWatch(postgres, database)
        watch.start()

        # The invoices: one customer per payer; every invoice a different amount; all due at T0.
        stripe = Stripe(stripe_peer.url, stripe_key)
        customers = [stripe.call("POST", "/v1/customers", {"email": f"payer{i}@example.com", "metadata": {
            "settle_chain": "devnet", "settle_token": "usdc", "settle_wallet": payer.lower()}})["id"] for i, payer in enumerate(payers)]
        due = int(time.time()) + args.lead_seconds
        expected = {}
        created = time.monotonic()
        for n in range(args.invoices):
            cents = 100 + n
            customer = customers[n % len(customers)]
            stripe.call("POST", "/v1/invoiceitems", {"customer": customer, "amount": cents, "currency": "usd", "description": "Pro plan"})
            invoice = stripe.call("POST", "/v1/invoices", {"customer": customer, "collection_method": "send_invoice", "due_date": due,
                                                             "auto_advance": False})["id"]
            stripe.call("POST", f"/v1/invoices/{invoice}/finalize")
            expected[invoice] = (payers[n % len(payers)], cents * 10 ** (DECIMALS - 2))
        finished_creating = time.time()
        say(f"  {args.invoices} invoices opened in {time.monotonic() - created:.1f} s, all due at T0 = {due} "
            f"({due - finished_creating:+.1f} s from the last one)")
        if finished_creating > due:
            raise BenchFailure(f"creating the invoices took past T0: raise --lead-seconds (now {args.lead_seconds})")
        while time.time() < due:
            time.sleep(0.05)
        t0 = float(due)
        paid, last_report, observed_last = {}, time.monotonic(), None
        first_transfer = last_transfer = None
        deadline = time.monotonic() + args.timeout
        transfer_filter = {"fromBlock": "0x0", "toBlock": "latest", "address": token,
                           "topics": [TRANSFER_TOPIC, None, "0x" + "0" * 24 + treasury[2:].lower()]}
        while True:
            for slot, process in enumerate(processes):
                if process.poll() is not None:
                    raise BenchFailure(f"daemon {slot} exited ({process.returncode}) during the run")
            if last_transfer is None:  # where the chain stands: the first and the last transfer mined
                mined = len(rpc("eth_getLogs", transfer_filter))
                if mined and first_transfer is None:
                    first_transfer = time.time()
                if mined == len(expected):
                    last_transfer = time.time()
            paid = {i: at for i, at in stripe.paid().items() if i in expected}
            if len(paid) == len(expected):
                observed_last = time.time()
                break
            if time.monotonic() - last_report >= 10:
                say(f"    {time.time() - t0:6.1f} s after T0: {len(paid)} / {len(expected)} paid")
                last_report = time.monotonic()
            if time.monotonic() > deadline:
                raise BenchFailure(f"only {len(paid)} of {len(expected)} invoices paid {args.timeout} s after T0")
            time.sleep(0.5)
        watch.halt.set()
        miner.halt.set()

        # The verdict from the chain: one Transfer of each invoice's exact amount from its payer to the treasury.
        logs = rpc("eth_getLogs", transfer_filter)
        transfers = sorted((to_checksum_address("0x" + log["topics"][1][-40:]), int(log["data"], 16)) for log in logs)
        wanted = sorted(expected.values())
        if transfers != wanted:
            raise BenchFailure(f"the treasury's Transfer logs ({len(transfers)}) are not one per invoice ({len(wanted)}) with its amount")
        seconds = observed_last - t0
        paid_at = [at for at in paid.values() if at is not None]
        stripe_seconds = (max(paid_at) - t0) if paid_at else None
        leases = {name: {(f"daemon {pids[pid]}" if pid in pids else str(pid)): held for pid, held in holders.items()}
                  for name, holders in sorted(watch.held.items())}
        return {"daemons": daemons, "invoices": len(expected), "seconds": seconds, "per_minute": len(expected) / seconds * 60,
                "stripe_seconds": stripe_seconds, "transfers": len(transfers), "leases": leases,
                "first_transfer": first_transfer - t0 if first_transfer else None,
                "last_transfer": (last_transfer or observed_last) - t0}
    finally:
        if watch:
            watch.halt.set()
        if miner:
            miner.halt.set()
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for peer in peers:
            peer.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settled", required=True, help="the settled binary (release)")
    parser.add_argument("--invoices", type=int, default=200)
    parser.add_argument("--daemons", default="1,3", help="daemon counts to measure, in order (default 1,3)")
    parser.add_argument("--payers", type=int, default=5, help="payer wallets (devnet accounts 1..N, at most 6)")
    parser.add_argument("--interval", type=float, default=0.25, help="settled serve --interval")
    parser.add_argument("--lease-seconds", type=int, default=15, help="[server] lease_seconds (15 is the default)")
    parser.add_argument("--mine-ms", type=int, default=250, help="an empty block this often")
    parser.add_argument("--lead-seconds", type=int, default=0, help="T0 this long after the invoices start being made (0: from --invoices)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds after T0 before giving up")
    args = parser.parse_args()
    if not 1 <= args.payers <= 6:
        parser.error("--payers must be 1..6")
    if args.lead_seconds == 0:
        args.lead_seconds = 15 + args.invoices // 10
    counts = [int(c) for c in args.daemons.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="settle-bench-daemons-"))
    pg = Peer("postgres", "postgres_peer.py", workdir)
    postgres = Postgres(pg.port)
    results = []
    try:
        for count in counts:
            say(f"== {count} daemon(s), {args.invoices} invoices")
            result = run_once(args, count, postgres, workdir)
            results.append(result)
            stripe_text = f", Stripe's paid_at {result['stripe_seconds']:.0f} s" if result["stripe_seconds"] is not None else ""
            say(f"  {result['invoices']} paid in {result['seconds']:.1f} s after T0{stripe_text}: {result['per_minute']:.1f} charges/min; "
                f"{result['transfers']} transfers on chain, one per invoice, exact amounts")
            first = f"{result['first_transfer']:.1f}" if result["first_transfer"] is not None else "?"
            say(f"    on chain: first transfer mined {first} s after T0, the last {result['last_transfer']:.1f} s after T0 "
                f"(polled about every 0.5 s)")
            for name, holders in result["leases"].items():
                say(f"    lease '{name}' held (seconds sampled): " + ", ".join(f"{who} {held}" for who, held in sorted(holders.items())))
    except BenchFailure as failure:
        say(f"FAILED: {failure}\n(logs kept in {workdir})")
        pg.stop()
        return 1
    pg.stop()
    say("")
    say(f"Settled charges per minute, {args.invoices} invoices due at once (T0 to the last `paid` in Stripe):")
    for result in results:
        say(f"  {result['daemons']} daemon(s): {result['per_minute']:8.1f} charges/min  ({result['seconds']:.1f} s)")
    if len(results) >= 2:
        base = results[0]
        for result in results[1:]:
            say(f"  {result['daemons']} daemons ÷ {base['daemons']}: {result['per_minute'] / base['per_minute']:.2f}x")
    subprocess.run(["rm", "-rf", str(workdir)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
