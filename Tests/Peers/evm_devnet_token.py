"""The devnet's test ERC-20s: snekmate's audited `erc20` module behind small wrappers (`contracts/*.vy`), each
compiled with Vyper once and cached on disk.

Kinds (the wrapper file; `settle_deployToken`'s `kind`):
  standard            contracts/settle_token.vy                     snekmate's erc20 as it is
  fee                 contracts/settle_token_fee.vy                 fee-on-transfer (feeBps to feeCollector)
  false               contracts/settle_token_false.vy               returns false instead of reverting
  noreturn            contracts/settle_token_noreturn.vy            USDT-style: transfer/transferFrom/approve return nothing
  usdt                contracts/settle_token_usdt.vy                USDT's approve: non-zero to non-zero reverts; returns nothing
  pausable_blocklist  contracts/settle_token_pausable_blocklist.vy  USDC-style pause and blocklist
  lying               contracts/settle_token_lying.vy               logs Transfer(amount), credits amount / 2
Each wrapper's docstring states its behaviour exactly.

The cache key of a kind is a hash of its wrapper, every snekmate source file and the Vyper version, so a test
suite that starts several devnets compiles each kind once; a change to any input compiles again. The standard
token's key and file name are the same as before the other kinds existed. The cache file is written atomically
(temp file + rename), so concurrent devnets never read a half-written file. Only the standard token is compiled
ahead (in the background at start); another kind is compiled at its first deployment on a cache miss (about a
second).
"""
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import pathlib
import tempfile
import threading

HERE = pathlib.Path(__file__).resolve().parent
CONTRACTS = HERE / "contracts"
WRAPPER = CONTRACTS / "settle_token.vy"
DEFAULT_CACHE_DIR = pathlib.Path(tempfile.gettempdir()) / "settle-evm-devnet-cache"
_COMPILE_LOCK = threading.Lock()  # one Vyper compilation at a time per process (the warm-up thread and a deploy)

# kind -> (wrapper, constructor argument types after the common (name, symbol, decimals, holder, supply))
KINDS = {
    "standard": (WRAPPER, ()),
    "fee": (CONTRACTS / "settle_token_fee.vy", ("uint256", "address")),
    "false": (CONTRACTS / "settle_token_false.vy", ()),
    "noreturn": (CONTRACTS / "settle_token_noreturn.vy", ()),
    "usdt": (CONTRACTS / "settle_token_usdt.vy", ()),
    "pausable_blocklist": (CONTRACTS / "settle_token_pausable_blocklist.vy", ()),
    "lying": (CONTRACTS / "settle_token_lying.vy", ()),
}
CONSTRUCTOR_TYPES = ("string", "string", "uint8", "address", "uint256")


def _snekmate_dir() -> pathlib.Path:
    spec = importlib.util.find_spec("snekmate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("snekmate is not installed (see requirements-evm.txt)")
    return pathlib.Path(list(spec.submodule_search_locations)[0])


def cache_key(kind: str = "standard") -> str:
    wrapper = KINDS[kind][0]
    digest = hashlib.sha256()
    digest.update(b"vyper " + importlib.metadata.version("vyper").encode() + b"\n")
    digest.update(b"snekmate " + importlib.metadata.version("snekmate").encode() + b"\n")
    if kind != "standard":  # the standard token's key is unchanged, so existing caches stay valid
        digest.update(b"kind " + kind.encode() + b"\n")
    digest.update(wrapper.read_bytes())
    root = _snekmate_dir()
    for path in sorted(root.rglob("*.vy*")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def _compile(kind: str = "standard") -> dict:
    # Imported here: Vyper is only needed on a cache miss, and importing it costs about a second.
    from vyper.cli.vyper_compile import compile_files

    with _COMPILE_LOCK:
        out = compile_files([str(KINDS[kind][0])], ("bytecode", "abi"), None, True)
    result = next(iter(out.values()))
    bytecode = result["bytecode"]
    if not bytecode.startswith("0x"):
        bytecode = "0x" + bytecode
    return {"bytecode": bytecode, "abi": result["abi"]}


class TokenArtifact:
    """Creation bytecode and ABI of one kind's wrapper; `get()` blocks until available (compiling at most once)."""

    def __init__(self, cache_dir=None, kind="standard"):
        if kind not in KINDS:
            raise ValueError(f"unknown token kind {kind!r}")
        self.kind = kind
        self.stem = "settle_token" if kind == "standard" else f"settle_token_{kind}"
        self.cache_dir = pathlib.Path(cache_dir) if cache_dir else DEFAULT_CACHE_DIR
        self._lock = threading.Lock()
        self._value = None
        self.source = None  # "cache" or "compiled", for the logs and the self-check

    def cache_path(self) -> pathlib.Path:
        return self.cache_dir / f"{self.stem}-{cache_key(self.kind)}.json"

    def get(self) -> dict:
        with self._lock:
            if self._value is not None:
                return self._value
            path = self.cache_path()
            try:
                value = json.loads(path.read_text())
                if value.get("bytecode", "").startswith("0x") and value.get("abi"):
                    self._value, self.source = value, "cache"
                    return value
            except (OSError, ValueError):
                pass
            value = _compile(self.kind)
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.cache_dir, prefix=f".{self.stem}-", suffix=".tmp")
            with os.fdopen(fd, "w") as handle:
                json.dump(value, handle)
            os.replace(tmp, path)
            self._value, self.source = value, "compiled"
            return value

    def warm_in_background(self) -> None:
        """Compile (or load) now on a daemon thread, so the first settle_deployToken rarely waits."""
        threading.Thread(target=self._warm, daemon=True).start()

    def _warm(self):
        try:
            self.get()
        except Exception:  # noqa: BLE001 - reported again, with detail, at the first deploy
            pass
