#!/usr/bin/env python3
"""The Solana indexer a user might write first with the reference Python library (solders 0.29, the types solana-py
is built on; httpx for the JSON-RPC calls; sqlite3), over the same history `settle-bench solana-index` made:

    naive_solana.py --url URL --account TOKEN_ACCOUNT [--database PATH]

(b) A pass: getSignaturesForAddress pages (1,000 a page, `before` the oldest seen) for the token account, then one
getTransaction (base64) per signature, one at a time; each parsed by solders (GetTransactionResp.from_json), its
SPL Token instructions decoded (Approve, Revoke, Transfer, TransferChecked, with their amounts), and the events
written to sqlite3 with the transaction (one commit per page). Prints transactions/s and RPC calls per transaction.
(a) Decode and decode+index of the same getTransaction bodies, recorded during the pass: solders' parse and the
instruction decoding alone, then with the sqlite3 writes (one commit), as settle-bench's (a) measures Settle.
"""
import argparse
import json
import os
import sqlite3
import struct
import time

import httpx
from solders.pubkey import Pubkey
from solders.rpc.responses import GetSignaturesForAddressResp, GetTransactionResp

TOKEN_PROGRAMS = {
    Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"),
    Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"),
}
KINDS = {3: "transfer", 4: "approve", 5: "revoke", 12: "transfer_checked"}


class RPC:
    def __init__(self, url):
        self.url = url
        self.client = httpx.Client(timeout=60)
        self.calls = 0
        self.next_id = 1

    def raw(self, method, params):
        self.calls += 1
        self.next_id += 1
        response = self.client.post(self.url, json={"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        response.raise_for_status()
        return response.text


def events_of(body):
    """(signature, slot, events) of one getTransaction body, decoded with solders."""
    value = GetTransactionResp.from_json(body).value
    if value is None:
        return None
    transaction = value.transaction.transaction
    message = transaction.message
    keys = message.account_keys
    events = []
    for instruction in message.instructions:
        if keys[instruction.program_id_index] not in TOKEN_PROGRAMS or not instruction.data:
            continue
        data = bytes(instruction.data)
        kind = KINDS.get(data[0])
        if kind is None:
            continue
        accounts = [str(keys[i]) for i in instruction.accounts]
        amount = struct.unpack_from("<Q", data, 1)[0] if kind != "revoke" and len(data) >= 9 else 0
        events.append((kind, accounts[0], accounts[1] if len(accounts) > 1 else "", amount))
    return str(transaction.signatures[0]), value.slot, events


def open_database(path):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE transactions (signature TEXT PRIMARY KEY, slot INTEGER)")
    db.execute("CREATE TABLE events (signature TEXT, position INTEGER, kind TEXT, account TEXT, other TEXT, amount TEXT, "
               "PRIMARY KEY (signature, position))")
    db.execute("CREATE INDEX events_by_account ON events (account, kind)")
    return db


def write(db, decoded):
    db.executemany("INSERT OR IGNORE INTO transactions VALUES (?, ?)", [(s, slot) for s, slot, _ in decoded])
    db.executemany("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?)",
                   [(s, i, kind, account, other, str(amount)) for s, _, events in decoded
                    for i, (kind, account, other, amount) in enumerate(events)])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--account", required=True, help="the token account whose history to index")
    parser.add_argument("--database", default="/tmp/naive-solana.sqlite")
    args = parser.parse_args()
    rpc = RPC(args.url)

    # (b) The pass.
    db = open_database(args.database)
    bodies = []
    started = time.monotonic()
    before = None
    indexed = 0
    while True:
        options = {"limit": 1000, "commitment": "confirmed"}
        if before:
            options["before"] = before
        page = GetSignaturesForAddressResp.from_json(rpc.raw("getSignaturesForAddress", [args.account, options])).value
        if not page:
            break
        decoded = []
        for entry in page:
            body = rpc.raw("getTransaction", [str(entry.signature), {"encoding": "base64", "commitment": "confirmed",
                                                                      "maxSupportedTransactionVersion": 0}])
            bodies.append(body)
            result = events_of(body)
            if result:
                decoded.append(result)
        with db:
            write(db, decoded)
        indexed += len(decoded)
        before = str(page[-1].signature)
    seconds = time.monotonic() - started
    events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    print(f"(b) naive Python pass (solders + httpx + sqlite3): {indexed} transactions in {seconds:.2f} s = "
          f"{indexed / seconds:.0f} tx/s, {rpc.calls} RPC calls = {rpc.calls / max(1, indexed):.2f} per indexed transaction "
          f"({events} events)")

    # (a) The same bodies, decoded, then decoded and written.
    started = time.monotonic()
    decoded = [r for r in (events_of(body) for body in bodies) if r]
    decode_seconds = time.monotonic() - started
    db = open_database(args.database)
    started = time.monotonic()
    with db:
        write(db, decoded)
    write_seconds = time.monotonic() - started
    megabytes = sum(len(b) for b in bodies) / 1e6
    print(f"(a) naive Python, {len(bodies)} getTransaction responses ({megabytes:.1f} MB): decode {len(bodies) / decode_seconds:.0f} tx/s, "
          f"decode+index {len(bodies) / (decode_seconds + write_seconds):.0f} tx/s")
    print(json.dumps({"pass_tps": indexed / seconds, "calls_per_tx": rpc.calls / max(1, indexed),
                      "decode_tps": len(bodies) / decode_seconds,
                      "decode_index_tps": len(bodies) / (decode_seconds + write_seconds)}))


if __name__ == "__main__":
    main()
