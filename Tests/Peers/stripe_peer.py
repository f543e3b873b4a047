#!/usr/bin/env python3
"""localstripe (a Stripe-compatible server, pip localstripe 1.15.10) on 127.0.0.1 for the billing tests.

localstripe alone answers in a 2017-era API shape and lacks finalize, send_invoice, paid_out_of_band, payment records
and idempotency keys; stripe_ext.py (test-only, imported before localstripe.server builds its routes) adds those parts
of Stripe's invoice API plus test controls under /_settle/ (see its docstring). Customers, invoice items, list
pagination, Stripe's error objects and webhooks signed exactly like Stripe's stay localstripe's own. Its store is kept
in memory only (localstripe writes a fixed /tmp pickle on every change otherwise, which parallel peers would share).
"""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peerlib import announce, exit_with_parent  # noqa: E402

import localstripe.resources as resources  # noqa: E402

resources.Store.dump_to_disk = lambda self: None
resources.Store.try_load_from_disk = lambda self: None

import stripe_ext  # noqa: E402  (before localstripe.server: it imports it after registering its routes)
from aiohttp import web  # noqa: E402


def main():
    exit_with_parent()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # before the port is announced: a client may connect before aiohttp has started
    announce(sock.getsockname()[1])
    web.run_app(stripe_ext.app, sock=sock, access_log=None, print=None)


if __name__ == "__main__":
    main()
