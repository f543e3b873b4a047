"""A client generated from docs/openapi.yaml against a live settled (run by Tests/Peers/api_fuzz.py).

openapi-python-client (Tests/Peers/requirements-fuzz.txt) generates a Python client from the document; any warning
fails (it drops what it cannot model: a response over `const` inside `allOf`, a whole model over an `enum` of
arrays, seen here). The client is then imported and every route is called through it, answers parsed into its
models: each success must parse into the documented model, each error into `Error` with its `message` (a
generator that reads errors as an `allOf` lost the message, seen here with openapi-generator's Python client).
Tests/Peers/openapi_check.py lints the document for the constructs behind those; this shows a real generator agrees.
"""
import importlib
import subprocess
import sys
from pathlib import Path

PACKAGE = "settle_api_client"


class ClientCheckError(Exception):
    """The generator warned, the client did not import, or an answer did not parse as documented."""


def generate(spec: Path, workdir: Path) -> Path:
    """Generates the client into `workdir`; returns the directory to put on sys.path."""
    out = workdir / "client"
    config = workdir / "client-config.yaml"
    # No post hooks (ruff): formatting is not what is checked, and it needs nothing on PATH.
    config.write_text(f"project_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\npost_hooks: []\n")
    generator = Path(sys.executable).parent / "openapi-python-client"
    result = subprocess.run([str(generator), "generate", "--path", str(spec), "--output-path", str(out / PACKAGE), "--meta", "none",
                             "--config", str(config), "--overwrite"], capture_output=True, text=True, timeout=300)
    text = (result.stdout + result.stderr).strip()
    if result.returncode != 0 or "warning" in text.lower() or "error" in text.lower():
        raise ClientCheckError(f"openapi-python-client did not generate a clean client (exit {result.returncode}):\n{text}")
    return out


def run(spec: Path, workdir: Path, base_url: str, token: str, world: dict) -> list:
    """Calls every route through the generated client; returns one line per call. Raises ClientCheckError."""
    sys.path.insert(0, str(generate(spec, workdir)))
    try:
        client_module = importlib.import_module(PACKAGE)
        models = importlib.import_module(f"{PACKAGE}.models")
    except Exception as error:
        raise ClientCheckError(f"the generated client does not import: {type(error).__name__}: {error}") from None
    client = client_module.AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True)
    evm, solana = world["evm_wallet"], world["solana_wallet"]
    paid, waiting = world["paid_invoice"], world["waiting_invoice"]

    def op(group: str, name: str):
        return importlib.import_module(f"{PACKAGE}.api.{group}.{name}")

    calls = [
        ("GET /healthz", op("operations", "get_health"), {}, (models.Health,)),
        ("GET /metrics", op("operations", "get_metrics"), {}, (str,)),
        ("GET /v1/chains", op("chains", "list_chains"), {}, (models.ChainList,)),
        ("GET allowances (EVM)", op("wallets", "get_wallet_allowances"), {"chain": "devnet", "wallet": evm, "limit": 1}, (models.AllowancePage,)),
        ("GET allowances (Solana)", op("wallets", "get_wallet_allowances"), {"chain": "litesvm", "wallet": solana}, (models.AllowancePage,)),
        ("GET balances (EVM)", op("wallets", "get_wallet_balances"), {"chain": "devnet", "wallet": evm}, (models.BalanceList,)),
        ("GET balances (Solana)", op("wallets", "get_wallet_balances"), {"chain": "litesvm", "wallet": solana}, (models.BalanceList,)),
        ("GET readiness (EVM)", op("wallets", "get_wallet_readiness"), {"chain": "devnet", "wallet": evm, "token": "USDC", "amount": "25000000"},
         (models.Readiness,)),
        ("GET readiness (Solana)", op("wallets", "get_wallet_readiness"), {"chain": "litesvm", "wallet": solana, "token": "usdc", "amount": "1"},
         (models.Readiness,)),
        ("GET approval (EVM)", op("wallets", "get_wallet_approval"), {"chain": "devnet", "wallet": evm, "token": "USDC", "amount": "5"},
         (models.EVMApproval,)),
        ("GET approval (Solana)", op("wallets", "get_wallet_approval"), {"chain": "litesvm", "wallet": solana, "token": "USDC", "amount": "0"},
         (models.SolanaApproval,)),
        ("GET suggested-allowance", op("wallets", "get_suggested_allowance"), {"chain": "devnet", "token": "USDC", "amount": "5"},
         (models.SuggestedAllowance,)),
        ("GET /v1/agreements", op("agreements", "list_agreements"), {"limit": 2}, (models.AgreementPage,)),
        ("POST /v1/agreements", op("agreements", "create_agreement"),
         {"body": models.AgreementRequest(customer="cus_client", chain="devnet", token="usdc", wallet=evm.lower())}, (models.Agreement,)),
        ("GET /v1/charges", op("charges", "list_charges"), {"state": [models.ChargeState.REPORTED, models.ChargeState.AWAITING_FUNDS]},
         (models.ChargePage,)),
        ("GET charge (paid)", op("charges", "get_charge"), {"invoice": paid}, (models.ChargeDetail,)),
        ("POST retry (waiting)", op("charges", "retry_charge"), {"invoice": waiting}, (models.ChargeDetail,)),
        # Errors parse into Error, message and all.
        ("GET charge (none): 404", op("charges", "get_charge"), {"invoice": "in_none"}, (models.Error,)),
        ("GET balances (bad wallet): 400", op("wallets", "get_wallet_balances"), {"chain": "devnet", "wallet": "0x12"}, (models.Error,)),
        ("GET balances (no chain): 404", op("wallets", "get_wallet_balances"), {"chain": "nochain", "wallet": evm}, (models.Error,)),
        ("POST retry (paid): 409", op("charges", "retry_charge"), {"invoice": paid}, (models.Error,)),
    ]
    lines = []
    for label, module, arguments, expected in calls:
        try:
            response = module.sync_detailed(client=client, **arguments)
        except Exception as error:
            raise ClientCheckError(f"{label}: the generated client failed: {type(error).__name__}: {error}") from None
        parsed = response.parsed
        if expected == (str,):  # text/plain: the generated client leaves the body to the caller
            parsed = response.content.decode()
        if not isinstance(parsed, expected):
            raise ClientCheckError(f"{label}: HTTP {int(response.status_code)} parsed as {type(parsed).__name__}, expected "
                                   f"{' or '.join(t.__name__ for t in expected)}: {response.content[:300]!r}")
        if isinstance(parsed, models.Error) and not parsed.error.message:
            raise ClientCheckError(f"{label}: the error's message was lost: {response.content[:300]!r}")
        lines.append(f"{label}: {int(response.status_code)} {type(parsed).__name__}")
    return lines
