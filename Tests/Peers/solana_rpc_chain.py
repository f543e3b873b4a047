"""The ledger behind solana_rpc.py: one LiteSVM bank plus what a validator's RPC keeps around it (blocks, slots and
block heights, blockhash ages, transaction history and address-signature index, historical account views for the
`finalized` commitment, SPL Token owner/delegate secondary indexes).

Threading: every public method must be called with `Chain.lock` held (the RPC layer does so per request)."""
import bisect
import struct
import threading
import time

from solders.account import Account
from solders.clock import Clock
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from solana_rpc_codec import (
    ALT_PROGRAM,
    SYSTEM_PROGRAM,
    TOKEN_PROGRAMS,
    RpcError,
    alt_addresses,
    b58,
    b64,
    compute_unit_price,
    err_display,
    err_json,
    memo_of,
    parse_mint,
    parse_token_account,
    simulation_result,
    ui_token_amount,
)

MAX_PROCESSING_AGE = 150  # a blockhash is valid while the landing block height <= its height + 150
STATUS_CACHE_BLOCKS = 300  # getSignatureStatuses without searchTransactionHistory looks this far back
PRIORITY_FEE_BLOCKS = 150
SYSTEM_PUBKEY = Pubkey.from_string(SYSTEM_PROGRAM)
EMPTY_ACCOUNT = Account(lamports=0, data=b"", owner=SYSTEM_PUBKEY)


class Block:
    __slots__ = ("slot", "height", "blockhash", "parent_slot", "time", "txs", "open", "fees")

    def __init__(self, slot, height, blockhash, parent_slot, block_time):
        self.slot = slot
        self.height = height
        self.blockhash = blockhash
        self.parent_slot = parent_slot
        self.time = block_time
        self.txs = []  # TxRecord, in execution order
        self.open = False  # still accepting transactions (--txs-per-slot > 1)
        self.fees = []  # (compute unit price, writable keys) per transaction


class TxRecord:
    __slots__ = ("seq", "signature", "block", "index", "tx", "version", "keys", "meta", "err", "memo")


class Outcome:
    """One execution by LiteSVM with the account states around it."""
    __slots__ = ("err", "landed", "keys", "loaded_w", "loaded_r", "pre", "post", "meta", "sim_accounts")


def _lamports(account):
    return account.lamports if account is not None else 0


def _same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a == b


class Chain:
    def __init__(self, finalized_lag=4, txs_per_slot=1, slot_stride=1, faucet_sol=500_000_000):
        self.lock = threading.RLock()
        self.lag = max(0, finalized_lag)
        self.txs_per_slot = max(1, txs_per_slot)
        self.stride = max(1, slot_stride)
        self.svm = (LiteSVM()
                    .with_blockhash_check(False)  # blockhash ages are enforced here, per block height
                    .with_sigverify(False)  # signatures are verified here (sendTransaction always, simulate on request)
                    .with_transaction_history(0))  # duplicates are detected here, against the recorded history
        self.genesis_time = int(time.time())
        genesis = Block(0, 0, str(self.svm.latest_blockhash()), 0, self.genesis_time)
        self.blocks = [genesis]
        self.by_slot = {0: genesis}
        self.blockhash_height = {genesis.blockhash: 0}
        self.spare = None  # the next block, made ready (clock, blockhash) but not yet holding a landed transaction
        self.txs = {}  # signature -> TxRecord
        self.history = []  # TxRecord by seq
        self.by_address = {}  # address -> [seq], ascending
        self.journal = {}  # address -> ([slot], [account before the first change in that slot])
        self.by_owner = {}  # token account indexes (current state)
        self.by_delegate = {}
        self.token_keys = {}  # token account -> (owner, delegate)
        self.mint_decimals = {}
        self.faucet = Keypair()
        self.mint_authority = Keypair()
        self.signers = {}  # pubkey -> Keypair the server can sign with (dev methods)
        for kp in (self.faucet, self.mint_authority):
            self.signers[str(kp.pubkey())] = kp
        self.set_account(self.faucet.pubkey(), Account(lamports=faucet_sol * 10**9, data=b"", owner=SYSTEM_PUBKEY))
        self.set_account(self.mint_authority.pubkey(), Account(lamports=10**12, data=b"", owner=SYSTEM_PUBKEY))

    # ------------------------------------------------------------------ blocks and commitment
    @property
    def latest(self) -> Block:
        return self.blocks[-1]

    @property
    def finalized(self) -> Block:
        return self.blocks[max(0, len(self.blocks) - 1 - self.lag)]

    def view(self, commitment: str) -> Block:
        return self.finalized if commitment == "finalized" else self.latest

    def status_name(self, block: Block) -> str:
        return "finalized" if block.height <= self.finalized.height else "confirmed"

    def _make_block(self) -> Block:
        parent = self.latest
        self.svm.expire_blockhash()
        now = max(int(time.time()), parent.time)
        block = Block(parent.slot + self.stride, parent.height + 1, str(self.svm.latest_blockhash()), parent.slot, now)
        self.svm.set_clock(Clock(slot=block.slot, epoch_start_timestamp=self.genesis_time, epoch=0,
                                 leader_schedule_epoch=1, unix_timestamp=now))
        return block

    def _append_block(self, block: Block):
        block.time = max(block.time, self.latest.time)
        self.blocks.append(block)
        self.by_slot[block.slot] = block
        self.blockhash_height[block.blockhash] = block.height
        if block.height % 512 == 0:
            self._prune()

    def advance(self, count: int) -> Block:
        """Append `count` empty blocks (settle_advanceSlots and the --slot-interval-ms ticker)."""
        for _ in range(count):
            block = self.spare or self._make_block()
            if block is self.spare:
                self._refresh(block)
            self.spare = None
            block.open = False
            self._append_block(block)
        if self.latest.open:
            self.latest.open = False
        return self.latest

    def _target_block(self, recent_blockhash: str):
        """(block, is_new) the next transaction lands in."""
        latest = self.latest
        if latest.open and len(latest.txs) < self.txs_per_slot and latest.blockhash != recent_blockhash:
            return latest, False
        if self.spare is None:
            self.spare = self._make_block()
        else:
            self._refresh(self.spare)
        return self.spare, True

    def _refresh(self, block: Block):
        """A spare block made a while ago takes the current time (blockTime and the Clock sysvar)."""
        now = max(int(time.time()), self.latest.time)
        if now != block.time:
            block.time = now
            self.svm.set_clock(Clock(slot=block.slot, epoch_start_timestamp=self.genesis_time, epoch=0,
                                     leader_schedule_epoch=1, unix_timestamp=now))

    def _prune(self):
        floor = self.latest.height - 2 * STATUS_CACHE_BLOCKS
        for bh in [bh for bh, h in self.blockhash_height.items() if h < floor]:
            del self.blockhash_height[bh]
        final_slot = self.finalized.slot
        for address in list(self.journal):
            slots, befores = self.journal[address]
            cut = bisect.bisect_right(slots, final_slot)
            if cut == len(slots):
                del self.journal[address]
            elif cut:
                del slots[:cut]
                del befores[:cut]

    # ------------------------------------------------------------------ accounts
    def account(self, pubkey: Pubkey, block: Block = None):
        """The account as of the end of `block` (default: latest), None when it does not exist."""
        if block is not None and block is not self.latest:
            entry = self.journal.get(str(pubkey))
            if entry is not None:
                slots, befores = entry
                i = bisect.bisect_right(slots, block.slot)
                if i < len(slots):
                    return befores[i]
        account = self.svm.get_account(pubkey)
        if account is None or account.lamports == 0:
            return None
        return account

    def _note_change(self, address: str, before, after, slot: int):
        slots, befores = self.journal.setdefault(address, ([], []))
        if not slots or slots[-1] != slot:
            slots.append(slot)
            befores.append(before)
        self._index_token(address, after)

    def _index_token(self, address: str, account):
        old = self.token_keys.pop(address, None)
        if old is not None:
            self.by_owner.get(old[0], set()).discard(address)
            if old[1] is not None:
                self.by_delegate.get(old[1], set()).discard(address)
        parsed = parse_token_account(str(account.owner), bytes(account.data)) if account is not None else None
        if parsed is None:
            return
        self.token_keys[address] = (parsed["owner"], parsed["delegate"])
        self.by_owner.setdefault(parsed["owner"], set()).add(address)
        if parsed["delegate"] is not None:
            self.by_delegate.setdefault(parsed["delegate"], set()).add(address)

    def set_account(self, pubkey: Pubkey, account):
        """A dev-method write outside any transaction; visible at once, finalized after the lag."""
        before = self.account(pubkey)
        self.svm.set_account(pubkey, account if account is not None else EMPTY_ACCOUNT)
        after = self.account(pubkey)
        self._note_change(str(pubkey), before, after, self.latest.slot)

    def token_accounts(self, by: str, key: str, block: Block):
        """[(address, account, parsed)] whose owner (by='owner') or delegate (by='delegate') is `key` at `block`."""
        index = self.by_owner if by == "owner" else self.by_delegate
        candidates = set(index.get(key, ()))
        if block is not self.latest:
            for address, (slots, _) in self.journal.items():
                if slots and slots[-1] > block.slot:
                    candidates.add(address)
        out = []
        for address in sorted(candidates):
            pubkey = Pubkey.from_string(address)
            account = self.account(pubkey, block)
            if account is None:
                continue
            parsed = parse_token_account(str(account.owner), bytes(account.data))
            if parsed is not None and parsed[by] == key:
                out.append((pubkey, account, parsed))
        return out

    def decimals(self, mint: str, block: Block = None):
        if mint in self.mint_decimals:
            return self.mint_decimals[mint]
        account = self.account(Pubkey.from_string(mint), block)
        parsed = parse_mint(str(account.owner), bytes(account.data)) if account is not None else None
        if parsed is None:
            return None
        self.mint_decimals[mint] = parsed["decimals"]
        return parsed["decimals"]

    # ------------------------------------------------------------------ blockhashes
    def blockhash_valid(self, blockhash: str, height: int) -> bool:
        issued = self.blockhash_height.get(blockhash)
        return issued is not None and issued <= height <= issued + MAX_PROCESSING_AGE

    def _nonce_ok(self, tx: VersionedTransaction) -> bool:
        """A durable-nonce transaction: first instruction System AdvanceNonceAccount on an account holding the
        transaction's recent blockhash as its nonce."""
        msg = tx.message
        if not msg.instructions:
            return False
        ix = msg.instructions[0]
        keys = msg.account_keys
        data = bytes(ix.data)
        if ix.program_id_index >= len(keys) or str(keys[ix.program_id_index]) != SYSTEM_PROGRAM:
            return False
        if len(data) < 4 or struct.unpack_from("<I", data, 0)[0] != 4 or not ix.accounts:
            return False
        nonce_index = bytes(ix.accounts)[0]
        if nonce_index >= len(keys):
            return False
        account = self.account(keys[nonce_index])
        if account is None or str(account.owner) != SYSTEM_PROGRAM or len(account.data) != 80:
            return False
        raw = bytes(account.data)
        return struct.unpack_from("<I", raw, 4)[0] == 1 and raw[40:72] == bytes(msg.recent_blockhash)

    # ------------------------------------------------------------------ execution
    def _resolve(self, msg):
        """(loaded writable, loaded readonly) through the message's lookup tables; None if one cannot load."""
        if not isinstance(msg, MessageV0):
            return [], []
        writable, readonly = [], []
        for lookup in msg.address_table_lookups:
            account = self.account(lookup.account_key)
            if account is None or str(account.owner) != ALT_PROGRAM:
                return None
            addresses = alt_addresses(bytes(account.data))
            if addresses is None:
                return None
            for indexes, out in ((lookup.writable_indexes, writable), (lookup.readonly_indexes, readonly)):
                for i in bytes(indexes):
                    if i >= len(addresses):
                        return None
                    out.append(addresses[i])
        return writable, readonly

    def _execute(self, tx: VersionedTransaction, simulate=False) -> Outcome:
        msg = tx.message
        out = Outcome()
        resolved = self._resolve(msg)
        out.loaded_w, out.loaded_r = resolved if resolved is not None else ([], [])
        out.keys = list(msg.account_keys) + out.loaded_w + out.loaded_r
        out.pre = [self.account(k) for k in out.keys]
        out.sim_accounts = {}
        if simulate:
            result = self.svm.simulate_transaction(tx)
            if isinstance(result, FailedTransactionMetadata):
                out.err, out.meta = err_json(result.err()), result.meta()
            else:
                out.err, out.meta = None, result.meta()
                out.sim_accounts = {str(k): a for k, a in result.post_accounts()}
            out.post, out.landed = out.pre, False
            return out
        result = self.svm.send_transaction(tx)
        if isinstance(result, FailedTransactionMetadata):
            out.err, out.meta = err_json(result.err()), result.meta()
        else:
            out.err, out.meta = None, result
        out.post = [self.account(k) for k in out.keys]
        out.landed = out.err is None or (bool(out.keys) and _lamports(out.pre[0]) != _lamports(out.post[0]))
        return out

    def _restore(self, out: Outcome):
        for key, before, after in zip(out.keys, out.pre, out.post):
            if not _same(before, after):
                self.svm.set_account(key, before if before is not None else EMPTY_ACCOUNT)

    def check(self, tx: VersionedTransaction, height: int):
        """Agave's age then status-cache checks: the error JSON, or None."""
        if not self.blockhash_valid(str(tx.message.recent_blockhash), height) and not self._nonce_ok(tx):
            return "BlockhashNotFound"
        if str(tx.signatures[0]) in self.txs:
            return "AlreadyProcessed"
        return None

    def send(self, tx: VersionedTransaction, skip_preflight: bool):
        """sendTransaction after decoding. Returns the signature; raises RpcError for a preflight failure."""
        signature = str(tx.signatures[0])
        if not all(tx.verify_with_results()):
            if skip_preflight:
                return signature  # the leader's sigverify drops it; it never lands
            raise RpcError(-32003, "Transaction signature verification failure")
        block, is_new = self._target_block(str(tx.message.recent_blockhash))
        err = self.check(tx, block.height)
        if err is not None:
            if skip_preflight:
                return signature  # dropped by the leader
            raise preflight_failure(err, [], 0)
        out = self._execute(tx)
        if out.err is not None and (not skip_preflight or not out.landed):
            self._restore(out)
            if skip_preflight:
                return signature  # failed before fees (e.g. no fee payer): dropped, as on a cluster
            raise preflight_failure(out.err, list(out.meta.logs()), out.meta.compute_units_consumed())
        self._record(tx, block, is_new, out)
        return signature

    def simulate(self, tx: VersionedTransaction):
        return self._execute(tx, simulate=True)

    def _record(self, tx: VersionedTransaction, block: Block, is_new: bool, out: Outcome):
        if is_new:
            self.spare = None
            if self.latest.open:
                self.latest.open = False
            block.open = True
            self._append_block(block)
        msg = tx.message
        static = list(msg.account_keys)
        rec = TxRecord()
        rec.seq = len(self.history)
        rec.signature = str(tx.signatures[0])
        rec.block = block
        rec.index = len(block.txs)
        rec.tx = tx
        rec.version = 0 if isinstance(msg, MessageV0) else "legacy"
        rec.keys = [str(k) for k in out.keys]
        rec.err = out.err
        rec.memo = memo_of(static, msg.instructions)
        rec.meta = self._meta_json(msg, out)
        self.history.append(rec)
        self.txs[rec.signature] = rec
        block.txs.append(rec)
        for address in dict.fromkeys(rec.keys):
            self.by_address.setdefault(address, []).append(rec.seq)
        for key, before, after in zip(rec.keys, out.pre, out.post):
            if not _same(before, after):
                self._note_change(key, before, after, block.slot)
        block.fees.append((compute_unit_price(static, msg.instructions), self._writable(msg, rec.keys, len(out.loaded_w))))
        if len(block.txs) >= self.txs_per_slot:
            block.open = False
        return rec

    @staticmethod
    def _writable(msg, keys, loaded_writable: int):
        """Write-locked keys: static ones per the header, then the loaded writable ones."""
        header = msg.header
        n_static = len(msg.account_keys)
        signed = header.num_required_signatures
        out = set()
        for i, key in enumerate(keys):
            if i < signed:
                writable = i < signed - header.num_readonly_signed_accounts
            elif i < n_static:
                writable = i < n_static - header.num_readonly_unsigned_accounts
            else:
                writable = i < n_static + loaded_writable
            if writable:
                out.add(key)
        return out

    def _token_balances(self, keys, accounts, invoked):
        out = []
        for i, (key, account) in enumerate(zip(keys, accounts)):
            if account is None or key in TOKEN_PROGRAMS or i in invoked:
                continue
            parsed = parse_token_account(str(account.owner), bytes(account.data))
            if parsed is None:
                continue
            decimals = self.decimals(parsed["mint"])
            if decimals is None:
                continue
            out.append({
                "accountIndex": i,
                "mint": parsed["mint"],
                "uiTokenAmount": ui_token_amount(parsed["amount"], decimals, zero_is_null=True),
                "owner": parsed["owner"],
                "programId": parsed["program"],
            })
        return out

    def _meta_json(self, msg, out: Outcome):
        meta = out.meta
        keys = [str(k) for k in out.keys]
        inner = []
        for index, group in enumerate(meta.inner_instructions()):
            if group:
                inner.append({"index": index, "instructions": [
                    {"programIdIndex": ii.instruction().program_id_index,
                     "accounts": list(bytes(ii.instruction().accounts)),
                     "data": b58(bytes(ii.instruction().data)),
                     "stackHeight": ii.stack_height()}
                    for ii in group]})
        if any(k in TOKEN_PROGRAMS for k in keys):
            invoked = {ix.program_id_index for ix in msg.instructions}
            pre_tokens = self._token_balances(keys, out.pre, invoked)
            post_tokens = self._token_balances(keys, out.post, invoked)
        else:
            pre_tokens, post_tokens = [], []
        result = {
            "err": out.err,
            "status": {"Ok": None} if out.err is None else {"Err": out.err},
            "fee": meta.fee(),
            "preBalances": [_lamports(a) for a in out.pre],
            "postBalances": [_lamports(a) for a in out.post],
            "innerInstructions": inner,
            "logMessages": list(meta.logs()),
            "preTokenBalances": pre_tokens,
            "postTokenBalances": post_tokens,
            "rewards": [],
            "loadedAddresses": {"writable": [str(k) for k in out.loaded_w],
                                "readonly": [str(k) for k in out.loaded_r]},
            "computeUnitsConsumed": meta.compute_units_consumed(),
        }
        return_data = meta.return_data()
        if return_data is not None and bytes(return_data.data):
            result["returnData"] = {"programId": str(return_data.program_id),
                                    "data": [b64(bytes(return_data.data)), "base64"]}
        return result

    # ------------------------------------------------------------------ history queries
    def visible(self, rec: TxRecord, block: Block) -> bool:
        return rec.block.height <= block.height

    def signatures_for(self, address: str, block: Block, before=None, until=None, limit=1000):
        seqs = self.by_address.get(address, [])
        hi = len(seqs)
        if before is not None:
            rec = self.txs.get(before)
            if rec is None or not self.visible(rec, block):
                return []
            hi = bisect.bisect_left(seqs, rec.seq)
        lo = 0
        if until is not None:
            rec = self.txs.get(until)
            if rec is not None:
                lo = bisect.bisect_right(seqs, rec.seq)
        out = []
        i = hi - 1
        while i >= lo and len(out) < limit:
            rec = self.history[seqs[i]]
            if self.visible(rec, block):
                out.append(rec)
            i -= 1
        return out

    def priority_fees(self, addresses):
        out = []
        for block in self.blocks[-PRIORITY_FEE_BLOCKS:]:
            if block.height == 0:
                continue
            fee = min((price for price, _ in block.fees), default=0)
            for address in addresses:
                prices = [price for price, writable in block.fees if address in writable]
                if prices:
                    fee = max(fee, min(prices))
            out.append({"slot": block.slot, "prioritizationFee": fee})
        return out


def preflight_failure(err, logs, units) -> RpcError:
    return RpcError(-32002, f"Transaction simulation failed: {err_display(err)}", simulation_result(err, logs, units))

