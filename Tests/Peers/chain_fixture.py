#!/usr/bin/env python3
"""A synthetic ERC-20 chain behind a JSON-RPC server on 127.0.0.1, for the backfill benchmark.

    python chain_fixture.py --blocks 10000 --logs-per-block 100 [--tokens 5] [--owners 50000] [--seed 1]

The chain is deterministic from its seed: consistent headers (hash, parentHash chaining, increasing timestamps),
logs with real ABI encoding (Transfer/Approval topics, zero-padded address topics, one uint256 data word), several
tokens, many owners, per-block logIndex, transactions of one or two logs. Answers eth_chainId, net_version,
eth_blockNumber, eth_getBlockByNumber (no full transactions), eth_newFilter/eth_getFilterLogs/eth_uninstallFilter
(ethereum-etl's way), eth_getLogs (address and topic filters, block range or blockHash) with real providers' cap,
fixture_summary (counts of logs by kind, the token addresses) and fixture_stats (requests served, the most in flight
at once, 429s sent; fixture_configure {"latency_ms"} sets the delay and answers the same). The cap: more than --max-results logs is error -32005 "query returned more than 10000 results.
Try with this block range [0x.., 0x..]." --latency-ms delays every answer (a remote node); --throttle-above N answers
HTTP 429 with Retry-After to a request that finds more than N in flight (a rate-limited provider). Batches are
supported. Responses for whole blocks are built from pre-rendered JSON fragments, so the server is cheap next to any
client.
"""
import argparse
import hashlib
import json
import os
import random
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peerlib import announce, exit_with_parent  # noqa: E402

TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
APPROVAL = "0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925"


class Chain:
    def __init__(self, blocks, per_block, tokens, owners, seed, chain_id, timestamps):
        rng = random.Random(seed)
        self.chain_id = chain_id
        self.tokens = ["0x" + rng.randbytes(20).hex() for _ in range(tokens)]
        owner_words = ["0x" + "00" * 12 + rng.randbytes(20).hex() for _ in range(owners)]
        self.headers = []      # (hash, parent, timestamp)
        self.logs = []         # per block: list of (token, topic0, topic1, topic2, fragment bytes)
        parent = "0x" + "00" * 32
        genesis_time = 1_700_000_000
        started = time.time()
        for number in range(blocks):
            block_hash = "0x" + hashlib.sha256(f"{seed}:{number}:{parent}".encode()).hexdigest()
            timestamp = genesis_time + 12 * number
            self.headers.append((block_hash, parent, timestamp))
            entries = []
            tx_index = 0
            tx_hash = None
            for log_index in range(per_block):
                if log_index % 2 == 0:
                    tx_hash = "0x" + rng.randbytes(32).hex()
                    tx_index = log_index // 2
                token = self.tokens[rng.randrange(tokens)]
                topic0 = TRANSFER if rng.random() < 0.8 else APPROVAL
                a = owner_words[rng.randrange(owners)]
                b = owner_words[rng.randrange(owners)]
                value = rng.getrandbits(rng.choice([40, 64, 96, 128, 256]))
                fragment = (
                    '{"address":"%s","topics":["%s","%s","%s"],"data":"0x%064x","blockNumber":"%s",'
                    '"transactionHash":"%s","transactionIndex":"%s","blockHash":"%s","logIndex":"%s","removed":false%s}'
                    % (token, topic0, a, b, value, hex(number), tx_hash, hex(tx_index), block_hash, hex(log_index),
                       (',"blockTimestamp":"%s"' % hex(timestamp)) if timestamps else "")
                ).encode()
                entries.append((token, topic0, a, b, fragment))
            self.logs.append(entries)
            parent = block_hash
        self.count = blocks * per_block
        # Every fragment once, each followed by a comma, in chain order; block n's logs are
        # blob[starts[n]:starts[n + 1]] (minus the last comma). An unfiltered range is one slice of it, sent without
        # a copy, so the fixture stays several times faster than any client on the same cores.
        parts = []
        self.starts = [0] * (blocks + 1)
        offset = 0
        for number, entries in enumerate(self.logs):
            self.starts[number] = offset
            for entry in entries:
                parts.append(entry[4])
                parts.append(b",")
                offset += len(entry[4]) + 1
        self.starts[blocks] = offset
        self.blob = memoryview(b"".join(parts))
        self.per_block = per_block
        print(f"fixture: {blocks} blocks, {self.count} logs generated in {time.time() - started:.1f}s", file=sys.stderr)

    def header(self, number):
        block_hash, parent, timestamp = self.headers[number]
        return {
            "number": hex(number), "hash": block_hash, "parentHash": parent, "timestamp": hex(timestamp),
            "transactions": [], "gasUsed": "0x0", "gasLimit": "0x1c9c380", "baseFeePerGas": "0x3b9aca00",
            "miner": "0x" + "00" * 20, "logsBloom": "0x" + "00" * 256,
        }


class RPCError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def quantity(value, head, name):
    if value in (None, "latest", "safe", "finalized", "pending"):
        return head
    if value == "earliest":
        return 0
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RPCError(-32602, f"invalid {name}")
    return int(value, 16)


def lower_list(value):
    if value is None:
        return None
    if isinstance(value, str):
        return {value.lower()}
    return {v.lower() for v in value}


def get_logs(chain, params, max_results):
    (flt,) = params
    head = len(chain.headers) - 1
    if "blockHash" in flt:
        numbers = [n for n, h in enumerate(chain.headers) if h[0] == flt["blockHash"]]
        start = end = numbers[0] if numbers else None
        if start is None:
            return b"[]"
    else:
        start = quantity(flt.get("fromBlock"), head, "fromBlock")
        end = min(quantity(flt.get("toBlock"), head, "toBlock"), head)
    if start > end:
        return b"[]"
    addresses = lower_list(flt.get("address"))
    topics = flt.get("topics") or []
    slots = [lower_list(t) if t is not None else None for t in topics] + [None] * (3 - len(topics))
    if slots[0] is not None and slots[0] >= {TRANSFER, APPROVAL}:
        slots[0] = None  # every log here is a Transfer or an Approval
    unfiltered = (addresses is None or addresses >= set(chain.tokens)) and all(s is None for s in slots[:3])
    if unfiltered:
        count = (end - start + 1) * chain.per_block
        if count > max_results:
            fit = start + max_results // chain.per_block - 1 if max_results >= chain.per_block else start
            raise RPCError(-32005, f"query returned more than {max_results} results. "
                                   f"Try with this block range [{hex(start)}, {hex(max(start, fit))}].")
        a, b = chain.starts[start], chain.starts[end + 1]
        return [b"[", chain.blob[a:b - 1] if b > a else b"", b"]"]
    fragments = []
    for number in range(start, end + 1):
        entries = chain.logs[number]
        if unfiltered:
            fragments.extend(e[4] for e in entries)
        else:
            for token, t0, t1, t2, fragment in entries:
                if addresses is not None and token not in addresses:
                    continue
                if slots[0] is not None and t0 not in slots[0]:
                    continue
                if slots[1] is not None and t1 not in slots[1]:
                    continue
                if slots[2] is not None and t2 not in slots[2]:
                    continue
                fragments.append(fragment)
        if len(fragments) > max_results:
            # Suggest the longest prefix that fits, like Infura does.
            fit = number - 1 if number > start else start
            raise RPCError(-32005, f"query returned more than {max_results} results. "
                                   f"Try with this block range [{hex(start)}, {hex(fit)}].")
    return [b"[" + b",".join(fragments) + b"]"]


FILTERS = {}


def answer(chain, request, max_results):
    rid = json.dumps(request.get("id"))
    method = request.get("method")
    params = request.get("params") or []
    head = len(chain.headers) - 1
    try:
        if method == "eth_getFilterLogs":  # ethereum-etl uses filters instead of eth_getLogs
            if params[0] not in FILTERS:
                raise RPCError(-32000, "filter not found")
            method, params = "eth_getLogs", [FILTERS[params[0]]]
        if method == "eth_getLogs":
            return [b'{"jsonrpc":"2.0","id":' + rid.encode() + b',"result":'] + get_logs(chain, params, max_results) + [b"}"]
        if method == "eth_chainId":
            result = hex(chain.chain_id)
        elif method == "net_version":
            result = str(chain.chain_id)
        elif method == "eth_blockNumber":
            result = hex(head)
        elif method == "eth_getBlockByNumber":
            number = quantity(params[0], head, "block")
            result = chain.header(number) if number <= head else None
        elif method == "eth_newFilter":
            result = hex(len(FILTERS) + 1)
            FILTERS[result] = params[0]
        elif method == "eth_uninstallFilter":
            result = FILTERS.pop(params[0], None) is not None
        elif method == "fixture_summary":
            transfers = sum(1 for block in chain.logs for e in block if e[1] == TRANSFER)
            result = {"logs": chain.count, "transfers": transfers, "approvals": chain.count - transfers,
                      "blocks": len(chain.headers), "tokens": chain.tokens}
        elif method == "eth_getBlockByHash":
            numbers = [n for n, h in enumerate(chain.headers) if h[0] == params[0]]
            result = chain.header(numbers[0]) if numbers else None
        else:
            raise RPCError(-32601, f"the method {method} does not exist/is not available")
        return json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "result": result}).encode()
    except RPCError as error:
        return json.dumps({"jsonrpc": "2.0", "id": request.get("id"),
                           "error": {"code": error.code, "message": error.message}}).encode()


class Stats:
    """Requests served, the most in flight at once, and the 429s sent (`fixture_stats`)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.throttled = 0

    def enter(self):
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return self.in_flight

    def leave(self):
        with self.lock:
            self.in_flight -= 1

    def snapshot(self):
        with self.lock:
            return {"requests": self.requests, "max_in_flight": self.max_in_flight, "throttled": self.throttled}


def parts(answer):
    """An answer as a list of byte strings (eth_getLogs answers are slices of the chain's blob, not copied)."""
    return answer if isinstance(answer, list) else [answer]


def make_handler(chain, max_results, latency, throttle_above, stats):
    settings = {"latency": latency}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            request = json.loads(raw)
            if isinstance(request, dict) and request.get("method") in ("fixture_stats", "fixture_configure"):
                if request["method"] == "fixture_configure":  # {"latency_ms": n}: a benchmark moves to another cell
                    settings["latency"] = float((request.get("params") or [{}])[0].get("latency_ms", 0)) / 1000
                body = json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "result": stats.snapshot()}).encode()
                self.reply(200, body)
                return
            in_flight = stats.enter()
            try:
                if settings["latency"]:
                    time.sleep(settings["latency"])  # a remote node: every answer waits a round trip (the GIL is free meanwhile)
                if throttle_above and in_flight > throttle_above:
                    with stats.lock:
                        stats.throttled += 1
                    self.reply(429, b'{"error":"too many requests"}', retry_after="0.05")
                    return
                if isinstance(request, list):
                    body = b"[" + b",".join(b"".join(parts(answer(chain, r, max_results))) for r in request) + b"]"
                    self.reply(200, body)
                else:
                    self.reply(200, *parts(answer(chain, request, max_results)))
            finally:
                stats.leave()

        def reply(self, status, *body, retry_after=None):
            self.send_response(status)
            if retry_after:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(sum(len(part) for part in body)))
            self.end_headers()
            for part in body:
                self.wfile.write(part)

    return Handler


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--logs-per-block", type=int, default=100)
    parser.add_argument("--tokens", type=int, default=5)
    parser.add_argument("--owners", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chain-id", type=int, default=1)
    parser.add_argument("--max-results", type=int, default=10_000)
    parser.add_argument("--no-log-timestamps", action="store_true", help="omit blockTimestamp from logs")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tokens-out", help="write the token addresses here, one per line")
    parser.add_argument("--latency-ms", type=float, default=0, help="wait this long before every answer (a remote node)")
    parser.add_argument("--throttle-above", type=int, default=0,
                        help="answer HTTP 429 (Retry-After: 0.05) to a request that finds more than this many in flight")
    args = parser.parse_args()
    exit_with_parent()
    chain = Chain(args.blocks, args.logs_per_block, args.tokens, args.owners, args.seed, args.chain_id,
                  not args.no_log_timestamps)
    if args.tokens_out:
        with open(args.tokens_out, "w") as f:
            f.write("\n".join(chain.tokens) + "\n")
    server = Server(("127.0.0.1", args.port),
                    make_handler(chain, args.max_results, args.latency_ms / 1000, args.throttle_above, Stats()))
    announce(server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
