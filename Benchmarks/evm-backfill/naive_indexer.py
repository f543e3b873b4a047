#!/usr/bin/env python3
"""The indexer a user might write first: requests + json + sqlite3, 100-block eth_getLogs ranges, one transaction per
range, rows with the same shape and indexes as Settle's (block, log index, time, tx hash, token, from, to, value).

    python naive_indexer.py --url URL --blocks N --database PATH
"""
import argparse
import os
import sqlite3
import time

import requests

TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
APPROVAL = "0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--blocks", type=int, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--range", type=int, default=100)
    args = parser.parse_args()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(args.database + suffix):
            os.remove(args.database + suffix)
    db = sqlite3.connect(args.database)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("""CREATE TABLE events (block INTEGER, log_index INTEGER, block_time INTEGER, tx_hash BLOB, kind INTEGER,
                  token BLOB, a BLOB, b BLOB, value BLOB, PRIMARY KEY (block, log_index))""")
    db.execute("CREATE INDEX events_a ON events (a, token, block)")
    db.execute("CREATE INDEX events_b ON events (b, token, block)")
    session = requests.Session()
    started = time.time()
    rows = 0
    for start in range(0, args.blocks, args.range):
        end = min(args.blocks, start + args.range) - 1
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs",
                "params": [{"fromBlock": hex(start), "toBlock": hex(end), "topics": [[TRANSFER, APPROVAL]]}]}
        logs = session.post(args.url, json=body, timeout=120).json()["result"]
        batch = [(int(l["blockNumber"], 16), int(l["logIndex"], 16), int(l.get("blockTimestamp", "0x0"), 16),
                  bytes.fromhex(l["transactionHash"][2:]), 0 if l["topics"][0] == TRANSFER else 1,
                  bytes.fromhex(l["address"][2:]), bytes.fromhex(l["topics"][1][26:]), bytes.fromhex(l["topics"][2][26:]),
                  bytes.fromhex(l["data"][2:])) for l in logs]
        with db:
            db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?)", batch)
        rows += len(batch)
    elapsed = time.time() - started
    print(f"naive Python (requests+sqlite3, indexed): {rows} logs in {elapsed:.2f} s = {rows / elapsed:.0f} logs/s")


if __name__ == "__main__":
    main()
