"""Shared plumbing for the test peers: bind 127.0.0.1 on a free port, announce it, die with the parent."""
import os
import sys
import threading
import time


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
