"""The devnet's chain: eth-tester's py-evm backend builds the genesis and the chain; this module drives
py-evm directly for what eth-tester gets wrong (see PITFALLS "EVM devnet over eth-tester + py-evm"):

- a transaction pool with node-like admission (chain id, nonce, fees, funds, replacement rules);
- one block built per mining step with every transaction applied to one state, tries built once
  (not per transaction), fresh wall-clock timestamps and a random prevrandao;
- its own canonical view: blocks by number and hash, transaction locations, and a log index per block,
  appended as blocks are mined and cut back on `evm_revert`;
- calls and gas estimates in a costless state (nothing charged), with revert data kept.

All public methods expect the caller to hold `Devnet.lock` (py-evm is not thread-safe).
Results are JSON-ready (hex quantities, lowercase 0x addresses, camelCase keys).
"""
import bisect
import heapq
import itertools
import os
import threading
import time

from eth._utils.address import generate_contract_address
from eth.constants import GENESIS_PARENT_HASH
from eth.exceptions import OutOfGas, Revert
from eth_utils import ValidationError as EvmValidationError
from eth.vm.spoof import SpoofTransaction
from eth_abi import decode as abi_decode
from eth_account import Account
from eth_tester.backends.pyevm.main import PyEVMBackend
from eth_utils import keccak

ZERO_ADDRESS = b"\x00" * 20
EMPTY_UNCLES_HASH = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"
ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")
PANIC_SELECTOR = bytes.fromhex("4e487b71")
DEFAULT_PRIORITY_FEE = 10**9  # 1 gwei, like geth's and anvil's suggestion


class RpcError(Exception):
    def __init__(self, code, message, data=None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def to_json(self):
        error = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(message):
    return RpcError(-32602, message)


def hq(value: int) -> str:
    return hex(value)


def hb(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def bloom_hex(value: int) -> str:
    return "0x" + value.to_bytes(256, "big").hex()


def revert_message(data: bytes) -> str:
    """geth's wording: `execution reverted`, plus `: reason` when the data is Error(string)."""
    if data[:4] == ERROR_STRING_SELECTOR:
        try:
            return "execution reverted: " + abi_decode(["string"], data[4:])[0]
        except Exception:  # noqa: BLE001 - undecodable reason: plain message
            pass
    if data[:4] == PANIC_SELECTOR and len(data) == 36:
        return "execution reverted: panic code " + hex(int.from_bytes(data[4:], "big"))
    return "execution reverted"


def tx_type(tx) -> int:
    type_id = getattr(tx, "type_id", None)
    return 0 if type_id is None else type_id


def max_fee(tx) -> int:
    return tx.max_fee_per_gas


def priority_fee(tx) -> int:
    return tx.max_priority_fee_per_gas


def effective_gas_price(tx, base_fee: int) -> int:
    return min(tx.max_fee_per_gas, base_fee + tx.max_priority_fee_per_gas)


class BlockRec:
    """One canonical block as the RPC layer needs it. `logs` hold JSON-ready dicts plus match keys."""

    __slots__ = ("number", "hash", "header", "txs", "senders", "receipts", "logs", "tips", "size", "_json")

    def __init__(self, number, block_hash, header, txs, senders, receipts, logs, tips, size):
        self.number, self.hash, self.header = number, block_hash, header
        self.txs, self.senders, self.receipts, self.logs = txs, senders, receipts, logs
        self.tips = tips  # [(gas used, effective priority fee per gas)] for eth_feeHistory rewards
        self.size = size
        self._json = None

    def header_json(self) -> dict:
        if self._json is None:
            h = self.header
            j = {
                "number": hq(h.block_number),
                "hash": hb(self.hash),
                "parentHash": hb(h.parent_hash),
                "nonce": hb(h.nonce),
                "mixHash": hb(h.mix_hash),
                "sha3Uncles": hb(h.uncles_hash),
                "logsBloom": bloom_hex(h.bloom),
                "transactionsRoot": hb(h.transaction_root),
                "stateRoot": hb(h.state_root),
                "receiptsRoot": hb(h.receipt_root),
                "miner": hb(h.coinbase),
                "difficulty": hq(h.difficulty),
                "totalDifficulty": "0x0",
                "extraData": hb(h.extra_data),
                "size": hq(self.size),
                "gasLimit": hq(h.gas_limit),
                "gasUsed": hq(h.gas_used),
                "timestamp": hq(h.timestamp),
                "uncles": [],
                "baseFeePerGas": hq(h.base_fee_per_gas),
                "withdrawals": [],
            }
            for attr, key in (
                ("withdrawals_root", "withdrawalsRoot"),
                ("parent_beacon_block_root", "parentBeaconBlockRoot"),
                ("requests_hash", "requestsHash"),
            ):
                if hasattr(h, attr):
                    j[key] = hb(getattr(h, attr))
            for attr, key in (("blob_gas_used", "blobGasUsed"), ("excess_blob_gas", "excessBlobGas")):
                if hasattr(h, attr):
                    j[key] = hq(getattr(h, attr))
            self._json = j
        return self._json


class Devnet:
    def __init__(
        self,
        chain_id=1337,
        accounts=10,
        balance_wei=10**6 * 10**18,
        automine=True,
        safe_lag=2,
        finalized_lag=4,
        max_logs=10000,
        token_artifact=None,
    ):
        self.lock = threading.RLock()
        self.chain_id = chain_id
        self.automine = automine
        self.safe_lag, self.finalized_lag, self.max_logs = safe_lag, finalized_lag, max_logs
        self.token_artifact = token_artifact

        state = PyEVMBackend.generate_genesis_state(overrides={"balance": balance_wei}, num_accounts=accounts)
        backend = PyEVMBackend(genesis_state=state)
        self.chain = backend.chain
        # eth-tester hard-codes its own chain id; the VMs (CHAINID opcode) read it from the chain object.
        self.chain.chain_id = chain_id
        self.keys = list(backend.account_keys)
        self.key_by_address = {k.public_key.to_canonical_address(): k for k in self.keys}
        self.coinbase = ZERO_ADDRESS

        genesis = self.chain.get_canonical_head()
        gblock = self.chain.get_block_by_header(genesis)
        self.blocks = [BlockRec(0, genesis.hash, genesis, (), (), (), [], [], len(_rlp_encode(gblock)))]
        self.by_hash = {genesis.hash: self.blocks[0]}
        self.tx_loc = {}  # tx hash -> (block number, index), canonical only
        self.log_blocks = []  # ascending numbers of blocks that have at least one log

        # Pool: sender -> {nonce: tx}; hash -> (tx, sender); arrival order for fair, deterministic mining.
        self.pool = {}
        self.pool_hashes = {}
        self.arrival = {}
        self._arrivals = itertools.count()

        self.snapshots = {}
        self._snapshot_ids = itertools.count(1)
        self.time_offset = 0
        self.next_timestamp = None
        self.tokens = {}  # token address -> deployer address (the token's owner and minter)
        self._head_state = None
        self._next_base_fee = None

    # ------------------------------------------------------------------ blocks and tags
    @property
    def head(self) -> BlockRec:
        return self.blocks[-1]

    def tag_number(self, tag: str) -> int:
        latest = self.head.number
        if tag in ("latest", "pending"):
            return latest
        if tag == "earliest":
            return 0
        if tag == "safe":
            return max(0, latest - self.safe_lag)
        if tag == "finalized":
            return max(0, latest - self.finalized_lag)
        raise invalid_params(f"unknown block tag {tag!r}")

    def block_at(self, number: int):
        return self.blocks[number] if 0 <= number < len(self.blocks) else None

    # ------------------------------------------------------------------ state reads
    def state_at(self, rec: BlockRec):
        """A read-only view of the state after block `rec` (cached for the head: never write to it)."""
        cached = self._head_state
        if cached is not None and cached[0] is rec:
            return cached[1]
        state = self.chain.get_vm(rec.header).state
        if rec is self.head:
            self._head_state = (rec, state)
        return state

    def pending_nonce(self, address: bytes) -> int:
        nonce = self.state_at(self.head).get_nonce(address)
        queued = self.pool.get(address, {})
        while nonce in queued:
            nonce += 1
        return nonce

    def next_base_fee(self) -> int:
        cached = self._next_base_fee
        if cached is None or cached[0] is not self.head:
            cached = self._next_base_fee = (
                self.head, self.chain.create_header_from_parent(self.head.header).base_fee_per_gas
            )
        return cached[1]

    def gas_price(self) -> int:
        return self.next_base_fee() + DEFAULT_PRIORITY_FEE

    # ------------------------------------------------------------------ transaction admission
    def decode_raw(self, raw: bytes):
        if not raw:
            raise RpcError(-32000, "typed transaction too short")
        if raw[0] in (3, 4) or (raw[0] < 0x7F and raw[0] > 2):
            raise RpcError(-32000, "transaction type not supported")
        try:
            tx = self.chain.get_vm(self.head.header).get_transaction_builder().decode(raw)
        except Exception as exc:  # noqa: BLE001 - any decoding failure is the sender's problem
            raise RpcError(-32000, f"rlp: invalid transaction encoding ({type(exc).__name__})")
        return tx

    def send_raw(self, raw: bytes) -> bytes:
        tx = self.decode_raw(raw)
        if tx.chain_id is None:
            raise RpcError(-32000, "only replay-protected (EIP-155) transactions allowed over RPC")
        if tx.chain_id != self.chain_id:
            raise RpcError(-32000, f"invalid chain id for signer: have {tx.chain_id} want {self.chain_id}")
        try:
            sender = tx.sender
        except Exception:  # noqa: BLE001 - bad signature
            raise RpcError(-32000, "invalid sender")
        if tx.hash in self.pool_hashes or tx.hash in self.tx_loc:
            raise RpcError(-32000, "already known")
        state = self.state_at(self.head)
        state_nonce = state.get_nonce(sender)
        if tx.nonce < state_nonce:
            raise RpcError(-32000, f"nonce too low: address {hb(sender)}, tx: {tx.nonce} state: {state_nonce}")
        if tx.gas > self.head.header.gas_limit:
            raise RpcError(-32000, "exceeds block gas limit")
        intrinsic = tx.intrinsic_gas
        if tx.gas < intrinsic:
            raise RpcError(-32000, f"intrinsic gas too low: gas {tx.gas}, minimum needed {intrinsic}")
        if priority_fee(tx) > max_fee(tx):
            raise RpcError(
                -32000,
                f"max priority fee per gas higher than max fee per gas: address {hb(sender)}, "
                f"maxPriorityFeePerGas: {priority_fee(tx)}, maxFeePerGas: {max_fee(tx)}",
            )
        base_fee = self.next_base_fee()
        if max_fee(tx) < base_fee:
            raise RpcError(
                -32000,
                f"max fee per gas less than block base fee: address {hb(sender)}, "
                f"maxFeePerGas: {max_fee(tx)}, baseFee: {base_fee}",
            )
        cost = tx.gas * max_fee(tx) + tx.value
        balance = state.get_balance(sender)
        if balance < cost:
            raise RpcError(
                -32000,
                f"insufficient funds for gas * price + value: address {hb(sender)} have {balance} want {cost}",
            )
        queued = self.pool.setdefault(sender, {})
        old = queued.get(tx.nonce)
        if old is not None:
            # geth's rule: both fee fields at least 10% above the pending transaction's.
            if max_fee(tx) * 100 < max_fee(old) * 110 or priority_fee(tx) * 100 < priority_fee(old) * 110:
                raise RpcError(-32000, "replacement transaction underpriced")
            del self.pool_hashes[old.hash]
            self.arrival.pop(old.hash, None)
        queued[tx.nonce] = tx
        self.pool_hashes[tx.hash] = (tx, sender)
        self.arrival[tx.hash] = next(self._arrivals)
        if self.automine:
            self._automine(tx.hash)
        return tx.hash

    def _automine(self, tx_hash: bytes):
        """Mine every transaction that became ready, one block each. If the new transaction is ready but
        cannot be included, it is dropped and its error returned to the sender, as a node would at admission."""
        while True:
            ready = self._ready_transactions()
            if not ready:
                return
            tx, _sender = ready[0]
            rec, dropped = self._mine([ready[0]], allow_empty=False)
            if tx.hash == tx_hash and tx.hash in dropped:
                raise RpcError(-32000, dropped[tx.hash])
            if rec is None and not dropped:
                return

    def flush_automine(self):
        """Automine switched on: mine what the pool has ready, one block per transaction."""
        self._automine(None)

    def _remove_from_pool(self, tx, sender):
        queued = self.pool.get(sender)
        if queued is not None and queued.get(tx.nonce) is tx:
            del queued[tx.nonce]
            if not queued:
                del self.pool[sender]
        self.pool_hashes.pop(tx.hash, None)
        self.arrival.pop(tx.hash, None)

    def _ready_transactions(self):
        """Pool transactions that can go next, each sender's in nonce order, interleaved by arrival."""
        state = self.state_at(self.head)
        heap, out = [], []
        expected = {}
        for sender, queued in list(self.pool.items()):
            nonce = state.get_nonce(sender)
            for stale in [n for n in queued if n < nonce]:
                self._remove_from_pool(queued[stale], sender)
            queued = self.pool.get(sender, {})
            if nonce in queued:
                expected[sender] = nonce
                heapq.heappush(heap, (self.arrival[queued[nonce].hash], sender))
        while heap:
            _, sender = heapq.heappop(heap)
            nonce = expected[sender]
            tx = self.pool[sender][nonce]
            out.append((tx, sender))
            nxt = self.pool[sender].get(nonce + 1)
            if nxt is not None:
                expected[sender] = nonce + 1
                heapq.heappush(heap, (self.arrival[nxt.hash], sender))
        return out

    # ------------------------------------------------------------------ mining
    def _timestamp_for(self, parent) -> int:
        if self.next_timestamp is not None:
            ts, self.next_timestamp = max(self.next_timestamp, parent.timestamp + 1), None
            return ts
        return max(parent.timestamp + 1, int(time.time()) + self.time_offset)

    def mine(self, count=1):
        """evm_mine: each block takes whatever the pool has ready (up to the gas limit); empty blocks too."""
        mined = []
        for _ in range(count):
            rec, _dropped = self._mine(self._ready_transactions(), allow_empty=True)
            mined.append(rec)
        return mined

    def _mine(self, candidates, allow_empty):
        """Build, seal and persist one block on the head. Transactions that can no longer be included (stale
        nonce, funds spent, fee below the base fee) are dropped from the pool with a reason. Returns
        (BlockRec or None, {dropped hash: reason})."""
        parent = self.head.header
        header = self.chain.create_header_from_parent(
            parent, timestamp=self._timestamp_for(parent), coinbase=self.coinbase
        )
        vm = self.chain.get_vm(header)
        state = vm.state
        base_fee = header.base_fee_per_gas
        included, senders, receipts, dropped = [], [], [], {}
        current = header
        for tx, sender in candidates:
            if current.gas_used + tx.gas > current.gas_limit:
                continue  # stays in the pool for a later block
            reason = None
            nonce = state.get_nonce(sender)
            if tx.nonce != nonce:
                if tx.nonce > nonce:
                    continue  # an earlier nonce was dropped: wait
                reason = f"nonce too low: address {hb(sender)}, tx: {tx.nonce} state: {nonce}"
            elif max_fee(tx) < base_fee:
                reason = f"max fee per gas less than block base fee: maxFeePerGas: {max_fee(tx)}, baseFee: {base_fee}"
            else:
                cost = tx.gas * max_fee(tx) + tx.value
                balance = state.get_balance(sender)
                if balance < cost:
                    reason = (
                        f"insufficient funds for gas * price + value: address {hb(sender)} "
                        f"have {balance} want {cost}"
                    )
            if reason is None:
                try:
                    receipt, _computation = vm.apply_transaction(current, tx)
                except EvmValidationError as exc:
                    # Unexpected after the checks above; the state may be partly changed, so start over.
                    self._remove_from_pool(tx, sender)
                    rest = [c for c in candidates if c[0] is not tx]
                    rec, more = self._mine(rest, allow_empty) if (rest or allow_empty) else (None, {})
                    more.update(dropped)
                    more[tx.hash] = f"invalid transaction: {exc}"
                    return rec, more
                current = vm.add_receipt_to_header(current, receipt)
                current = vm.increment_blob_gas_used(current, tx)
                included.append(tx)
                senders.append(sender)
                receipts.append(receipt)
            else:
                dropped[tx.hash] = reason
                self._remove_from_pool(tx, sender)
        if not included and not allow_empty:
            return None, dropped
        block = vm.set_block_transactions_and_withdrawals(vm.get_block(), current, included, receipts)
        sealed = vm.mine_block(block, mix_hash=os.urandom(32)).block
        self.chain.persist_block(sealed)
        for tx, sender in zip(included, senders):
            self._remove_from_pool(tx, sender)
        rec = self._record(sealed, senders, receipts)
        return rec, dropped

    def _record(self, block, senders, receipts) -> BlockRec:
        header = block.header
        number, block_hash = header.block_number, header.hash
        base_fee = header.base_fee_per_gas
        bh, bn, bts = hb(block_hash), hq(number), hq(header.timestamp)
        logs, receipt_json, tips = [], [], []
        previous_cumulative = 0
        for index, (tx, sender, receipt) in enumerate(zip(block.transactions, senders, receipts)):
            gas_used = receipt.gas_used - previous_cumulative
            previous_cumulative = receipt.gas_used
            price = effective_gas_price(tx, base_fee)
            tips.append((gas_used, price - base_fee))
            th, ti = hb(tx.hash), hq(index)
            tx_logs = []
            for log in receipt.logs:
                topics = [hb(t.to_bytes(32, "big")) for t in log.topics]
                address = hb(log.address)
                entry = {
                    "address": address,
                    "topics": topics,
                    "data": hb(log.data),
                    "blockNumber": bn,
                    "blockHash": bh,
                    "blockTimestamp": bts,
                    "transactionHash": th,
                    "transactionIndex": ti,
                    "logIndex": hq(len(logs)),  # numbered per block, like real nodes
                    "removed": False,
                }
                logs.append((address, topics, entry))
                tx_logs.append(entry)
            status = 1 if receipt.state_root == b"\x01" else 0
            creates = tx.to == b""
            receipt_json.append(
                {
                    "transactionHash": th,
                    "transactionIndex": ti,
                    "blockHash": bh,
                    "blockNumber": bn,
                    "from": hb(sender),
                    "to": None if creates else hb(tx.to),
                    "cumulativeGasUsed": hq(receipt.gas_used),
                    "gasUsed": hq(gas_used),
                    "effectiveGasPrice": hq(price),
                    "contractAddress": hb(generate_contract_address(sender, tx.nonce)) if creates else None,
                    "logs": tx_logs,
                    "logsBloom": bloom_hex(receipt.bloom),
                    "status": hq(status),
                    "type": hq(tx_type(tx)),
                }
            )
            self.tx_loc[tx.hash] = (number, index)
        rec = BlockRec(
            number, block_hash, header, tuple(block.transactions), tuple(senders), receipt_json, logs, tips,
            len(_rlp_encode(block)),
        )
        self.blocks.append(rec)
        self.by_hash[block_hash] = rec
        if logs:
            self.log_blocks.append(number)
        return rec

    # ------------------------------------------------------------------ snapshots and reorgs
    def snapshot(self) -> str:
        sid = next(self._snapshot_ids)
        self.snapshots[sid] = (
            self.head.number,
            self.head.hash,
            {s: dict(q) for s, q in self.pool.items()},
            dict(self.pool_hashes),
            dict(self.arrival),
        )
        return hq(sid)

    def revert(self, sid: int) -> bool:
        saved = self.snapshots.get(sid)
        if saved is None:
            return False
        number, block_hash, pool, pool_hashes, arrival = saved
        rec = self.block_at(number)
        if rec is None or rec.hash != block_hash:
            return False
        for gone in self.blocks[number + 1:]:
            del self.by_hash[gone.hash]
            for tx in gone.txs:
                self.tx_loc.pop(tx.hash, None)
        del self.blocks[number + 1:]
        del self.log_blocks[bisect.bisect_right(self.log_blocks, number):]
        self.chain.chaindb._set_as_canonical_chain_head(self.chain.chaindb.db, rec.header, GENESIS_PARENT_HASH)
        self.pool, self.pool_hashes, self.arrival = pool, pool_hashes, arrival
        # Like hardhat and ganache: a snapshot is used up by its revert, and so are later ones.
        for later in [s for s in self.snapshots if s >= sid]:
            del self.snapshots[later]
        return True

    # ------------------------------------------------------------------ logs
    def get_logs(self, first: int, last: int, addresses, topics):
        """addresses: set of lowercase 0x strings or None; topics: list of (set or None) per position."""
        last = min(last, self.head.number)
        if first > last:
            return []
        out = []
        start = bisect.bisect_left(self.log_blocks, first)
        stop = bisect.bisect_right(self.log_blocks, last)
        fully_included = first - 1
        for number in itertools.islice(self.log_blocks, start, stop):
            matches = [entry for address, log_topics, entry in self.blocks[number].logs
                       if _log_matches(address, log_topics, addresses, topics)]
            if len(out) + len(matches) > self.max_logs:
                # Infura's shape: code -32005, upper-case hex digits, the range also in `data`.
                suggest_from, suggest_to = f"0x{first:X}", f"0x{max(first, fully_included):X}"
                raise RpcError(
                    -32005,
                    f"query returned more than {self.max_logs} results. "
                    f"Try with this block range [{suggest_from}, {suggest_to}].",
                    {"from": suggest_from, "to": suggest_to, "limit": self.max_logs},
                )
            out.extend(matches)
            fully_included = number
        return out

    def block_logs(self, rec: BlockRec, addresses, topics):
        out = [entry for address, log_topics, entry in rec.logs if _log_matches(address, log_topics, addresses, topics)]
        if len(out) > self.max_logs:
            raise RpcError(-32005, f"query returned more than {self.max_logs} results", {"limit": self.max_logs})
        return out

    # ------------------------------------------------------------------ transactions as JSON
    def tx_json(self, tx, sender, rec=None, index=None) -> dict:
        kind = tx_type(tx)
        j = {
            "blockHash": hb(rec.hash) if rec else None,
            "blockNumber": hq(rec.number) if rec else None,
            "transactionIndex": hq(index) if rec else None,
            "hash": hb(tx.hash),
            "type": hq(kind),
            "from": hb(sender),
            "to": None if tx.to == b"" else hb(tx.to),
            "nonce": hq(tx.nonce),
            "gas": hq(tx.gas),
            "value": hq(tx.value),
            "input": hb(tx.data),
            "chainId": hq(tx.chain_id) if tx.chain_id is not None else None,
            "r": hq(tx.r),
            "s": hq(tx.s),
        }
        if kind == 0:
            j["gasPrice"] = hq(tx.gas_price)
            j["v"] = hq(tx.v)
        else:
            j["accessList"] = [
                {"address": hb(a), "storageKeys": [hb(k.to_bytes(32, "big")) for k in keys]}
                for a, keys in tx.access_list
            ]
            j["yParity"] = hq(tx.y_parity)
            j["v"] = hq(tx.y_parity)
            if kind == 1:
                j["gasPrice"] = hq(tx.gas_price)
            else:
                j["maxFeePerGas"] = hq(tx.max_fee_per_gas)
                j["maxPriorityFeePerGas"] = hq(tx.max_priority_fee_per_gas)
                base = rec.header.base_fee_per_gas if rec else self.next_base_fee()
                j["gasPrice"] = hq(effective_gas_price(tx, base)) if rec else hq(tx.max_fee_per_gas)
        return j

    def find_tx(self, tx_hash: bytes):
        loc = self.tx_loc.get(tx_hash)
        if loc is not None:
            number, index = loc
            rec = self.blocks[number]
            return self.tx_json(rec.txs[index], rec.senders[index], rec, index)
        pending = self.pool_hashes.get(tx_hash)
        if pending is not None:
            return self.tx_json(pending[0], pending[1])
        return None

    def receipt(self, tx_hash: bytes):
        loc = self.tx_loc.get(tx_hash)
        if loc is None:
            return None
        number, index = loc
        return self.blocks[number].receipts[index]

    def block_json(self, rec: BlockRec, full: bool) -> dict:
        j = dict(rec.header_json())
        if full:
            j["transactions"] = [self.tx_json(tx, s, rec, i) for i, (tx, s) in enumerate(zip(rec.txs, rec.senders))]
        else:
            j["transactions"] = [hb(tx.hash) for tx in rec.txs]
        return j

    # ------------------------------------------------------------------ calls and estimates
    def execute(self, rec: BlockRec, sender: bytes, to: bytes, value: int, data: bytes, gas: int):
        """Run a call on top of block `rec` in a costless state (gas price and base fee 0): nothing is charged
        and nothing persists. Returns the computation."""
        vm = self.chain.get_vm(rec.header)
        with vm.in_costless_state() as state:
            return self._execute_in(vm, state, sender, to, value, data, gas)

    def _execute_in(self, vm, state, sender, to, value, data, gas):
        nonce = state.get_nonce(sender)
        unsigned = vm.create_unsigned_transaction(nonce=nonce, gas_price=0, gas=gas, to=to, value=value, data=data)
        snapshot = state.snapshot()
        try:
            return state.apply_transaction(SpoofTransaction(unsigned, from_=sender))
        except EvmValidationError as exc:
            raise RpcError(-32000, _validation_message(str(exc)))
        finally:
            state.revert(snapshot)

    def call(self, rec, sender, to, value, data, gas=None):
        gas = gas if gas is not None else rec.header.gas_limit
        computation = self.execute(rec, sender, to, value, data, gas)
        _raise_if_failed(computation)
        return computation.output

    def estimate_gas(self, rec, sender, to, value, data, cap=None):
        """Smallest gas limit that succeeds, by binary search between the gas the run consumed (a limit below
        it must fail) and an upper bound that covers the 63/64 rule and refunds."""
        cap = cap if cap is not None else rec.header.gas_limit
        vm = self.chain.get_vm(rec.header)
        with vm.in_costless_state() as state:
            first = self._execute_in(vm, state, sender, to, value, data, cap)
            if first.is_error:
                if isinstance(first.error, OutOfGas):
                    raise RpcError(-32000, f"gas required exceeds allowance ({cap})")
                _raise_if_failed(first)
            intrinsic = self._intrinsic(vm, sender, to, value, data)
            used = intrinsic + first.get_gas_used()
            low = max(used - 1, intrinsic - 1)
            high = min(cap, used * 64 // 63 + 2300 + first.get_gas_refund())

            def succeeds(gas):
                return not self._execute_in(vm, state, sender, to, value, data, gas).is_error

            if not succeeds(high):
                high = cap
            while high - low > 1:
                middle = (low + high) // 2
                if succeeds(middle):
                    high = middle
                else:
                    low = middle
            return high

    def _intrinsic(self, vm, sender, to, value, data):
        unsigned = vm.create_unsigned_transaction(nonce=0, gas_price=0, gas=0, to=to, value=value, data=data)
        return SpoofTransaction(unsigned, from_=sender).intrinsic_gas

    # ------------------------------------------------------------------ fee history
    def fee_history(self, count: int, newest: int, percentiles):
        newest = min(newest, self.head.number)
        oldest = max(0, newest - count + 1)
        recs = self.blocks[oldest:newest + 1]
        base_fees = [hq(r.header.base_fee_per_gas) for r in recs]
        if newest == self.head.number:
            base_fees.append(hq(self.next_base_fee()))
        else:
            base_fees.append(hq(self.blocks[newest + 1].header.base_fee_per_gas))
        result = {
            "oldestBlock": hq(oldest),
            "baseFeePerGas": base_fees,
            "gasUsedRatio": [r.header.gas_used / r.header.gas_limit for r in recs],
            "baseFeePerBlobGas": ["0x1"] * (len(recs) + 1),
            "blobGasUsedRatio": [0.0] * len(recs),
        }
        if percentiles is not None:
            result["reward"] = [self._rewards(r, percentiles) for r in recs]
        return result

    @staticmethod
    def _rewards(rec, percentiles):
        """geth's method: tips sorted ascending, weighted by the gas each transaction used."""
        if not rec.tips:
            return ["0x0"] * len(percentiles)
        tips = sorted(rec.tips, key=lambda t: t[1])
        total = sum(g for g, _ in tips)
        out, index, cumulative = [], 0, tips[0][0]
        for p in percentiles:
            threshold = total * p / 100
            while cumulative < threshold and index < len(tips) - 1:
                index += 1
                cumulative += tips[index][0]
            out.append(hq(tips[index][1]))
        return out

    # ------------------------------------------------------------------ dev helpers
    def accounts(self):
        return [{"address": hb(k.public_key.to_canonical_address()), "privateKey": k.to_hex()} for k in self.keys]

    def sign_and_send(self, sender: bytes, to, data: bytes, value=0, gas=None) -> bytes:
        key = self.key_by_address.get(sender)
        if key is None:
            raise invalid_params(f"{hb(sender)} is not one of this devnet's accounts")
        if gas is None:
            estimated = self.estimate_gas(self.head, sender, to or b"", value, data)
            gas = estimated + estimated // 5
        base = self.next_base_fee()
        fields = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": self.pending_nonce(sender),
            "gas": gas,
            "maxPriorityFeePerGas": DEFAULT_PRIORITY_FEE,
            "maxFeePerGas": 2 * base + DEFAULT_PRIORITY_FEE,
            "value": value,
            "data": data,
        }
        if to:
            fields["to"] = to
        signed = Account.sign_transaction(fields, key.to_bytes())
        return self.send_raw(bytes(signed.raw_transaction))


def _log_matches(address, log_topics, addresses, topics) -> bool:
    if addresses is not None and address not in addresses:
        return False
    if topics:
        if len(topics) > len(log_topics) and any(t is not None for t in topics[len(log_topics):]):
            return False
        for wanted, have in zip(topics, log_topics):
            if wanted is not None and have not in wanted:
                return False
    return True


def _raise_if_failed(computation):
    if not computation.is_error:
        return
    error = computation.error
    if isinstance(error, Revert):
        data = bytes(error.args[0]) if error.args and isinstance(error.args[0], (bytes, bytearray)) else b""
        if not data:
            data = bytes(computation.output or b"")
        raise RpcError(3, revert_message(data), hb(data))
    if isinstance(error, OutOfGas):
        raise RpcError(-32000, "out of gas")
    name = type(error).__name__
    if name == "InvalidInstruction":
        raise RpcError(-32000, "invalid opcode")
    raise RpcError(-32000, f"execution failed: {name}: {error}")


def _validation_message(text: str) -> str:
    lowered = text.lower()
    if "balance" in lowered:
        return "insufficient funds for transfer"
    if "intrinsic" in lowered:
        return "intrinsic gas too low"
    return text


def _rlp_encode(block) -> bytes:
    import rlp

    return rlp.encode(block)


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]
