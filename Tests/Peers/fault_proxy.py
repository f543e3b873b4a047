#!/usr/bin/env python3
"""A JSON-RPC proxy that injects the faults a real node cannot be made to produce. A hand-written fake, on purpose.

    python fault_proxy.py --upstream http://127.0.0.1:PORT/

Every POST is forwarded to the upstream unless a fault is armed. Arm one with
    POST /_fault  {"mode": MODE, "count": N, "method": "eth_getLogs"?, ...}
where `count` is how many matching requests it hits (default 1; -1 = until cleared), `method` limits it to
requests whose (first) method matches (`methods`, a list, to any of several), and `skip` lets that many matching
requests through first. POST /_fault {"mode": "none"} clears. GET /_stats returns counters.
Several faults at once: POST /_fault [FAULT, FAULT, ...] (replaces what was armed); each request takes the first
armed fault that matches it. The modes null_statuses, fail_status and short_history match only the methods they
rewrite unless `method`/`methods` says otherwise, so they combine with each other and with a send fault.

Modes:
  timeout       sleep `seconds` (default 30) before answering, so the client times out
  status        answer HTTP `status` (default 503) with an optional `retry_after` header
  malformed     HTTP 200 with a body that is not JSON
  truncated     declare a longer Content-Length than sent, then close
  wrong_chain   forward, but rewrite eth_chainId's result to `chain_id` (default 0x2105)
  lag           forward, but eth_blockNumber answers `blocks` (default 5) less than the upstream
  bad_parent    forward, but blocks from eth_getBlockByNumber get a wrong parentHash
  bad_log_hash  forward, but logs from eth_getLogs get a wrong blockHash
  drop_logs     forward, but eth_getLogs drops its last log
  null_result   forward, but the (matching) method's result becomes null (a node missing a transaction)
  swallow       answer eth_sendRawTransaction with the transaction's hash as if accepted, without forwarding it
  delay         forward after sleeping `seconds` (a node across a network; makes a local backfill last long enough
                for a crash test to land its kills mid-way)
  ack_lost      forward the request (the node really accepts it), then answer HTTP `status` (default 503) instead of
                the upstream's answer: an acknowledgement lost after forwarding (load balancer, timeout)
  underpriced   answer the JSON-RPC error {"code": -32000, "message": "replacement transaction underpriced"}
                (`message` overrides the text); with "forward": true the request is forwarded first, so the node
                holds the transaction while the client is told it was refused (another endpoint's answer)
  null_statuses forward, but every entry of getSignatureStatuses' result.value becomes null (a node without the
                signature in its status cache or history)
  fail_status   forward, but every non-null getSignatureStatuses entry gets
                "err": {"InstructionError": [2, {"Custom": 1}]} and confirmationStatus "confirmed" (a lying or
                forked node reporting a failure that is not final)
  short_history forward, but minimumLedgerSlot and getFirstAvailableBlock answer `slot` (default 2^40): a node
                whose ledger does not reach back to old transactions
  replace       forward, but put the JSON text `raw` (written as it is: 18446744073709551616, 1e400, -1, "0x" + 65
                f's, what Python's json would not write) in place of the answer's `result`, or with `key`, of every
                member named `key` inside it at any depth; `members` ({KEY: RAW, ...}) does several keys at once.
                A GET (a Stripe object) has no `result`: the whole body, or its members named so; `path` limits the
                fault to request paths starting with it
"""
import argparse
import json
import os
import socketserver
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peerlib import announce, exit_with_parent  # noqa: E402

LOCK = threading.Lock()
FAULTS = []  # armed faults, each a dict as posted to /_fault; the first that matches a request takes it
STATS = {"forwarded": 0, "faulted": 0}
UPSTREAM = ""
WRONG = "0x" + "ee" * 32
# Methods the newer rewrite modes apply to when the fault names none (so they combine with other faults).
MODE_METHODS = {
    "null_statuses": ("getSignatureStatuses",),
    "fail_status": ("getSignatureStatuses",),
    "short_history": ("minimumLedgerSlot", "getFirstAvailableBlock"),
}
FAILED = {"InstructionError": [2, {"Custom": 1}]}


def first_method(request):
    if isinstance(request, list):
        return request[0].get("method") if request and isinstance(request[0], dict) else None
    return request.get("method") if isinstance(request, dict) else None


def take_fault(method, path=None):
    with LOCK:
        for fault in FAULTS:
            mode = fault.get("mode", "none")
            if mode == "none":
                continue
            if fault.get("path") and not (path or "").startswith(fault["path"]):
                continue
            wanted = fault.get("methods") or ([fault["method"]] if fault.get("method") else None) or MODE_METHODS.get(mode)
            if wanted and method not in wanted:
                continue
            if fault.get("skip", 0) > 0:  # let this many matching requests through first
                fault["skip"] -= 1
                return None
            count = fault.get("count", 1)
            if count == 0:
                continue
            if count > 0:
                fault["count"] = count - 1
            STATS["faulted"] += 1
            return dict(fault)
        return None


RAW = "__settle_fault_proxy_raw__"  # stands for `raw` (or a member's raw text) until the answer is serialized


def replacements(fault):
    """The replace mode's member names and raw texts (empty: the whole result)."""
    members = dict(fault.get("members") or {})
    if fault.get("key"):
        members[fault["key"]] = fault.get("raw", "null")
    return members


def put_raw(value, members):
    """Replaces every member named in `members` inside `value` with its marker; returns how many."""
    count = 0
    if isinstance(value, dict):
        for name in value:
            if name in members:
                value[name] = RAW + name
                count += 1
            else:
                count += put_raw(value[name], members)
    elif isinstance(value, list):
        for item in value:
            count += put_raw(item, members)
    return count


def serialize(answer, fault):
    """The answer's JSON text, with the raw texts written where the replace mode put its markers."""
    text = json.dumps(answer)
    if fault and fault.get("mode") == "replace":
        for name, raw in replacements(fault).items():
            text = text.replace(json.dumps(RAW + name), str(raw))
        text = text.replace(json.dumps(RAW), str(fault.get("raw", "null")))
    return text.encode()


def rewrite(answer, request, fault):
    mode = fault["mode"]
    if mode == "replace" and request is None:  # a GET: the body is the object
        if replacements(fault):
            put_raw(answer, replacements(fault))
            return answer
        return RAW
    pairs = zip(request, answer) if isinstance(request, list) else [(request, answer)]
    for req, ans in pairs:
        if not isinstance(ans, dict) or "result" not in ans:
            continue
        method = req.get("method")
        result = ans["result"]
        if mode == "null_result":
            ans["result"] = None
            continue
        if mode == "replace":
            if replacements(fault):
                put_raw(result, replacements(fault))
            else:
                ans["result"] = RAW
            continue
        if mode == "wrong_chain" and method == "eth_chainId":
            ans["result"] = fault.get("chain_id", "0x2105")
        elif mode == "lag" and method == "eth_blockNumber":
            ans["result"] = hex(max(0, int(result, 16) - int(fault.get("blocks", 5))))
        elif mode == "bad_parent" and method == "eth_getBlockByNumber" and isinstance(result, dict):
            result["parentHash"] = WRONG
        elif mode == "bad_log_hash" and method == "eth_getLogs" and isinstance(result, list):
            for log in result:
                log["blockHash"] = WRONG
        elif mode == "drop_logs" and method == "eth_getLogs" and isinstance(result, list) and result:
            result.pop()
        elif mode == "null_statuses" and method == "getSignatureStatuses" and isinstance(result, dict) \
                and isinstance(result.get("value"), list):
            result["value"] = [None for _ in result["value"]]
        elif mode == "fail_status" and method == "getSignatureStatuses" and isinstance(result, dict) \
                and isinstance(result.get("value"), list):
            for entry in result["value"]:
                if isinstance(entry, dict):
                    entry["err"] = FAILED
                    entry["status"] = {"Err": FAILED}
                    entry["confirmationStatus"] = "confirmed"
                    if entry.get("confirmations") is None:
                        entry["confirmations"] = 1
        elif mode == "short_history" and method in ("minimumLedgerSlot", "getFirstAvailableBlock"):
            ans["result"] = int(fault.get("slot", 1 << 40))
    return answer


def rpc_error(request, code, message):
    """A JSON-RPC error answer to `request` (one per entry of a batch)."""
    def one(req):
        rid = req.get("id") if isinstance(req, dict) else None
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}
    return [one(req) for req in request] if isinstance(request, list) else one(request)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def send(self, code, body, headers=()):
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_stats":
            with LOCK:
                return self.send(200, json.dumps(STATS).encode())
        fault = take_fault(None, self.path)
        if fault and fault["mode"] == "status":
            headers = [("Retry-After", str(fault["retry_after"]))] if "retry_after" in fault else []
            return self.send(int(fault.get("status", 503)), b"fault", headers)
        status, body, content_type = self.forward(None)
        if fault and fault["mode"] == "replace" and status == 200:
            body = serialize(rewrite(json.loads(body), None, fault), fault)
        self.send(status, body, [("Content-Type", content_type)])

    def forward(self, raw):
        """Relays the request (path, method, the headers that matter) upstream; returns its status, body and type."""
        target = UPSTREAM.rstrip("/") + (self.path if self.path != "/" else "/")
        headers = {name: self.headers[name] for name in ("Authorization", "Content-Type", "Idempotency-Key", "Stripe-Version", "Accept")
                   if self.headers.get(name)}
        headers.setdefault("Content-Type", "application/json")
        upstream = urllib.request.Request(target, data=raw, headers=headers, method=self.command)
        try:
            with urllib.request.urlopen(upstream, timeout=60) as response:
                body, status, content_type = response.read(), response.status, response.headers.get("Content-Type", "application/json")
        except urllib.error.HTTPError as error:
            body, status, content_type = error.read(), error.code, error.headers.get("Content-Type", "application/json")
        with LOCK:
            STATS["forwarded"] += 1
        return status, body, content_type

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/_fault":
            posted = json.loads(raw)
            with LOCK:
                FAULTS.clear()
                FAULTS.extend(f for f in (posted if isinstance(posted, list) else [posted])
                              if isinstance(f, dict) and f.get("mode", "none") != "none")
            return self.send(200, b"{}")
        try:
            request = json.loads(raw)
        except ValueError:
            request = None
        fault = take_fault(first_method(request), self.path)
        mode = fault["mode"] if fault else None
        if mode == "timeout":
            time.sleep(float(fault.get("seconds", 30)))
            return self.send(504, b"late")
        if mode == "status":
            headers = [("Retry-After", str(fault["retry_after"]))] if "retry_after" in fault else []
            return self.send(int(fault.get("status", 503)), b"fault", headers)
        if mode == "malformed":
            return self.send(200, b'{"jsonrpc":"2.0","id":1,"result":[{"oops"')
        if mode == "swallow" and isinstance(request, dict) and request.get("method") == "eth_sendRawTransaction":
            from eth_utils import keccak
            raw = bytes.fromhex(request["params"][0][2:])
            answer = {"jsonrpc": "2.0", "id": request.get("id"), "result": "0x" + keccak(raw).hex()}
            return self.send(200, json.dumps(answer).encode(), [("Content-Type", "application/json")])
        if mode == "ack_lost":
            self.forward(raw)  # the node gets it; the client never hears
            return self.send(int(fault.get("status", 503)), b"fault")
        if mode == "underpriced":
            if fault.get("forward"):
                self.forward(raw)  # the node holds it; the client is told it was refused
            answer = rpc_error(request, -32000, fault.get("message", "replacement transaction underpriced"))
            return self.send(200, json.dumps(answer).encode(), [("Content-Type", "application/json")])
        if mode == "delay":
            time.sleep(float(fault.get("seconds", 0.002)))
        if mode == "truncated":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b'{"jsonrpc":"2.0","id":1,"result":')
            self.wfile.flush()
            self.close_connection = True
            return
        status, body, content_type = self.forward(raw)
        if fault and mode != "delay" and request is not None:
            body = serialize(rewrite(json.loads(body), request, fault), fault)
        self.send(status, body, [("Content-Type", content_type)])


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main():
    global UPSTREAM
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    UPSTREAM = args.upstream
    exit_with_parent()
    server = Server(("127.0.0.1", args.port), Handler)
    announce(server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
