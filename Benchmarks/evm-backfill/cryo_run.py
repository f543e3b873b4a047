#!/usr/bin/env python3
"""Runs Paradigm's cryo (pip cryo, the Rust extractor as a Python module) over the fixture: logs to parquet.

    python cryo_run.py --url URL --blocks N --inner-request-size N [--chunk-size N] --out DIR --logs N
"""
import argparse
import shutil
import time

import cryo


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--blocks", type=int, required=True)
    parser.add_argument("--inner-request-size", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=None, help="blocks per output file (cryo's default: 1000)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--logs", type=int, required=True, help="log count, for the rate")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    started = time.time()
    options = {"chunk_size": args.chunk_size} if args.chunk_size else {}
    cryo.freeze("logs", blocks=[f"0:{args.blocks}"], rpc=args.url, output_dir=args.out,
                inner_request_size=args.inner_request_size, no_verbose=True, **options)
    elapsed = time.time() - started
    print(f"cryo 0.3.2 ({args.inner_request_size}-block requests, parquet, no database): {args.logs} logs in "
          f"{elapsed:.2f} s = {args.logs / elapsed:.0f} logs/s")


if __name__ == "__main__":
    main()
