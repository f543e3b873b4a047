"""The Python side of the test stand-in for a browser wallet (none can run in headless Chromium here).

wallet_standin.js is injected into every page before its scripts; it queues the page's wallet requests. `Wallet.pump`
(called by Browser's wait loops, or by hand) drains that queue with driver.execute_script, which is not subject to the
page's Content-Security-Policy, and answers each request: EVM ones by signing with the customer's devnet key
(eth_account) and sending to the py-evm devnet's JSON-RPC (Tests/Peers/evm_devnet.py), Solana ones by signing with
the customer's keypair (solders) and sending to the LiteSVM RPC peer (Tests/Peers/solana_rpc.py).

A test controls it:
    wallet = Wallet(evm=EVMWallet(devnet_url, [customer_key]), solana=SolanaWallet(solana_url, [customer_keypair]))
    wallet.reject_next()            # the next request that needs the user's approval fails with 4001
    wallet.evm.use_account(1)       # switch account (emits accountsChanged to a connected page)
    wallet.log                      # what was approved, signed, sent or rejected, in order
"""
import base64
import json
import os
import urllib.request

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.transaction import VersionedTransaction

SCRIPT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wallet_standin.js")

USER_REJECTED = 4001
UNAUTHORIZED = 4100
UNSUPPORTED = 4200
CHAIN_DISCONNECTED = 4901
UNRECOGNIZED_CHAIN = 4902


class WalletError(Exception):
    """Answered to the page as a provider error {code, message, data}."""

    def __init__(self, code, message, data=None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def wire(self):
        error = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def rpc(url, method, params):
    """One JSON-RPC call; a node error becomes a WalletError carrying the node's code, message and data."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    if "error" in answer:
        error = answer["error"]
        raise WalletError(error.get("code", -32603), error.get("message", "node error"), error.get("data"))
    return answer["result"]


class EVMWallet:
    """EVM accounts (private keys) on one devnet. `chain_id` defaults to the devnet's; `active_chain_id` is the chain
    the wallet is on (set it to another id to make a page switch; only the devnet's chain can be switched to)."""

    # Wallet methods that never reach the node; every other eth_* and web3_* method is read from the devnet.
    SIGNING_UNSUPPORTED = ("eth_sign", "eth_signTransaction", "eth_signTypedData", "eth_signTypedData_v3",
                           "eth_signTypedData_v4", "wallet_addEthereumChain", "wallet_watchAsset")

    def __init__(self, rpc_url, private_keys, chain_id=None):
        self.rpc_url = rpc_url
        self.accounts = [Account.from_key(key) for key in private_keys]
        self.chain_id = chain_id if chain_id is not None else int(rpc(rpc_url, "eth_chainId", []), 16)
        self.active_chain_id = self.chain_id
        self.current = 0
        self.connected = False
        self._wallet = None  # the Wallet this belongs to (for events and the log)

    @property
    def address(self):
        return self.accounts[self.current].address.lower()

    def use_account(self, which):
        """Switch to account `which` (index or address); a connected page gets accountsChanged."""
        if isinstance(which, str):
            which = [a.address.lower() for a in self.accounts].index(which.lower())
        self.current = which
        if self.connected and self._wallet:
            self._wallet.emit("evm", "accountsChanged", [[self.address]])

    def approval_needed(self, method):
        return method in ("eth_requestAccounts", "eth_sendTransaction", "personal_sign", "wallet_switchEthereumChain")

    def handle(self, method, params):
        if method == "eth_chainId":
            return hex(self.active_chain_id)
        if method == "net_version":
            return str(self.active_chain_id)
        if method == "eth_accounts":
            return [self.address] if self.connected else []
        if method == "eth_requestAccounts":
            self.connected = True
            self._wallet.record("evm", method, self.address, "approved")
            return [self.address]
        if method == "wallet_switchEthereumChain":
            wanted = int(params[0]["chainId"], 16)
            if wanted != self.chain_id:
                raise WalletError(UNRECOGNIZED_CHAIN, f"Unrecognized chain ID \"{params[0]['chainId']}\".")
            if wanted != self.active_chain_id:
                self.active_chain_id = wanted
                self._wallet.emit("evm", "chainChanged", [hex(wanted)])
            self._wallet.record("evm", method, self.address, "approved", chainId=hex(wanted))
            return None
        if method == "personal_sign":
            return self._personal_sign(params)
        if method in self.SIGNING_UNSUPPORTED or not method.startswith(("eth_", "web3_")):
            raise WalletError(UNSUPPORTED, f"The method \"{method}\" is not supported by the test wallet.")
        if self.active_chain_id != self.chain_id:
            raise WalletError(CHAIN_DISCONNECTED, f"The test wallet has no node for chain {hex(self.active_chain_id)}.")
        if method == "eth_sendTransaction":
            return self._send_transaction(params[0])
        return rpc(self.rpc_url, method, params)

    def _authorized(self, address):
        if not self.connected or address is None or address.lower() != self.address:
            raise WalletError(UNAUTHORIZED, "The requested account has not been authorized by the user.")

    def _personal_sign(self, params):
        message, address = params[0], params[1]
        self._authorized(address)
        if isinstance(message, str) and message.startswith("0x"):
            signable = encode_defunct(hexstr=message)
        else:
            signable = encode_defunct(text=message)
        signature = "0x" + bytes(self.accounts[self.current].sign_message(signable).signature).hex()
        self._wallet.record("evm", "personal_sign", self.address, "signed", message=message, signature=signature)
        return signature

    def _send_transaction(self, tx):
        """Fills what the page left out as a wallet does (nonce from the pending pool, gas estimate, EIP-1559 fees
        from the latest base fee), signs with eth_account and sends the raw transaction to the devnet."""
        self._authorized(tx.get("from"))
        account = self.accounts[self.current]
        fields = {"chainId": self.chain_id, "from": account.address, "to": tx.get("to"),
                  "data": tx.get("data") or tx.get("input") or "0x", "value": int(tx.get("value", "0x0"), 16)}
        fields["nonce"] = int(tx["nonce"], 16) if "nonce" in tx else \
            int(rpc(self.rpc_url, "eth_getTransactionCount", [account.address, "pending"]), 16)
        estimate = {"from": account.address, "to": tx.get("to"), "data": fields["data"], "value": hex(fields["value"])}
        fields["gas"] = int(tx["gas"], 16) if "gas" in tx else \
            int(rpc(self.rpc_url, "eth_estimateGas", [estimate]), 16) * 5 // 4
        if "gasPrice" in tx:
            fields["gasPrice"] = int(tx["gasPrice"], 16)
        else:
            tip = int(tx["maxPriorityFeePerGas"], 16) if "maxPriorityFeePerGas" in tx else \
                int(rpc(self.rpc_url, "eth_maxPriorityFeePerGas", []), 16)
            base = int(rpc(self.rpc_url, "eth_getBlockByNumber", ["latest", False])["baseFeePerGas"], 16)
            fields.update(type=2, maxPriorityFeePerGas=tip,
                          maxFeePerGas=int(tx["maxFeePerGas"], 16) if "maxFeePerGas" in tx else 2 * base + tip)
        if fields["to"] is None:
            del fields["to"]
        else:
            fields["to"] = to_checksum_address(fields["to"])
        del fields["from"]
        raw = "0x" + bytes(account.sign_transaction(fields).raw_transaction).hex()
        try:
            tx_hash = rpc(self.rpc_url, "eth_sendRawTransaction", [raw])
        except WalletError as error:
            self._wallet.record("evm", "eth_sendTransaction", self.address, "failed", raw=raw, error=error.wire())
            raise
        self._wallet.record("evm", "eth_sendTransaction", self.address, "sent", raw=raw, hash=tx_hash,
                            to=fields.get("to"), data=fields["data"])
        return tx_hash


class SolanaWallet:
    """Solana keypairs (solders Keypair, or 64-byte secret keys as from settle_keypairs) on the LiteSVM RPC peer."""

    def __init__(self, rpc_url, keypairs):
        self.rpc_url = rpc_url
        self.keypairs = [k if isinstance(k, Keypair) else Keypair.from_bytes(bytes(k)) for k in keypairs]
        self.current = 0
        self.connected = False
        self.trusted = False  # connect({onlyIfTrusted: true}) succeeds only after one approved connect
        self._wallet = None

    @property
    def keypair(self):
        return self.keypairs[self.current]

    @property
    def address(self):
        return str(self.keypair.pubkey())

    def _account(self):
        return {"publicKey": self.address, "bytes": base64.b64encode(bytes(self.keypair.pubkey())).decode()}

    def use_account(self, which):
        """Switch to keypair `which` (index or base58 address); a connected page gets accountChanged."""
        if isinstance(which, str):
            which = [str(k.pubkey()) for k in self.keypairs].index(which)
        self.current = which
        if self.connected and self._wallet:
            self._wallet.emit("solana", "accountChanged", [self._account()])

    def approval_needed(self, method, params):
        if method == "connect":
            return not (params or {}).get("onlyIfTrusted")
        return method in ("signTransaction", "signAllTransactions", "signAndSendTransaction", "signMessage")

    def handle(self, method, params):
        if method == "connect":
            if params.get("onlyIfTrusted") and not self.trusted:
                raise WalletError(USER_REJECTED, "User rejected the request.")
            self.connected = self.trusted = True
            self._wallet.record("solana", "connect", self.address, "approved")
            return self._account()
        if method == "disconnect":
            self.connected = False
            return None
        if not self.connected:
            raise WalletError(UNAUTHORIZED, "The requested account has not been authorized by the user.")
        if method == "signTransaction":
            return {"transaction": self._b64(self._sign(self._unb64(params["transaction"]), method))}
        if method == "signAllTransactions":
            return {"transactions": [self._b64(self._sign(self._unb64(t), method)) for t in params["transactions"]]}
        if method == "signAndSendTransaction":
            return self._sign_and_send(self._unb64(params["transaction"]), params.get("options") or {})
        if method == "signMessage":
            message = self._unb64(params["message"])
            signature = self.keypair.sign_message(message)
            self._wallet.record("solana", method, self.address, "signed", message=message.hex(),
                                signature=str(signature))
            return {"signature": self._b64(bytes(signature))}
        raise WalletError(UNSUPPORTED, f"The method \"{method}\" is not supported by the test wallet.")

    def _sign(self, raw, method):
        """Fills this wallet's signature slot in a serialized transaction (legacy or v0) and returns the bytes."""
        try:
            tx = VersionedTransaction.from_bytes(raw)
        except Exception as error:  # solders raises its own types for malformed bytes
            raise WalletError(-32602, f"Invalid transaction bytes: {error}")
        message = tx.message
        signers = list(message.account_keys[:message.header.num_required_signatures])
        if self.keypair.pubkey() not in signers:
            raise WalletError(-32602, "The transaction does not ask for this wallet's signature.")
        signed_bytes = to_bytes_versioned(message) if isinstance(message, MessageV0) else bytes(message)
        signatures = list(tx.signatures)
        signatures[signers.index(self.keypair.pubkey())] = self.keypair.sign_message(signed_bytes)
        signed = bytes(VersionedTransaction.populate(message, signatures))
        if method != "signAndSendTransaction":
            self._wallet.record("solana", method, self.address, "signed", raw=signed.hex())
        return signed

    def _sign_and_send(self, raw, options):
        signed = self._sign(raw, "signAndSendTransaction")
        config = {"encoding": "base64"}
        for key in ("skipPreflight", "preflightCommitment", "maxRetries", "minContextSlot"):
            if key in options:
                config[key] = options[key]
        try:
            signature = rpc(self.rpc_url, "sendTransaction", [self._b64(signed), config])
        except WalletError as error:
            self._wallet.record("solana", "signAndSendTransaction", self.address, "failed", raw=signed.hex(),
                                error=error.wire())
            raise
        signature_bytes = bytes(VersionedTransaction.from_bytes(signed).signatures[0])
        self._wallet.record("solana", "signAndSendTransaction", self.address, "sent", raw=signed.hex(),
                            signature=signature)
        return {"signature": signature, "signatureBytes": self._b64(signature_bytes)}

    @staticmethod
    def _b64(data):
        return base64.b64encode(data).decode()

    @staticmethod
    def _unb64(text):
        return base64.b64decode(text)


class Wallet:
    """Services wallet_standin.js in one browser. Either side may be None (its requests then fail with 4200)."""

    def __init__(self, evm=None, solana=None):
        self.evm, self.solana = evm, solana
        for side in (evm, solana):
            if side is not None:
                side._wallet = self
        self.log = []          # dicts: chain, method, account, outcome (approved|signed|sent|failed|rejected), ...
        self.requests = 0      # every request seen, read-only ones included
        self._rejections = []  # pending reject_next() messages
        self._events = []      # events waiting for the next exchange

    @staticmethod
    def script():
        with open(SCRIPT_PATH, encoding="utf-8") as source:
            return source.read()

    def reject_next(self, count=1, message="User rejected the request."):
        """The next `count` requests that need the user's approval (connect, sign, send, switch chain) fail with
        code 4001, as when the user presses Reject in a wallet."""
        self._rejections.extend([message] * count)

    def record(self, chain, method, account, outcome, **details):
        self.log.append({"chain": chain, "method": method, "account": account, "outcome": outcome, **details})

    def emit(self, chain, event, args):
        """Queues an event for the page: the listeners of `event` are called with *args."""
        self._events.append({"chain": chain, "event": event, "args": args})

    def pump(self, driver):
        """Answers every request the page has queued (and delivers pending events). Returns how many it answered.
        Call it often while a page may be waiting on the wallet; Browser.wait_for does."""
        answered = 0
        answers = []
        while True:
            events, self._events = self._events, []
            requests = driver.execute_script(
                "return window.__settleWallet ? window.__settleWallet.exchange(arguments[0], arguments[1]) : [];",
                answers, events)
            if not requests:
                return answered
            answers = [self._answer(request) for request in requests]
            answered += len(answers)

    def _answer(self, request):
        self.requests += 1
        chain, method, params = request["chain"], request["method"], request["params"]
        side = self.evm if chain == "evm" else self.solana
        try:
            if side is None:
                raise WalletError(UNSUPPORTED, f"The test wallet has no {chain} accounts.")
            needs_approval = side.approval_needed(method) if chain == "evm" else side.approval_needed(method, params)
            if needs_approval and self._rejections:
                message = self._rejections.pop(0)
                self.record(chain, method, side.address, "rejected", params=params)
                raise WalletError(USER_REJECTED, message)
            return {"id": request["id"], "result": side.handle(method, params)}
        except WalletError as error:
            return {"id": request["id"], "error": error.wire()}
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:  # a page's malformed params
            return {"id": request["id"], "error": {"code": -32602, "message": f"Invalid params: {error!r}"}}
