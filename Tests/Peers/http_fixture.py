#!/usr/bin/env python3
"""An HTTP/1.1 server on 127.0.0.1 for the transport tests. A hand-written fake, on purpose: it produces the
faults a real node cannot be made to produce (timeouts, 429 with Retry-After, 5xx, malformed JSON, truncated
bodies, a failing-then-healthy endpoint), alongside plain correct answers.

Paths:
  POST /echo                 body echoed back (200)
  GET  /status/CODE?retry_after=S   answers CODE with an optional Retry-After
  GET  /slow/MS[?key=K]      answers after MS milliseconds; with a key, counts its arrival (GET /count/K reads it)
  GET  /max_in_flight        the most /slow requests seen at once since the last call (then resets)
  GET  /gzip                 a gzip-compressed body (Content-Encoding: gzip)
  GET  /big/N                N bytes of 'a'
  GET  /truncated            declares 1000 bytes, sends 10, closes
  GET  /headers              echoes request headers as JSON
  GET|POST /endless/...      200 and a body that never ends (1 MiB chunks until the client goes away)
  POST /rpc                  JSON-RPC 2.0: methods echo, add, error (code -32000), batch supported
  POST /rpc/garbage          200 with invalid JSON
  POST /rpc/flaky/KEY/N      first N requests for KEY fail with 503, then behaves as /rpc
  POST /rpc/count/KEY        as /rpc, and counts requests per KEY; GET /count/KEY reads the count
"""
import gzip
import json
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

sys.path.insert(0, __import__("os").path.dirname(__file__))
from peerlib import announce, exit_with_parent  # noqa: E402

COUNTS = {}
LOCK = threading.Lock()
IN_FLIGHT = {"now": 0, "max": 0}


def rpc_answer(request):
    rid = request.get("id")
    method = request.get("method")
    params = request.get("params", [])
    if method == "echo":
        return {"jsonrpc": "2.0", "id": rid, "result": params}
    if method == "add":
        return {"jsonrpc": "2.0", "id": rid, "result": hex(sum(int(p, 16) for p in params))}
    if method == "error":
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32000, "message": "boom", "data": {"why": "asked"}}}
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "method not found"}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        length = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(length) if length else b""

    def rpc(self, raw):
        try:
            request = json.loads(raw)
        except ValueError:
            return self.send(200, json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}).encode())
        if isinstance(request, list):
            answer = [rpc_answer(r) for r in request]
        else:
            answer = rpc_answer(request)
        self.send(200, json.dumps(answer).encode(), [("Content-Type", "application/json")])

    def endless(self):
        self.body()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = b" " * (1 << 20)
        try:
            self.wfile.write(b'{"pad": "')
            while True:
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        self.close_connection = True

    def do_GET(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts[0] == "endless":
            return self.endless()
        query = dict(p.split("=", 1) for p in self.path.split("?", 1)[1].split("&")) if "?" in self.path else {}
        if parts[0] == "status":
            headers = [("Retry-After", query["retry_after"])] if "retry_after" in query else []
            return self.send(int(parts[1]), b"status", headers)
        if parts[0] == "slow":
            with LOCK:
                IN_FLIGHT["now"] += 1
                IN_FLIGHT["max"] = max(IN_FLIGHT["max"], IN_FLIGHT["now"])
                if "key" in query:
                    COUNTS[query["key"]] = COUNTS.get(query["key"], 0) + 1
            time.sleep(int(parts[1]) / 1000)
            with LOCK:
                IN_FLIGHT["now"] -= 1
            return self.send(200, b"slow")
        if parts[0] == "max_in_flight":
            with LOCK:
                seen, IN_FLIGHT["max"] = IN_FLIGHT["max"], IN_FLIGHT["now"]
            return self.send(200, str(seen).encode())
        if parts[0] == "gzip":
            return self.send(200, gzip.compress(b"compressed " * 1000), [("Content-Encoding", "gzip")])
        if parts[0] == "big":
            return self.send(200, b"a" * int(parts[1]))
        if parts[0] == "truncated":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.close_connection = True
            return
        if parts[0] == "headers":
            return self.send(200, json.dumps({k.lower(): v for k, v in self.headers.items()}).encode())
        if parts[0] == "count":
            with LOCK:
                return self.send(200, str(COUNTS.get(parts[1], 0)).encode())
        self.send(404, b"not found")

    def do_POST(self):
        parts = self.path.strip("/").split("/")
        if parts[0] == "endless":
            return self.endless()
        raw = self.body()
        if parts == ["echo"]:
            return self.send(200, raw)
        if parts == ["rpc"]:
            return self.rpc(raw)
        if parts[:2] == ["rpc", "garbage"]:
            return self.send(200, b'{"jsonrpc":"2.0","id":1,"result":[1,2')
        if parts[:2] == ["rpc", "flaky"]:
            key, failures = parts[2], int(parts[3])
            with LOCK:
                COUNTS[key] = COUNTS.get(key, 0) + 1
                seen = COUNTS[key]
            if seen <= failures:
                return self.send(503, b"unavailable")
            return self.rpc(raw)
        if parts[:2] == ["rpc", "count"]:
            with LOCK:
                COUNTS[parts[2]] = COUNTS.get(parts[2], 0) + 1
            return self.rpc(raw)
        self.send(404, b"not found")


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 makes concurrent clients wait on SYN retries


def main():
    exit_with_parent()
    server = Server(("127.0.0.1", 0), Handler)
    announce(server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
