"""The devnet's test ERC-20: snekmate's audited `erc20` module behind a small wrapper
(`contracts/settle_token.vy`), compiled with Vyper once and cached on disk.

The cache key is a hash of the wrapper, every snekmate source file and the Vyper version, so a test
suite that starts several devnets compiles once; a change to any input compiles again. The cache file is
written atomically (temp file + rename), so concurrent devnets never read a half-written file.
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
WRAPPER = HERE / "contracts" / "settle_token.vy"
DEFAULT_CACHE_DIR = pathlib.Path(tempfile.gettempdir()) / "settle-evm-devnet-cache"


def _snekmate_dir() -> pathlib.Path:
    spec = importlib.util.find_spec("snekmate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("snekmate is not installed (see requirements-evm.txt)")
    return pathlib.Path(list(spec.submodule_search_locations)[0])


def cache_key() -> str:
    digest = hashlib.sha256()
    digest.update(b"vyper " + importlib.metadata.version("vyper").encode() + b"\n")
    digest.update(b"snekmate " + importlib.metadata.version("snekmate").encode() + b"\n")
    digest.update(WRAPPER.read_bytes())
    root = _snekmate_dir()
    for path in sorted(root.rglob("*.vy*")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def _compile() -> dict:
    # Imported here: Vyper is only needed on a cache miss, and importing it costs about a second.
    from vyper.cli.vyper_compile import compile_files

    out = compile_files([str(WRAPPER)], ("bytecode", "abi"), None, True)
    result = next(iter(out.values()))
    bytecode = result["bytecode"]
    if not bytecode.startswith("0x"):
        bytecode = "0x" + bytecode
    return {"bytecode": bytecode, "abi": result["abi"]}


class TokenArtifact:
    """Creation bytecode and ABI of the wrapper; `get()` blocks until available (compiling at most once)."""

    def __init__(self, cache_dir=None):
        self.cache_dir = pathlib.Path(cache_dir) if cache_dir else DEFAULT_CACHE_DIR
        self._lock = threading.Lock()
        self._value = None
        self.source = None  # "cache" or "compiled", for the logs and the self-check

    def cache_path(self) -> pathlib.Path:
        return self.cache_dir / f"settle_token-{cache_key()}.json"

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
            value = _compile()
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.cache_dir, prefix=".settle_token-", suffix=".tmp")
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
