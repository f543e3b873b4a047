#!/usr/bin/env python3
"""An Ethereum JSON-RPC devnet for the Settle tests: eth-tester's py-evm backend behind an HTTP/1.1 JSON-RPC 2.0
server (single and batch requests) that answers in real node shapes (hex quantities, camelCase keys, 0x data,
lowercase addresses, geth's error codes and wording).

Run with the venv that has requirements-evm.txt:
    python evm_devnet.py [--port N] [--chain-id 1337] [--accounts 10] [--balance-eth 1000000]
                         [--no-automine] [--safe-lag 2] [--finalized-lag 4] [--max-logs 10000]
                         [--cache-dir DIR]
The first stdout line is `PORT n` (peerlib.announce); the process exits with its parent.

Node methods: web3_clientVersion, net_version, net_listening, eth_chainId, eth_syncing, eth_accounts,
eth_blockNumber, eth_getBlockByNumber, eth_getBlockByHash, eth_getBlockTransactionCountByNumber,
eth_getBlockTransactionCountByHash, eth_getBlockReceipts, eth_getLogs, eth_getTransactionByHash,
eth_getTransactionByBlockNumberAndIndex, eth_getTransactionReceipt, eth_getTransactionCount, eth_getBalance,
eth_getCode, eth_getStorageAt, eth_gasPrice, eth_maxPriorityFeePerGas, eth_feeHistory, eth_estimateGas, eth_call,
eth_sendRawTransaction, eth_sendTransaction (from a prefunded account only), txpool_status.

Dev methods:
  evm_mine([count | {"blocks": n, "timestamp": t}]) -> "0x0"   mines n blocks (pool transactions go in)
  evm_snapshot() -> "0x1"            id; evm_revert(id) -> true/false (that snapshot and later ones are used up)
  evm_increaseTime(seconds) -> total offset;  evm_setNextBlockTimestamp(ts) -> null
  evm_setAutomine(bool) -> true
  settle_accounts() -> [{"address", "privateKey"}]           prefunded accounts (keys 1..N, 1e6 ETH each)
  settle_deployToken({"name", "symbol", "decimals"?, "initialSupply"?, "owner"?, "kind"?, "feeBps"?,
                      "feeCollector"?}) -> token address
      `kind` (default "standard") picks the contract, see "Token kinds" below. The deployer is `owner` when it
      is a prefunded account, else accounts[0]; the deployer is the token's owner and minter. `initialSupply`
      (default 0) goes to `owner` (default accounts[0]). `decimals` defaults to 18 for "standard" and to 6 for
      every other kind. Kind "fee" only: `feeBps` (default 100 = 1%, at most 10000) and `feeCollector`
      (default 0x000000000000000000000000000000000000fee1, no test account). The deployment is mined at once,
      even with --no-automine.
  settle_mint({"token", "to", "amount"}) -> transaction hash
      a real `mint(to, amount)` transaction from the token's deployer (mined at once under automine; pending
      until evm_mine otherwise). The deployer can also send `mint(address,uint256)` itself. Every kind has it,
      and mint ignores pause and blocklist.
  settle_pause({"token"}) / settle_pause(token) -> transaction hash
  settle_unpause({"token"}) / settle_unpause(token) -> transaction hash
  settle_blocklist({"token", "account"}) / settle_blocklist(token, account) -> transaction hash
  settle_unblocklist({"token", "account"}) / settle_unblocklist(token, account) -> transaction hash
      kind "pausable_blocklist" only (-32602 for another token): a real `pause()`, `unpause()`,
      `blocklist(account)` or `unblocklist(account)` transaction from the token's deployer (its owner); mined
      like settle_mint.
  settle_tokenCall({"token", "function", "args"?, "from"?, "gas"?}) -> transaction hash
      any function of a settle_deployToken token, as a real transaction: `function` is a signature
      ("setFeeBps(uint256)", "transfer(address,uint256)") or a bare name found in that kind's ABI; `args` a
      list (addresses as 0x hex, integers as JSON integers, decimal strings or 0x hex, booleans);
      `from` an account index or a prefunded address (default: the token's deployer). Gas is estimated
      first, so a call that would revert fails with the revert error (code 3) and nothing is sent; with
      `gas` given it is sent anyway (and mined with status 0x0 if it reverts).
  Amounts in dev methods: JSON integer, decimal string or 0x hex.

Token kinds (settle_deployToken "kind"; contracts/settle_token*.vy, snekmate's erc20 module behind a wrapper;
every kind has name, symbol, decimals, totalSupply, balanceOf, allowance, owner, approve, mint by the deployer,
transfer and transferFrom with standard allowance accounting: an allowance of 2**256-1 is never reduced, a finite
one is reduced and logged as Approval(owner, spender, remaining) before the Transfer logs):
  standard            snekmate's erc20 as it is (transfer/transferFrom/approve return true, revert on failure
                      with "erc20: transfer amount exceeds balance" or "erc20: insufficient allowance").
  fee                 fee-on-transfer: of `amount`, the recipient gets amount - fee and `feeCollector` gets
                      fee = floor(amount * feeBps / 10000); logs Transfer(from, to, amount - fee) then, if
                      fee > 0, Transfer(from, feeCollector, fee). Sender and allowance lose the full amount.
                      Views feeBps(), feeCollector(); the owner can setFeeBps(uint256) (settle_tokenCall).
  false               returns false (32 zero bytes) instead of reverting when the balance (transfer,
                      transferFrom) or allowance (transferFrom) is short: nothing moves, nothing is logged,
                      the transaction succeeds (status 0x1) and eth_estimateGas does not fail.
  noreturn            USDT-style: transfer, transferFrom and approve return no data at all ("0x" from eth_call);
                      otherwise standard (revert with snekmate's reasons on failure).
  usdt                USDT's approve (issue 16): approve(spender, value) reverts, with no reason (code 3,
                      "execution reverted", data "0x"), when both value and the current allowance are non-zero;
                      set it to 0 first (approve to 0 and from 0 work and log Approval). Like noreturn,
                      transfer, transferFrom and approve return no data; otherwise standard.
  pausable_blocklist  USDC-style: while paused, transfer/transferFrom/approve revert "paused"; a blocklisted
                      sender/recipient (transfer), owner/recipient/caller (transferFrom), caller/spender
                      (approve) reverts "blocklisted" (pause checked first, then the blocklist, then allowance
                      and balance). Views paused(), isBlocklisted(address). Controls: settle_pause & co.
  lying               takes `amount` from the sender and logs Transfer(from, to, amount) but credits the
                      recipient floor(amount / 2); the rest is burned (totalSupply drops) without a log.

Behaviour worth knowing (all deliberate):
- Addresses in results are lowercase (as geth prints them); inputs are accepted in any case.
- Quantities in node methods are strict like geth: 0x prefix, no leading zeros ("0x01" is -32602).
- eth_sendRawTransaction rejects unprotected legacy transactions (no EIP-155 chain id), other chain ids, blob
  (type 3) and set-code (type 4) transactions, and a max fee below the next block's base fee (geth would queue
  it). Transactions with a nonce gap wait in the pool (eth_getTransactionByHash shows them; no receipt).
- Revert: code 3, message "execution reverted" or geth's "execution reverted: <Error(string) reason>", data hex.
- eth_getLogs: logIndex per block; toBlock past the head is clamped to the head; fromBlock > toBlock is -32602;
  more than --max-logs results is -32005 in Infura's words with upper-case hex
  ("query returned more than N results. Try with this block range [0xA, 0x1F].", data {from, to, limit}),
  the suggested range being the longest prefix of the query that fits. Logs also carry blockTimestamp.
- "pending" means "latest" for blocks and state; only eth_getTransactionCount(…, "pending") counts the pool.
- Timestamps: max(parent + 1, wall clock + evm_increaseTime offset); a burst of more than one block a second
  runs ahead of the clock by a second a block and falls back to it once idle.
- eth_call/eth_estimateGas run at the given block in a costless state (gas price and base fee 0): nothing is
  charged, no balance is needed for gas; state overrides (third parameter) are ignored.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peerlib import JSONHandler, ThreadingServer, announce, exit_with_parent  # noqa: E402
from evm_devnet_chain import (  # noqa: E402
    DEFAULT_PRIORITY_FEE,
    Devnet,
    RpcError,
    hb,
    hq,
    invalid_params,
    selector,
)
from evm_devnet_token import CONSTRUCTOR_TYPES, KINDS, TokenArtifact  # noqa: E402

TAGS = ("latest", "pending", "earliest", "safe", "finalized")
MINT_SELECTOR = selector("mint(address,uint256)")
# The fee token's default collector: an address no test account has, so a test sees the fee arrive there.
DEFAULT_FEE_COLLECTOR = bytes.fromhex("000000000000000000000000000000000000fee1")
DEFAULT_FEE_BPS = 100


# ---------------------------------------------------------------------- parameter parsing
def _arg(params, index, name, default=..., required=True):
    if index < len(params):
        return params[index]
    if default is not ...:
        return default
    raise invalid_params(f"missing value for required argument {index} ({name})")


def parse_quantity(value, where, allow_int=False) -> int:
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise invalid_params(f"invalid argument {where}: negative number")
        return value
    if not isinstance(value, str):
        raise invalid_params(f"invalid argument {where}: json: cannot unmarshal non-string into hex quantity")
    if not value.startswith(("0x", "0X")):
        raise invalid_params(f"invalid argument {where}: hex string without 0x prefix")
    digits = value[2:]
    if not digits:
        raise invalid_params(f"invalid argument {where}: hex string \"0x\"")
    if len(digits) > 1 and digits[0] == "0":
        raise invalid_params(f"invalid argument {where}: hex number with leading zero digits")
    try:
        return int(digits, 16)
    except ValueError:
        raise invalid_params(f"invalid argument {where}: invalid hex string")


def parse_amount(value, where) -> int:
    """Dev methods: JSON integer, decimal string, or 0x hex."""
    if isinstance(value, bool):
        raise invalid_params(f"invalid {where}: not a number")
    if isinstance(value, int):
        result = value
    elif isinstance(value, str) and value.lower().startswith("0x"):
        try:
            result = int(value, 16)
        except ValueError:
            raise invalid_params(f"invalid {where}: invalid hex string")
    elif isinstance(value, str) and value.isdigit():
        result = int(value)
    else:
        raise invalid_params(f"invalid {where}: expected an integer, a decimal string or 0x hex")
    if result < 0 or result >= 2**256:
        raise invalid_params(f"invalid {where}: out of uint256 range")
    return result


def parse_bytes(value, where, length=None) -> bytes:
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise invalid_params(f"invalid argument {where}: expected 0x-prefixed hex data")
    digits = value[2:]
    if len(digits) % 2:
        raise invalid_params(f"invalid argument {where}: hex string of odd length")
    try:
        data = bytes.fromhex(digits)
    except ValueError:
        raise invalid_params(f"invalid argument {where}: invalid hex string")
    if length is not None and len(data) != length:
        raise invalid_params(f"invalid argument {where}: hex string has length {len(digits)}, want {2 * length}")
    return data


def parse_address(value, where) -> bytes:
    return parse_bytes(value, where, 20)


def parse_hash(value, where) -> bytes:
    return parse_bytes(value, where, 32)


def parse_bool(value, where) -> bool:
    if not isinstance(value, bool):
        raise invalid_params(f"invalid argument {where}: expected a boolean")
    return value


class Rpc:
    def __init__(self, devnet: Devnet, artifacts=None):
        self.devnet = devnet
        if artifacts is None:
            standard = devnet.token_artifact or TokenArtifact()
            artifacts = {kind: TokenArtifact(standard.cache_dir, kind) for kind in KINDS}
            artifacts["standard"] = standard
        self.artifacts = artifacts  # kind -> TokenArtifact
        self.token_kinds = {}  # token address (0x lowercase) -> kind, for tokens from settle_deployToken
        self.methods = {
            name[4:]: getattr(self, name)
            for name in dir(self)
            if name.startswith("rpc_")
        }

    # ------------------------------------------------------------------ dispatch
    def handle(self, request):
        """One request object -> one response object, or None for a notification."""
        if not isinstance(request, dict):
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "invalid request"}}
        rid = request.get("id")
        is_notification = "id" not in request
        method = request.get("method")
        params = request.get("params", [])
        try:
            if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
                raise RpcError(-32600, "invalid request")
            if params is None:
                params = []
            if not isinstance(params, list):
                raise invalid_params("non-array args")
            handler = self.methods.get(method)
            if handler is None:
                raise RpcError(-32601, f"the method {method} does not exist/is not available")
            with self.devnet.lock:
                result = handler(params)
            response = {"jsonrpc": "2.0", "id": rid, "result": result}
        except RpcError as exc:
            response = {"jsonrpc": "2.0", "id": rid, "error": exc.to_json()}
        except Exception as exc:  # noqa: BLE001 - never let bad input take the server down
            response = {
                "jsonrpc": "2.0",
                "id": rid,
                "error": {"code": -32603, "message": f"internal error: {type(exc).__name__}: {exc}"},
            }
        return None if is_notification else response

    # ------------------------------------------------------------------ block parameters
    def resolve_number(self, value, where) -> int:
        if isinstance(value, str) and value in TAGS:
            return self.devnet.tag_number(value)
        if isinstance(value, dict):
            if "blockHash" in value:
                rec = self.devnet.by_hash.get(parse_hash(value["blockHash"], where))
                if rec is None:
                    raise RpcError(-32000, "header for hash not found")
                return rec.number
            if "blockNumber" in value:
                return self.resolve_number(value["blockNumber"], where)
            raise invalid_params(f"invalid argument {where}: expected blockHash or blockNumber")
        if isinstance(value, str) and value.startswith(("0x", "0X")):
            return parse_quantity(value, where)
        raise invalid_params(f"invalid argument {where}: expected a block number, tag or hash object")

    def state_block(self, params, index):
        number = self.resolve_number(_arg(params, index, "block", "latest"), index)
        rec = self.devnet.block_at(number)
        if rec is None:
            raise RpcError(-32000, "header not found")
        return rec

    # ------------------------------------------------------------------ plain node methods
    def rpc_web3_clientVersion(self, params):
        return "SettleDevnet/v0.1/py-evm"

    def rpc_net_version(self, params):
        return str(self.devnet.chain_id)

    def rpc_net_listening(self, params):
        return True

    def rpc_eth_chainId(self, params):
        return hq(self.devnet.chain_id)

    def rpc_eth_syncing(self, params):
        return False

    def rpc_eth_accounts(self, params):
        return [a["address"] for a in self.devnet.accounts()]

    def rpc_eth_blockNumber(self, params):
        return hq(self.devnet.head.number)

    def rpc_eth_getBlockByNumber(self, params):
        number = self.resolve_number(_arg(params, 0, "block"), 0)
        full = parse_bool(_arg(params, 1, "fullTransactions", False), 1)
        rec = self.devnet.block_at(number)
        return None if rec is None else self.devnet.block_json(rec, full)

    def rpc_eth_getBlockByHash(self, params):
        rec = self.devnet.by_hash.get(parse_hash(_arg(params, 0, "blockHash"), 0))
        full = parse_bool(_arg(params, 1, "fullTransactions", False), 1)
        return None if rec is None else self.devnet.block_json(rec, full)

    def rpc_eth_getBlockTransactionCountByNumber(self, params):
        rec = self.devnet.block_at(self.resolve_number(_arg(params, 0, "block"), 0))
        return None if rec is None else hq(len(rec.txs))

    def rpc_eth_getBlockTransactionCountByHash(self, params):
        rec = self.devnet.by_hash.get(parse_hash(_arg(params, 0, "blockHash"), 0))
        return None if rec is None else hq(len(rec.txs))

    def rpc_eth_getBlockReceipts(self, params):
        rec = self.devnet.block_at(self.resolve_number(_arg(params, 0, "block"), 0))
        return None if rec is None else list(rec.receipts)

    def rpc_eth_getTransactionByHash(self, params):
        return self.devnet.find_tx(parse_hash(_arg(params, 0, "hash"), 0))

    def rpc_eth_getTransactionByBlockNumberAndIndex(self, params):
        rec = self.devnet.block_at(self.resolve_number(_arg(params, 0, "block"), 0))
        index = parse_quantity(_arg(params, 1, "index"), 1)
        if rec is None or index >= len(rec.txs):
            return None
        return self.devnet.tx_json(rec.txs[index], rec.senders[index], rec, index)

    def rpc_eth_getTransactionReceipt(self, params):
        return self.devnet.receipt(parse_hash(_arg(params, 0, "hash"), 0))

    def rpc_eth_getTransactionCount(self, params):
        address = parse_address(_arg(params, 0, "address"), 0)
        if _arg(params, 1, "block", "latest") == "pending":
            return hq(self.devnet.pending_nonce(address))
        return hq(self.devnet.state_at(self.state_block(params, 1)).get_nonce(address))

    def rpc_eth_getBalance(self, params):
        address = parse_address(_arg(params, 0, "address"), 0)
        return hq(self.devnet.state_at(self.state_block(params, 1)).get_balance(address))

    def rpc_eth_getCode(self, params):
        address = parse_address(_arg(params, 0, "address"), 0)
        return hb(self.devnet.state_at(self.state_block(params, 1)).get_code(address))

    def rpc_eth_getStorageAt(self, params):
        address = parse_address(_arg(params, 0, "address"), 0)
        slot = _arg(params, 1, "slot")
        if isinstance(slot, str) and len(slot) == 66:
            slot = int.from_bytes(parse_hash(slot, 1), "big")
        else:
            slot = parse_quantity(slot, 1)
        value = self.devnet.state_at(self.state_block(params, 2)).get_storage(address, slot)
        return hb(value.to_bytes(32, "big"))

    def rpc_eth_gasPrice(self, params):
        return hq(self.devnet.gas_price())

    def rpc_eth_maxPriorityFeePerGas(self, params):
        return hq(DEFAULT_PRIORITY_FEE)

    def rpc_eth_feeHistory(self, params):
        count_param = _arg(params, 0, "blockCount")
        count = parse_quantity(count_param, 0, allow_int=True)
        if count < 1 or count > 1024:
            raise invalid_params("invalid argument 0: blockCount must be between 1 and 1024")
        newest = self.resolve_number(_arg(params, 1, "newestBlock"), 1)
        if newest > self.devnet.head.number:
            raise invalid_params(f"request beyond head block: requested {newest}, head {self.devnet.head.number}")
        percentiles = _arg(params, 2, "rewardPercentiles", None)
        if percentiles is not None:
            if not isinstance(percentiles, list) or not all(
                isinstance(p, (int, float)) and not isinstance(p, bool) for p in percentiles
            ):
                raise invalid_params("invalid argument 2: rewardPercentiles must be a list of numbers")
            for i, p in enumerate(percentiles):
                if p < 0 or p > 100:
                    raise invalid_params(f"invalid reward percentile: {p}")
                if i > 0 and p <= percentiles[i - 1]:
                    raise invalid_params(f"invalid reward percentile: #{i - 1}:{percentiles[i - 1]} >= #{i}:{p}")
        return self.devnet.fee_history(count, newest, percentiles)

    # ------------------------------------------------------------------ calls
    def parse_call(self, value, where):
        if not isinstance(value, dict):
            raise invalid_params(f"invalid argument {where}: expected a transaction call object")
        sender = parse_address(value["from"], where) if value.get("from") is not None else b"\x00" * 20
        to = parse_address(value["to"], where) if value.get("to") is not None else b""
        data_field, input_field = value.get("data"), value.get("input")
        if data_field is not None and input_field is not None and data_field != input_field:
            raise invalid_params(
                'both "data" and "input" are set and not equal. Please use "input" to pass transaction call data'
            )
        raw = input_field if input_field is not None else data_field
        data = parse_bytes(raw, where) if raw is not None else b""
        val = parse_quantity(value["value"], where) if value.get("value") is not None else 0
        gas = parse_quantity(value["gas"], where) if value.get("gas") is not None else None
        return sender, to, val, data, gas

    def rpc_eth_call(self, params):
        sender, to, value, data, gas = self.parse_call(_arg(params, 0, "transaction"), 0)
        rec = self.state_block(params, 1)
        return hb(self.devnet.call(rec, sender, to, value, data, gas))

    def rpc_eth_estimateGas(self, params):
        sender, to, value, data, gas = self.parse_call(_arg(params, 0, "transaction"), 0)
        rec = self.state_block(params, 1)
        return hq(self.devnet.estimate_gas(rec, sender, to, value, data, gas))

    # ------------------------------------------------------------------ transactions
    def rpc_eth_sendRawTransaction(self, params):
        raw = parse_bytes(_arg(params, 0, "data"), 0)
        return hb(self.devnet.send_raw(raw))

    def rpc_eth_sendTransaction(self, params):
        sender, to, value, data, gas = self.parse_call(_arg(params, 0, "transaction"), 0)
        return hb(self.devnet.sign_and_send(sender, to, data, value, gas))

    def rpc_txpool_status(self, params):
        ready = len(self.devnet._ready_transactions())
        return {"pending": hq(ready), "queued": hq(len(self.devnet.pool_hashes) - ready)}

    # ------------------------------------------------------------------ logs
    def rpc_eth_getLogs(self, params):
        query = _arg(params, 0, "filter")
        if not isinstance(query, dict):
            raise invalid_params("invalid argument 0: expected a filter object")
        addresses = query.get("address")
        if addresses is None:
            address_set = None
        else:
            if isinstance(addresses, str):
                addresses = [addresses]
            if not isinstance(addresses, list):
                raise invalid_params("invalid argument 0: address must be a string or a list of strings")
            address_set = {hb(parse_address(a, 0)) for a in addresses}
        topics = query.get("topics") or []
        if not isinstance(topics, list) or len(topics) > 4:
            raise invalid_params("invalid argument 0: topics must be a list of at most 4 positions")
        wanted = []
        for position in topics:
            if position is None:
                wanted.append(None)
            elif isinstance(position, str):
                wanted.append({hb(parse_hash(position, 0))})
            elif isinstance(position, list):
                if not position or any(t is None for t in position):
                    wanted.append(None)  # an empty or null-containing OR-list matches anything
                else:
                    wanted.append({hb(parse_hash(t, 0)) for t in position})
            else:
                raise invalid_params("invalid argument 0: a topic must be null, a hash or a list of hashes")
        if query.get("blockHash") is not None:
            if query.get("fromBlock") is not None or query.get("toBlock") is not None:
                raise invalid_params("invalid argument 0: cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other")
            rec = self.devnet.by_hash.get(parse_hash(query["blockHash"], 0))
            if rec is None:
                raise RpcError(-32000, "unknown block")
            return self.devnet.block_logs(rec, address_set, wanted)
        first = self.resolve_number(query.get("fromBlock") or "latest", 0)
        last = self.resolve_number(query.get("toBlock") or "latest", 0)
        if first > last:
            raise invalid_params("invalid block range params")
        return self.devnet.get_logs(first, last, address_set, wanted)

    # ------------------------------------------------------------------ dev methods
    def rpc_evm_mine(self, params):
        count, timestamp = 1, None
        if params:
            arg = params[0]
            if isinstance(arg, dict):
                if arg.get("blocks") is not None:
                    count = parse_amount(arg["blocks"], "blocks")
                if arg.get("timestamp") is not None:
                    timestamp = parse_amount(arg["timestamp"], "timestamp")
            elif arg is not None:
                count = parse_amount(arg, "count")
        if count > 10000:
            raise invalid_params("evm_mine: at most 10000 blocks per call")
        if timestamp is not None:
            self.devnet.next_timestamp = timestamp
        self.devnet.mine(count)
        return "0x0"

    def rpc_evm_snapshot(self, params):
        return self.devnet.snapshot()

    def rpc_evm_revert(self, params):
        sid = parse_amount(_arg(params, 0, "snapshotId"), "snapshot id")
        return self.devnet.revert(sid)

    def rpc_evm_increaseTime(self, params):
        seconds = parse_amount(_arg(params, 0, "seconds"), "seconds")
        self.devnet.time_offset += seconds
        return self.devnet.time_offset

    def rpc_evm_setNextBlockTimestamp(self, params):
        self.devnet.next_timestamp = parse_amount(_arg(params, 0, "timestamp"), "timestamp")
        return None

    def rpc_evm_setAutomine(self, params):
        self.devnet.automine = parse_bool(_arg(params, 0, "enabled"), 0)
        if self.devnet.automine:
            self.devnet.flush_automine()
        return True

    def rpc_settle_accounts(self, params):
        return self.devnet.accounts()

    def rpc_settle_deployToken(self, params):
        spec = _arg(params, 0, "token")
        if not isinstance(spec, dict):
            raise invalid_params("settle_deployToken: expected {name, symbol, decimals, initialSupply?, owner?, kind?}")
        kind = spec.get("kind", "standard")
        if kind is None:
            kind = "standard"
        if kind not in KINDS:
            raise invalid_params(f"settle_deployToken: unknown kind {kind!r} (one of {', '.join(KINDS)})")
        name, symbol = spec.get("name"), spec.get("symbol")
        if not isinstance(name, str) or not name or len(name.encode()) > 25:
            raise invalid_params("settle_deployToken: name must be a string of 1 to 25 bytes")
        if not isinstance(symbol, str) or not symbol or len(symbol.encode()) > 5:
            raise invalid_params("settle_deployToken: symbol must be a string of 1 to 5 bytes")
        decimals = parse_amount(spec.get("decimals", 18 if kind == "standard" else 6), "decimals")
        if decimals > 255:
            raise invalid_params("settle_deployToken: decimals must be 0 to 255")
        supply = parse_amount(spec.get("initialSupply", 0), "initialSupply")
        extra_values = []
        if kind == "fee":
            fee_bps = parse_amount(spec.get("feeBps", DEFAULT_FEE_BPS), "feeBps")
            if fee_bps > 10000:
                raise invalid_params("settle_deployToken: feeBps must be 0 to 10000")
            collector = DEFAULT_FEE_COLLECTOR
            if spec.get("feeCollector") is not None:
                collector = parse_address(spec["feeCollector"], "feeCollector")
            if collector == bytes(20):
                raise invalid_params("settle_deployToken: feeCollector must not be the zero address")
            extra_values = [fee_bps, collector]
        elif spec.get("feeBps") is not None or spec.get("feeCollector") is not None:
            raise invalid_params("settle_deployToken: feeBps and feeCollector apply to kind \"fee\" only")
        devnet = self.devnet
        first_account = devnet.keys[0].public_key.to_canonical_address()
        owner = parse_address(spec["owner"], "owner") if spec.get("owner") is not None else first_account
        deployer = owner if owner in devnet.key_by_address else first_account
        artifact = self.artifacts[kind].get()
        from eth_abi import encode as abi_encode

        types = list(CONSTRUCTOR_TYPES) + list(KINDS[kind][1])
        args = abi_encode(types, [name, symbol, decimals, hb(owner), supply] + extra_values)
        code = bytes.fromhex(artifact["bytecode"][2:]) + args
        tx_hash = devnet.sign_and_send(deployer, None, code)
        if not devnet.automine:
            devnet.mine(1)
        receipt = devnet.receipt(tx_hash)
        if receipt is None or receipt["status"] != "0x1":
            raise RpcError(-32000, "token deployment failed", {"transactionHash": hb(tx_hash)})
        devnet.tokens[receipt["contractAddress"]] = deployer
        self.token_kinds[receipt["contractAddress"]] = kind
        return receipt["contractAddress"]

    def _deployed(self, token: bytes, method: str) -> bytes:
        """The deployer of a token made by settle_deployToken that is still on the chain."""
        deployer = self.devnet.tokens.get(hb(token))
        if deployer is None or not self.devnet.state_at(self.devnet.head).get_code(token):
            raise invalid_params(f"{method}: {hb(token)} was not deployed by settle_deployToken on this chain")
        return deployer

    def rpc_settle_mint(self, params):
        spec = _arg(params, 0, "mint")
        if not isinstance(spec, dict):
            raise invalid_params("settle_mint: expected {token, to, amount}")
        token = parse_address(spec.get("token"), "token")
        to = parse_address(spec.get("to"), "to")
        amount = parse_amount(spec.get("amount"), "amount")
        deployer = self._deployed(token, "settle_mint")
        data = MINT_SELECTOR + bytes(12) + to + amount.to_bytes(32, "big")
        return hb(self.devnet.sign_and_send(deployer, token, data))

    # -------------------------------------------------------------- token controls
    def _account(self, value, where) -> bytes:
        """A prefunded account by index (JSON integer) or address."""
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < len(self.devnet.keys):
                raise invalid_params(f"invalid {where}: account index out of range 0..{len(self.devnet.keys) - 1}")
            return self.devnet.keys[value].public_key.to_canonical_address()
        address = parse_address(value, where)
        if address not in self.devnet.key_by_address:
            raise invalid_params(f"invalid {where}: {hb(address)} is not one of this devnet's accounts")
        return address

    def _function_types(self, token: bytes, function, method: str):
        """(signature, argument types) from "name(type,...)" or from a bare name in the token's ABI."""
        if not isinstance(function, str) or not function:
            raise invalid_params(f"{method}: function must be a name or a signature like \"pause()\"")
        if "(" in function:
            if not function.endswith(")") or function.count("(") != 1:
                raise invalid_params(f"{method}: cannot parse the signature {function!r} (no tuples)")
            name, inner = function[:-1].split("(")
            types = [t.strip() for t in inner.split(",")] if inner.strip() else []
            return f"{name.strip()}({','.join(types)})", types
        kind = self.token_kinds.get(hb(token), "standard")
        abi = self.artifacts[kind].get()["abi"]
        matches = [f for f in abi if f.get("type") == "function" and f.get("name") == function]
        if len(matches) != 1:
            raise invalid_params(f"{method}: the {kind} token has {len(matches)} functions named {function!r}; give a signature")
        types = [i["type"] for i in matches[0]["inputs"]]
        return f"{function}({','.join(types)})", types

    @staticmethod
    def _abi_value(abi_type: str, value, where):
        if abi_type == "address":
            return parse_address(value, where)
        if abi_type.startswith(("uint", "int")) and not abi_type.endswith("]"):
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            return parse_amount(value, where)
        if abi_type == "bool":
            return parse_bool(value, where)
        if abi_type.startswith("bytes") and not abi_type.endswith("]"):
            return parse_bytes(value, where)
        return value

    def _send_token_call(self, token: bytes, sender: bytes, signature: str, types, values, gas=None) -> str:
        from eth_abi import encode as abi_encode

        data = selector(signature) + abi_encode(list(types), list(values))
        return hb(self.devnet.sign_and_send(sender, token, data, 0, gas))

    def rpc_settle_tokenCall(self, params):
        spec = _arg(params, 0, "call")
        if not isinstance(spec, dict):
            raise invalid_params("settle_tokenCall: expected {token, function, args?, from?, gas?}")
        token = parse_address(spec.get("token"), "token")
        deployer = self._deployed(token, "settle_tokenCall")
        sender = deployer if spec.get("from") is None else self._account(spec["from"], "from")
        signature, types = self._function_types(token, spec.get("function"), "settle_tokenCall")
        args = spec.get("args") or []
        if not isinstance(args, list) or len(args) != len(types):
            raise invalid_params(f"settle_tokenCall: {signature} takes {len(types)} arguments")
        values = [self._abi_value(t, v, f"args[{i}]") for i, (t, v) in enumerate(zip(types, args))]
        gas = parse_amount(spec["gas"], "gas") if spec.get("gas") is not None else None
        return self._send_token_call(token, sender, signature, types, values, gas)

    def _control(self, params, method, signature, with_account):
        """settle_pause/unpause/blocklist/unblocklist: ({token, account?}) or (token, account?)."""
        first = _arg(params, 0, "token")
        if isinstance(first, dict):
            token_value, account_value = first.get("token"), first.get("account")
        else:
            token_value, account_value = first, _arg(params, 1, "account", None)
        token = parse_address(token_value, "token")
        deployer = self._deployed(token, method)
        kind = self.token_kinds.get(hb(token), "standard")
        if kind != "pausable_blocklist":
            raise invalid_params(f"{method}: {hb(token)} is a {kind} token, not pausable_blocklist")
        if not with_account:
            return self._send_token_call(token, deployer, signature, [], [])
        if account_value is None:
            raise invalid_params(f"{method}: missing account")
        return self._send_token_call(token, deployer, signature, ["address"], [parse_address(account_value, "account")])

    def rpc_settle_pause(self, params):
        return self._control(params, "settle_pause", "pause()", False)

    def rpc_settle_unpause(self, params):
        return self._control(params, "settle_unpause", "unpause()", False)

    def rpc_settle_blocklist(self, params):
        return self._control(params, "settle_blocklist", "blocklist(address)", True)

    def rpc_settle_unblocklist(self, params):
        return self._control(params, "settle_unblocklist", "unblocklist(address)", True)


# ---------------------------------------------------------------------- HTTP
class Handler(JSONHandler):
    rpc: Rpc = None

    def do_GET(self):
        self.reply(405, json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "use POST"}}).encode())

    def do_POST(self):
        raw, problem = self.read_body()
        if raw is None:
            return self.reply(400, b'{"error":"%s"}' % problem.encode())
        answer = self.answer(raw)
        self.reply(200 if answer else 204, answer)  # 204: only notifications, nothing to answer

    def answer(self, raw: bytes) -> bytes:
        try:
            request = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}).encode()
        if isinstance(request, list):
            if not request:
                answer = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "empty batch"}}
            else:
                answer = [r for r in (self.rpc.handle(item) for item in request) if r is not None]
                if not answer:
                    return b""
        else:
            answer = self.rpc.handle(request)
            if answer is None:
                return b""
        return json.dumps(answer, separators=(",", ":")).encode()


def build_parser():
    parser = argparse.ArgumentParser(description="Settle's EVM devnet (eth-tester + py-evm) over JSON-RPC")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--chain-id", type=int, default=1337)
    parser.add_argument("--accounts", type=int, default=10, help="prefunded accounts (keys 1..N)")
    parser.add_argument("--balance-eth", type=int, default=1_000_000, help="ETH per prefunded account")
    parser.add_argument("--no-automine", action="store_true", help="pool transactions until evm_mine")
    parser.add_argument("--safe-lag", type=int, default=2, help="'safe' = latest - N (floored at 0)")
    parser.add_argument("--finalized-lag", type=int, default=4, help="'finalized' = latest - N (floored at 0)")
    parser.add_argument("--max-logs", type=int, default=10000, help="eth_getLogs result limit (-32005 above)")
    parser.add_argument("--cache-dir", default=None, help="compiled token cache (default: $TMPDIR/settle-evm-devnet-cache)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    exit_with_parent()
    artifacts = {kind: TokenArtifact(args.cache_dir, kind) for kind in KINDS}
    artifact = artifacts["standard"]
    artifact.warm_in_background()
    devnet = Devnet(
        chain_id=args.chain_id,
        accounts=max(1, args.accounts),
        balance_wei=args.balance_eth * 10**18,
        automine=not args.no_automine,
        safe_lag=args.safe_lag,
        finalized_lag=args.finalized_lag,
        max_logs=args.max_logs,
        token_artifact=artifact,
    )
    Handler.rpc = Rpc(devnet, artifacts)
    server = ThreadingServer(("127.0.0.1", args.port), Handler)
    announce(server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
