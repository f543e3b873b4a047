#!/usr/bin/env python3
"""Generates the reference vectors the Swift conformance tests check against.

Every expected value comes from a library no one on this project wrote (eth-account, eth-abi, rlp,
eth-utils, solders, solana-py, PyNaCl, base58). Inputs are random but seeded, so a run is reproducible:

    .venv/bin/python Tests/Vectors/generate.py --out .vectors --count 1000 --seed 1

Each domain module (evm_vectors, solana_vectors, signing_vectors) exposes
`generate(rng: random.Random, count: int) -> dict[str, list]`; each key becomes `OUT/KEY.json`.
"""
import argparse
import importlib
import json
import os
import random
import sys
import time

DOMAINS = ["core_vectors", "signing_vectors", "evm_vectors", "solana_vectors", "billing_vectors"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=".vectors", help="output directory (default .vectors)")
    parser.add_argument("--count", type=int, default=1000, help="generated cases per format (default 1000)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SETTLE_VECTOR_SEED", "20261121")))
    parser.add_argument("--only", nargs="*", help="domain modules to run (default all)")
    args = parser.parse_args()

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    os.makedirs(args.out, exist_ok=True)
    for name in args.only or DOMAINS:
        started = time.time()
        module = importlib.import_module(name)
        rng = random.Random(f"{args.seed}:{name}")
        files = module.generate(rng, args.count)
        for key, cases in files.items():
            with open(os.path.join(args.out, f"{key}.json"), "w") as f:
                json.dump(cases, f)
            print(f"  {key}: {len(cases) if hasattr(cases, '__len__') else '?'} cases")
        print(f"{name}: done in {time.time() - started:.1f}s (seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
