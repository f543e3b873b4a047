"""Shared plumbing for the test peers: announce the port, die with the parent, and the JSON-over-HTTP handler and
threaded server the JSON-RPC peers use."""
import os
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def announce(port: int) -> None:
    """The Swift side reads this first line to learn the port."""
    sys.stdout.write(f"PORT {port}\n")
    sys.stdout.flush()


def exit_with_parent() -> None:
    """Peers must never outlive the test process that started them (CI would hang on orphans)."""
    parent = os.getppid()

    def watch():
        while True:
            if os.getppid() != parent:
                os._exit(0)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()


class JSONHandler(BaseHTTPRequestHandler):
    """The HTTP side both JSON-RPC peers share: HTTP/1.1 keep-alive without Nagle delays (see PITFALLS), quiet logs,
    JSON replies, and request bodies framed by Content-Length or chunked encoding."""
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def reply(self, code, body: bytes):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        """(body, None), or (None, what is wrong with the framing) with the connection marked to close."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = self._read_chunked()
            problem = "bad chunked body"
        else:
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            body = self.rfile.read(length) if length > 0 else (b"" if length == 0 else None)
            problem = "bad Content-Length"
        if body is None:
            self.close_connection = True
            return None, problem
        return body, None

    def _read_chunked(self):
        parts = []
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)


class ThreadingServer(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
