#!/usr/bin/env python3
"""Runs one backfill client of the matrix and records what it cost, or prints the matrix's table.

    measure.py run --out RESULTS.jsonl --cell "100 logs/block, 0 ms" --client NAME --logs N --blocks B \
        --url FIXTURE_URL -- COMMAND ARGS...
    measure.py table RESULTS.jsonl

`run` starts COMMAND, waits for it, and appends one JSON line: wall seconds (process start to exit, the same clock
for every client), client CPU seconds (user + system of the process and its reaped children, getrusage(RUSAGE_CHILDREN)), peak RSS
(the largest resident set of the process or any child), and the requests the fixture served meanwhile (its
fixture_stats counter before and after). A client that fails stops the benchmark with its output.

`table` prints, per cell, every client's logs/s, blocks/s, CPU seconds per million logs, peak RSS and requests,
with Settle's ratio to each peer, and the fixture's own rate against the fastest client of the cell.
"""
import argparse
import json
import resource
import subprocess
import sys
import time
import urllib.request


def fixture_requests(url):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "fixture_stats", "params": []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["result"]["requests"]


def run(args):
    before = fixture_requests(args.url)
    started = time.monotonic()
    process = subprocess.Popen(args.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output, _ = process.communicate()
    seconds = time.monotonic() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # every child this script reaped so far
    if process.returncode != 0:
        sys.stdout.write(output.decode(errors="replace"))
        sys.exit(f"{args.client} failed (exit {process.returncode})")
    requests = fixture_requests(args.url) - before
    row = {
        "cell": args.cell, "client": args.client, "logs": args.logs, "blocks": args.blocks, "seconds": seconds,
        # One client per script run, so the children's totals are this client's (and its own children's).
        "cpu": children.ru_utime + children.ru_stime, "rss_mb": children.ru_maxrss / 1024, "requests": requests,
        "output": output.decode(errors="replace").strip().splitlines()[-3:],
    }
    with open(args.out, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"  {args.client}: {args.logs} logs in {seconds:.2f} s = {args.logs / seconds:,.0f} logs/s, "
          f"CPU {row['cpu']:.1f} s, peak RSS {row['rss_mb']:.0f} MB, {requests} requests")


def table(path):
    rows = [json.loads(line) for line in open(path)]
    cells = []
    for row in rows:
        if row["cell"] not in cells:
            cells.append(row["cell"])
    print()
    print("| cell | client | logs | logs/s | blocks/s | CPU s per M logs | peak RSS MB | requests | Settle ÷ client (logs/s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    verdicts = []
    for cell in cells:
        in_cell = [r for r in rows if r["cell"] == cell]
        settle = next((r for r in in_cell if r["client"] == "Settle"), None)
        fixture = next((r for r in in_cell if r["client"].startswith("fixture")), None)
        clients = [r for r in in_cell if r is not fixture]
        for r in in_cell:
            rate = r["logs"] / r["seconds"]
            ratio = ""
            if settle and r is not settle and r is not fixture:
                ratio = f"{(settle['logs'] / settle['seconds']) / rate:.2f}x"
            cpu = "" if r is fixture else f"{r['cpu'] / r['logs'] * 1e6:.1f}"
            rss = "" if r is fixture else f"{r['rss_mb']:.0f}"
            print(f"| {cell} | {r['client']} | {r['logs']:,} | {rate:,.0f} | {r['blocks'] / r['seconds']:,.0f} | {cpu} | {rss} | "
                  f"{r['requests']:,} | {ratio} |")
        if fixture and clients:
            fastest = max(clients, key=lambda r: r["logs"] / r["seconds"])
            headroom = (fixture["logs"] / fixture["seconds"]) / (fastest["logs"] / fastest["seconds"])
            verdicts.append(f"{cell}: the fixture alone serves {headroom:.1f}x the fastest client ({fastest['client']})"
                            + ("" if headroom >= 3 else " — UNDER 3x: the fixture may be what limits this cell"))
        if settle:
            for peer in clients:
                if peer is settle:
                    continue
                ratio = (settle["logs"] / settle["seconds"]) / (peer["logs"] / peer["seconds"])
                verdicts.append(f"{cell}: Settle {ratio:.2f}x {peer['client']}")
    print()
    for line in verdicts:
        print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", required=True)
    r.add_argument("--cell", required=True)
    r.add_argument("--client", required=True)
    r.add_argument("--logs", type=int, required=True)
    r.add_argument("--blocks", type=int, required=True)
    r.add_argument("--url", required=True)
    r.add_argument("command", nargs=argparse.REMAINDER)
    t = sub.add_parser("table")
    t.add_argument("results")
    args = parser.parse_args()
    if args.what == "run":
        if args.command and args.command[0] == "--":
            args.command = args.command[1:]
        run(args)
    else:
        table(args.results)


if __name__ == "__main__":
    main()
