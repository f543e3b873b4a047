"""Starting the test peers (Tests/Peers/*.py) from a Python browser test, as Tests/TestSupport/Peer.swift does from
Swift: run the script with this interpreter, read its first stdout line `PORT n`, SIGKILL and reap it at the end."""
import os
import subprocess
import sys

from .wallet import rpc

PEERS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Peer:
    """A peer script (e.g. "evm_devnet.py") started at once; `port` and `url` are known after `ready()`."""

    def __init__(self, script, *args):
        self.script = script
        self.process = subprocess.Popen([sys.executable, os.path.join(PEERS, script), *args], stdout=subprocess.PIPE,
                                        text=True)
        self.port = None

    def ready(self):
        """Waits for the `PORT n` line; returns self."""
        if self.port is None:
            line = self.process.stdout.readline()
            if not line.startswith("PORT "):
                self.close()
                raise RuntimeError(f"{self.script} did not announce its port: {line!r}")
            self.port = int(line.split()[1])
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.ready().port}/"

    def __call__(self, method, *params):
        """One JSON-RPC call to the peer; a node error raises wallet.WalletError."""
        return rpc(self.url, method, list(params))

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
