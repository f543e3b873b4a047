#!/usr/bin/env python3
"""A throwaway PostgreSQL 15 cluster on 127.0.0.1 for the tests: a real server, not a fake.

initdb into a fresh temporary directory (trust authentication, superuser `settle`), start on a free port, print
`PORT n`, and stop the cluster and remove the directory when the parent test process goes away (or on SIGTERM).
PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user (created by the Debian
package). Each test makes its own database (CREATE DATABASE) on this one server.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from peerlib import announce  # noqa: E402

BIN = "/usr/lib/postgresql/15/bin"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_owner(command, owner):
    if owner is None:
        return subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return subprocess.run(["su", owner, "-s", "/bin/sh", "-c", " ".join(f"'{c}'" for c in command)],
                          check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def main():
    if not os.path.exists(f"{BIN}/initdb"):
        sys.stderr.write("PostgreSQL 15 is not installed: apt-get install postgresql (scripts/setup.sh does)\n")
        sys.exit(1)
    owner = "postgres" if os.geteuid() == 0 else None
    directory = tempfile.mkdtemp(prefix="settle-pg-")
    if owner:
        shutil.chown(directory, user=owner)
    data = os.path.join(directory, "data")
    port = free_port()
    as_owner([f"{BIN}/initdb", "-D", data, "-A", "trust", "-U", "settle", "--no-sync"], owner)
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    as_owner([f"{BIN}/pg_ctl", "-D", data, "-o", options, "-l", os.path.join(directory, "log"), "-w", "start"], owner)

    def stop(*_):
        try:
            as_owner([f"{BIN}/pg_ctl", "-D", data, "-m", "immediate", "stop"], owner)
        except Exception:
            pass
        shutil.rmtree(directory, ignore_errors=True)
        os._exit(0)

    # The test side stops peers with SIGKILL, which this process cannot catch: a guardian in its own session stops
    # the cluster once this peer or the test process is gone.
    peer, tester = os.getpid(), os.getppid()
    if os.fork() == 0:
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        for fd in (0, 1, 2):
            try:
                os.close(fd)
            except OSError:
                pass

        def alive(pid):
            try:
                os.kill(pid, 0)
                return True
            except OSError:
                return False

        while alive(peer) and alive(tester):
            time.sleep(0.5)
        stop()
    signal.signal(signal.SIGTERM, stop)
    announce(port)
    while os.getppid() == tester:
        time.sleep(0.5)
    stop()


if __name__ == "__main__":
    main()
