#!/usr/bin/env python3
"""A Solana JSON-RPC test peer for the Settle tests: one LiteSVM bank (solders 0.29, with SPL Token (p-token),
Token-2022, Associated Token Account, Memo and Compute Budget preloaded) behind an HTTP/1.1 JSON-RPC 2.0 server
(single and batch requests) answering in the shapes and error codes/wording of an Agave node.

Run with the venv that has requirements-solana.txt (i.e. Tests/Vectors/requirements.txt):
    python solana_rpc.py [--port N] [--finalized-lag 4] [--txs-per-slot 1] [--slot-stride 1]
                         [--slot-interval-ms 0]
The first stdout line is `PORT n` (peerlib.announce); the process exits with its parent.

Slots, blocks and commitment
- A block is made for a transaction: with the default --txs-per-slot 1 every landed transaction is alone in a new
  block (slot + --slot-stride, block height + 1, a fresh blockhash, blockTime = wall clock, never decreasing). With
  --txs-per-slot N a block takes up to N transactions (a transaction that names the open block's own blockhash
  starts a new one). --slot-stride K > 1 leaves K-1 skipped slots between blocks, so slot != block height.
  Transactions that fail preflight, or are dropped, make no block. --slot-interval-ms M adds an empty block every
  M ms (a live cluster's pace); by default slots move only with transactions and settle_advanceSlots.
- processed = confirmed = the latest block; finalized = the block --finalized-lag blocks below it. Every method
  that takes a commitment honours it, with Agave's default `finalized`: getSlot, getBlockHeight,
  getLatestBlockhash, getBalance, getAccountInfo, getMultipleAccounts, getTokenAccountsBy*, getTokenAccountBalance
  read the state as of that block (account history is journaled for the blocks above the finalized one).
  getSignaturesForAddress and getTransaction refuse `processed` like Agave (-32602).
- Blockhashes: each block's blockhash is valid for a transaction landing at block height <= its height + 150
  (= lastValidBlockHeight from getLatestBlockhash); older or unknown ones fail with BlockhashNotFound. Durable
  nonce transactions (first instruction AdvanceNonceAccount, blockhash = the stored nonce) are accepted.

Node methods (params as in Agave's JSON-RPC docs)
  getSlot, getBlockHeight, getLatestBlockhash, isBlockhashValid, getHealth, getVersion, getGenesisHash,
  getIdentity, getEpochInfo, getFirstAvailableBlock, minimumLedgerSlot, getTransactionCount, getBlockTime, getBlock,
  getMinimumBalanceForRentExemption, getBalance, requestAirdrop (a real transfer from the faucet),
  getAccountInfo, getMultipleAccounts (encodings base64, base58 (<= 128 bytes), legacy binary = a plain base58
  string; defaults as Agave: binary, but base64 for getMultipleAccounts; jsonParsed falls back to base64;
  dataSlice), getTokenAccountsByOwner, getTokenAccountsByDelegate
  ({mint} or {programId}; SPL Token and Token-2022), getTokenAccountBalance, getSignaturesForAddress (before,
  until, limit <= 1000; every account key of every recorded transaction, failed ones too, and lookup-table
  loaded addresses; memo as "[len] text"), getTransaction (json, base64, base58; version only with
  maxSupportedTransactionVersion, v0 without it is -32015), sendTransaction, simulateTransaction (sigVerify,
  replaceRecentBlockhash, accounts, innerInstructions), getSignatureStatuses (searchTransactionHistory),
  getRecentPrioritizationFees, getFeeForMessage.

sendTransaction (encoding base58 default or base64)
- Preflight (default): bad signature -32003; expired/unknown blockhash, duplicate (AlreadyProcessed), or any
  execution error -> -32002 "Transaction simulation failed: <Agave's text>" with data = RpcSimulateTransactionResult
  {err, logs, unitsConsumed, ...}; nothing is recorded or charged.
- skipPreflight: true: the signature comes back at once (as from a real node). An execution error after fees
  (e.g. InstructionError) is recorded as on a cluster: fee charged, meta.err set, listed by
  getSignaturesForAddress with err. Transactions a leader would drop (bad signature, expired blockhash,
  duplicate, fee payer missing or too poor) are dropped: getSignatureStatuses stays null.
- Preflight runs against the latest state whatever preflightCommitment says (Agave uses that commitment's bank).

Dev methods (all run as real transactions through the same pipeline unless said otherwise)
  settle_createMint({"decimals": 6, "program": "token"|"token2022", "authority"?, "freezeAuthority"?,
                     "extensions"?}) -> mint
      CreateAccount + InitializeMint2 paid by the faucet. `authority`, `freezeAuthority`: a base58 pubkey, a
      64-byte secret key as a JSON array (then the server can sign with it), or "default" = the server's mint
      authority; `authority` defaults to it, `freezeAuthority` to none.
      `extensions` (Token-2022; program then defaults to token2022), each a real initialize instruction between
      CreateAccount (sized for them) and InitializeMint2, authorities = the mint authority:
        "transferFee": {"basisPoints": 0..10000, "maximumFee": u64}    InitializeTransferFeeConfig
        "nonTransferable": true                                        InitializeNonTransferableMint
        "transferHook": {"programId": pubkey}  InitializeTransferHook. Any program id: transfers then fail as on a
            cluster without the hook's accounts (MissingAccount; UnsupportedProgramId when the id is passed but
            holds no program).
        "defaultFrozen": true   DefaultAccountState Initialize(Frozen): new accounts start frozen (settle_thaw
            them before minting); freezeAuthority defaults to "default" here, as the program requires one.
  settle_createAta({"owner", "mint", "program"?}) -> associated token address
      ATA program CreateIdempotent (it CPIs into the token program), payer the faucet; program defaults to the
      mint's owner. For a Token-2022 mint the ATA program sizes the account for the mint's extensions
      (ImmutableOwner always; TransferFeeAmount, NonTransferableAccount, TransferHookAccount as the mint needs).
  settle_freeze({"account"} | "account") / settle_thaw(...) -> signature
      FreezeAccount / ThawAccount signed by the mint's freeze authority (one the server holds).
  settle_enableRequiredMemo({"account", "owner"?}) -> signature
      Token-2022 only: Reallocate (for MemoTransfer, payer the faucet) + EnableRequiredMemoTransfers in one
      transaction signed by the account owner: a keypair from settle_keypairs or one given as "owner" (64-byte
      secret key array). Transfers into the account then need a Memo instruction before the transfer.
  settle_mintTo({"mint", "destination", "amount"}) -> signature
      MintToChecked signed by the mint authority (must be one the server holds). `destination` is a token
      account, or a wallet whose ATA is then created in the same transaction.
  settle_fund({"address", "lamports"}) -> signature        System transfer from the faucet.
  settle_keypairs(n | {"count", "lamports"?}) -> [{"pubkey", "secretKey": [64 ints]}]
      new keypairs funded from the faucet (default 100 SOL each; transfers batched 20 per transaction); the server
      keeps them to sign dev methods as their owner.
  settle_advanceSlots(n | {"count"}) -> {"slot", "blockHeight", "finalizedSlot", "finalizedBlockHeight"}
      appends n empty blocks (each with its own blockhash): the way to expire blockhashes and finalize.
  settle_createLookupTable({"addresses": [...], "authority"?}) -> lookup table address
      written with set_account (not a transaction): an active table (no deactivation, last extended at slot 0)
      owned by the Address Lookup Table program at a random address; usable by v0 transactions at once.
  settle_status() -> {"slot", "blockHeight", "finalizedSlot", "finalizedBlockHeight", "faucet", "mintAuthority",
      "transactions"}
  Amounts in dev methods: JSON integer or decimal string.

Differences from a real node (deliberate or known): no forks and no optimistic confirmation (processed =
confirmed); no vote transactions, rewards, or epochs (epoch stays 0); getBlock rewards are []; jsonParsed is
not produced (accounts fall back to base64, getTransaction/getBlock refuse it); base64+zstd is refused; Token-2022
ui amounts ignore interest-bearing/scaled-amount extensions; preflight is not limited to 148 blocks of age;
getFeeForMessage approximates the compute-unit limit; rentEpoch is always u64::MAX (as for every rent-exempt
account today); the SPL Token program is the p-token build (same error codes, fewer log lines).
"""
import argparse
import base64
import json
import os
import struct
import sys
import threading
import time

import base58

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peerlib import JSONHandler, ThreadingServer, announce, exit_with_parent  # noqa: E402
from solders.account import Account  # noqa: E402
from solders.hash import Hash  # noqa: E402
from solders.instruction import AccountMeta, Instruction  # noqa: E402
from solders.keypair import Keypair  # noqa: E402
from solders.message import Message, MessageV0  # noqa: E402
from solders.pubkey import Pubkey  # noqa: E402
from solders.signature import Signature  # noqa: E402
from solders.system_program import (  # noqa: E402
    CreateAccountParams,
    TransferParams,
    create_account,
    transfer,
)
from solders.transaction import VersionedTransaction  # noqa: E402

from solana_rpc_chain import MAX_PROCESSING_AGE, STATUS_CACHE_BLOCKS, Chain, TxRecord  # noqa: E402
from solana_rpc_codec import (  # noqa: E402
    ALT_PROGRAM,
    ATA_PROGRAM,
    COMPUTE_BUDGET_PROGRAM,
    EXT_DEFAULT_ACCOUNT_STATE,
    EXT_MEMO_TRANSFER,
    EXT_NON_TRANSFERABLE,
    EXT_TRANSFER_FEE_CONFIG,
    EXT_TRANSFER_HOOK,
    TOKEN_2022_PROGRAM,
    TOKEN_PROGRAM,
    TOKEN_PROGRAMS,
    U64_MAX,
    RpcError,
    alt_account_data,
    b58,
    b64,
    invalid_params,
    mint_len_with,
    parse_mint,
    parse_pubkey,
    parse_token_account,
    simulation_result,
    ui_token_amount,
)

API_VERSION = "2.2.0"
FEATURE_SET = 3294202862
PACKET_DATA_SIZE = 1232
MAX_BASE58_TX = 1683
MAX_BASE64_TX = 1644
MAX_BASE58_BYTES = 128
MAX_MULTIPLE_ACCOUNTS = 100
MAX_SIGNATURE_STATUSES = 256
MAX_SIGNATURES_LIMIT = 1000
MAX_PRIORITY_FEE_ADDRESSES = 128
LAMPORTS_PER_SIGNATURE = 5000
GENESIS_HASH = str(Hash.hash(b"settle-solana-rpc-litesvm-genesis"))
IDENTITY = str(Pubkey.create_with_seed(Pubkey.default(), "settle-solana-rpc", Pubkey.default()))
PROGRAM_NAMES = {"token": TOKEN_PROGRAM, "token2022": TOKEN_2022_PROGRAM, "token-2022": TOKEN_2022_PROGRAM,
                 TOKEN_PROGRAM: TOKEN_PROGRAM, TOKEN_2022_PROGRAM: TOKEN_2022_PROGRAM}
COMMITMENTS = ("processed", "confirmed", "finalized")


# ---------------------------------------------------------------------- parameter parsing
def _arg(params, index, name, default=...):
    if index < len(params):
        return params[index]
    if default is not ...:
        return default
    raise invalid_params(f"Invalid params: missing required parameter {index} ({name})")


def _config(params, index):
    value = params[index] if index < len(params) else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_params(f"Invalid params: invalid type for parameter {index}: expected a config object")
    return value


def _bool(config, key, default=False):
    value = config.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid_params(f"Invalid params: invalid type: `{key}` must be a boolean")
    return value


def _u64(value, where):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value >= 2**64:
        raise invalid_params(f"Invalid params: invalid type: {where} must be an unsigned 64-bit integer")
    return value


def _amount(value, where):
    """Dev methods: JSON integer or decimal string, u64."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return _u64(value, where)


def _signature(value, where):
    if not isinstance(value, str):
        raise invalid_params(f"Invalid param: {where} must be a base-58 string")
    try:
        raw = base58.b58decode(value)
    except ValueError:
        raise invalid_params("Invalid param: Invalid")
    if len(raw) != 64:
        raise invalid_params("Invalid param: WrongSize")
    return str(Signature.from_bytes(raw))


def _commitment(config, minimum=None):
    value = config.get("commitment")
    if value is None:
        return "finalized"
    if value not in COMMITMENTS:
        raise invalid_params(f"Invalid params: unknown variant `{value}`, expected one of `processed`, "
                             "`confirmed`, `finalized`.")
    if minimum == "confirmed" and value == "processed":
        raise invalid_params("Method does not support commitment below `confirmed`")
    return value


def _keypair(value, where) -> Keypair:
    if not isinstance(value, list) or len(value) != 64 or not all(
            isinstance(b, int) and not isinstance(b, bool) and 0 <= b < 256 for b in value):
        raise invalid_params(f"{where}: expected a 64-byte secret key as a JSON array of integers")
    try:
        return Keypair.from_bytes(bytes(value))
    except Exception as exc:  # noqa: BLE001
        raise invalid_params(f"{where}: invalid keypair: {exc}")


def decode_transaction(data, encoding) -> VersionedTransaction:
    if not isinstance(data, str):
        raise invalid_params("Invalid params: invalid type: transaction must be an encoded string")
    type_name = "solana_transaction::versioned::VersionedTransaction"
    if encoding == "base58":
        if len(data) > MAX_BASE58_TX:
            raise invalid_params(f"base58 encoded {type_name} too large: {len(data)} bytes "
                                 f"(max: encoded/raw {MAX_BASE58_TX}/{PACKET_DATA_SIZE})")
        try:
            raw = base58.b58decode(data)
        except ValueError as exc:
            raise invalid_params(f"invalid base58 encoding: {exc}")
    elif encoding == "base64":
        if len(data) > MAX_BASE64_TX:
            raise invalid_params(f"base64 encoded {type_name} too large: {len(data)} bytes "
                                 f"(max: encoded/raw {MAX_BASE64_TX}/{PACKET_DATA_SIZE})")
        try:
            raw = base64.b64decode(data, validate=True)
        except ValueError as exc:
            raise invalid_params(f"invalid base64 encoding: {exc}")
    else:
        raise invalid_params(f"unsupported encoding: {encoding}. Supported encodings: base58, base64")
    if len(raw) > PACKET_DATA_SIZE:
        raise invalid_params(f"decoded {type_name} too large: {len(raw)} bytes (max: {PACKET_DATA_SIZE} bytes)")
    try:
        tx = VersionedTransaction.from_bytes(raw)
    except Exception as exc:  # noqa: BLE001
        raise invalid_params(f"failed to deserialize {type_name}: {exc}")
    try:
        tx.sanitize()
    except Exception:  # noqa: BLE001
        raise invalid_params("invalid transaction: Transaction failed to sanitize accounts offsets correctly")
    if len(tx.signatures) != tx.message.header.num_required_signatures:
        raise invalid_params("invalid transaction: Transaction failed to sanitize accounts offsets correctly")
    return tx


def encode_account(account, encoding, data_slice):
    if account is None:
        return None
    data = bytes(account.data)
    if data_slice is not None:
        offset, length = data_slice
        data = data[offset:offset + length]
    if encoding in ("binary", "base58"):
        if len(data) > MAX_BASE58_BYTES:
            raise RpcError(-32600, f"Encoded binary (base 58) data should be less than {MAX_BASE58_BYTES} bytes, "
                                   "please use Base64 encoding.")
        encoded = b58(data) if encoding == "binary" else [b58(data), "base58"]
    else:  # base64, and jsonParsed's fallback
        encoded = [b64(data), "base64"]
    return {
        "data": encoded,
        "executable": account.executable,
        "lamports": account.lamports,
        "owner": str(account.owner),
        "rentEpoch": U64_MAX,  # every rent-exempt account on a current cluster (exercises u64 > 2^53 parsing)
        "space": len(account.data),
    }


def _account_encoding(config, default="binary"):
    encoding = config.get("encoding") or default
    if encoding not in ("binary", "base58", "base64", "jsonParsed", "base64+zstd"):
        raise invalid_params(f"Invalid params: unknown variant `{encoding}`, expected one of `binary`, `base58`, "
                             "`base64`, `jsonParsed`, `base64+zstd`.")
    if encoding == "base64+zstd":
        raise invalid_params("Invalid params: base64+zstd encoding is not supported by this test peer")
    data_slice = config.get("dataSlice")
    if data_slice is not None:
        if not isinstance(data_slice, dict):
            raise invalid_params("Invalid params: dataSlice must be {offset, length}")
        data_slice = (_u64(data_slice.get("offset"), "dataSlice.offset"),
                      _u64(data_slice.get("length"), "dataSlice.length"))
    return encoding, data_slice


# ---------------------------------------------------------------------- instruction builders (dev methods)
def ata_address(owner: Pubkey, mint: Pubkey, program: str) -> Pubkey:
    address, _ = Pubkey.find_program_address(
        [bytes(owner), bytes(Pubkey.from_string(program)), bytes(mint)], Pubkey.from_string(ATA_PROGRAM))
    return address


def ix_create_ata_idempotent(payer: Pubkey, owner: Pubkey, mint: Pubkey, program: str) -> Instruction:
    return Instruction(Pubkey.from_string(ATA_PROGRAM), bytes([1]), [
        AccountMeta(payer, True, True),
        AccountMeta(ata_address(owner, mint, program), False, True),
        AccountMeta(owner, False, False),
        AccountMeta(mint, False, False),
        AccountMeta(Pubkey.default(), False, False),
        AccountMeta(Pubkey.from_string(program), False, False),
    ])


def ix_initialize_mint2(mint: Pubkey, decimals: int, authority: Pubkey, freeze, program: str) -> Instruction:
    data = bytes([20, decimals]) + bytes(authority)
    data += (b"\x01" + bytes(freeze)) if freeze is not None else b"\x00"
    return Instruction(Pubkey.from_string(program), data, [AccountMeta(mint, False, True)])


def ix_mint_to_checked(mint: Pubkey, dest: Pubkey, authority: Pubkey, amount: int, decimals: int,
                       program: str) -> Instruction:
    data = bytes([14]) + amount.to_bytes(8, "little") + bytes([decimals])
    return Instruction(Pubkey.from_string(program), data, [
        AccountMeta(mint, False, True), AccountMeta(dest, False, True), AccountMeta(authority, True, False)])


def ix_freeze_or_thaw(account: Pubkey, mint: Pubkey, authority: Pubkey, program: str, thaw: bool) -> Instruction:
    """FreezeAccount (10) / ThawAccount (11): no data; account (w), mint, freeze authority (s)."""
    return Instruction(Pubkey.from_string(program), bytes([11 if thaw else 10]), [
        AccountMeta(account, False, True), AccountMeta(mint, False, False), AccountMeta(authority, True, False)])


# Token-2022 extension instructions (program TOKEN_2022_PROGRAM). Mint-side ones come after CreateAccount (sized by
# mint_len_with) and before InitializeMint2, each with the single account: the mint (w).
def _t22(data: bytes, metas) -> Instruction:
    return Instruction(Pubkey.from_string(TOKEN_2022_PROGRAM), data, metas)


def ix_initialize_transfer_fee_config(mint: Pubkey, config_authority, withdraw_authority, basis_points: int,
                                      maximum_fee: int) -> Instruction:
    """TransferFeeExtension (26) / InitializeTransferFeeConfig (0): COption<Pubkey> config authority, COption<Pubkey>
    withdraw-withheld authority (each 0, or 1 then 32 bytes), transfer_fee_basis_points u16 LE, maximum_fee u64 LE."""
    def coption(key):
        return b"\x00" if key is None else b"\x01" + bytes(key)
    data = bytes([26, 0]) + coption(config_authority) + coption(withdraw_authority) + \
        struct.pack("<HQ", basis_points, maximum_fee)
    return _t22(data, [AccountMeta(mint, False, True)])


def ix_initialize_non_transferable_mint(mint: Pubkey) -> Instruction:
    """InitializeNonTransferableMint (32), no data."""
    return _t22(bytes([32]), [AccountMeta(mint, False, True)])


def ix_initialize_transfer_hook(mint: Pubkey, authority, program_id: Pubkey) -> Instruction:
    """TransferHookExtension (36) / Initialize (0): OptionalNonZeroPubkey authority, OptionalNonZeroPubkey program id
    (32 bytes each, all zero = none)."""
    return _t22(bytes([36, 0]) + (bytes(authority) if authority is not None else bytes(32)) + bytes(program_id),
                [AccountMeta(mint, False, True)])


def ix_initialize_default_account_state(mint: Pubkey, state: int) -> Instruction:
    """DefaultAccountStateExtension (28) / Initialize (0): AccountState u8 (1 initialized, 2 frozen)."""
    return _t22(bytes([28, 0, state]), [AccountMeta(mint, False, True)])


def ix_reallocate(account: Pubkey, payer: Pubkey, owner: Pubkey, extension_types) -> Instruction:
    """Reallocate (29): ExtensionType u16 LE each; account (w), payer (w, s), system program, owner (s)."""
    data = bytes([29]) + b"".join(struct.pack("<H", t) for t in extension_types)
    return _t22(data, [AccountMeta(account, False, True), AccountMeta(payer, True, True),
                       AccountMeta(Pubkey.default(), False, False), AccountMeta(owner, True, False)])


def ix_enable_required_memo_transfers(account: Pubkey, owner: Pubkey) -> Instruction:
    """MemoTransferExtension (30) / Enable (0); account (w), owner (s)."""
    return _t22(bytes([30, 0]), [AccountMeta(account, False, True), AccountMeta(owner, True, False)])


# ---------------------------------------------------------------------- RPC
class Rpc:
    def __init__(self, chain: Chain):
        self.chain = chain
        self.methods = {name[4:]: getattr(self, name) for name in dir(self) if name.startswith("rpc_")}

    def handle(self, request):
        """One request object -> one response object (None for a notification)."""
        if not isinstance(request, dict):
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid request"}}
        rid = request.get("id")
        method = request.get("method")
        params = request.get("params", [])
        try:
            if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
                raise RpcError(-32600, "Invalid request")
            handler = self.methods.get(method)
            if handler is None:
                raise RpcError(-32601, "Method not found")
            if params is None:
                params = []
            if not isinstance(params, list):
                if method.startswith("settle_") and isinstance(params, dict):
                    params = [params]
                else:
                    raise invalid_params("Invalid params: expected an array of parameters")
            with self.chain.lock:
                result = handler(params)
            response = {"jsonrpc": "2.0", "result": result, "id": rid}
        except RpcError as exc:
            response = {"jsonrpc": "2.0", "error": exc.to_json(), "id": rid}
        except Exception as exc:  # noqa: BLE001 - bad input must never take the server down
            response = {"jsonrpc": "2.0", "error": {"code": -32603, "message": f"Internal error: "
                                                    f"{type(exc).__name__}: {exc}"}, "id": rid}
        return None if "id" not in request else response

    # ------------------------------------------------------------------ helpers
    def context(self, block):
        return {"slot": block.slot, "apiVersion": API_VERSION}

    def bank(self, config, minimum=None):
        """The block a method reads at, honouring commitment and minContextSlot."""
        block = self.chain.view(_commitment(config, minimum))
        min_slot = config.get("minContextSlot")
        if min_slot is not None and block.slot < _u64(min_slot, "minContextSlot"):
            raise RpcError(-32016, "Minimum context slot has not been reached", {"contextSlot": block.slot})
        return block

    def record_json(self, rec: TxRecord, encoding, max_version):
        if max_version is not None and rec.version != "legacy" and rec.version > max_version or \
                max_version is None and rec.version != "legacy":
            raise RpcError(-32015, f"Transaction version ({rec.version}) is not supported by the requesting client. "
                                   "Please try the request again with the following configuration parameter: "
                                   f"\"maxSupportedTransactionVersion\": {rec.version}")
        tx = rec.tx
        if encoding == "json":
            msg = tx.message
            header = msg.header
            message = {
                "accountKeys": [str(k) for k in msg.account_keys],
                "header": {"numReadonlySignedAccounts": header.num_readonly_signed_accounts,
                           "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
                           "numRequiredSignatures": header.num_required_signatures},
                "instructions": [{"accounts": list(bytes(ix.accounts)), "data": b58(bytes(ix.data)),
                                  "programIdIndex": ix.program_id_index, "stackHeight": None}
                                 for ix in msg.instructions],
                "recentBlockhash": str(msg.recent_blockhash),
            }
            if isinstance(msg, MessageV0):
                message["addressTableLookups"] = [
                    {"accountKey": str(lk.account_key), "readonlyIndexes": list(bytes(lk.readonly_indexes)),
                     "writableIndexes": list(bytes(lk.writable_indexes))}
                    for lk in msg.address_table_lookups]
            transaction = {"message": message, "signatures": [str(s) for s in tx.signatures]}
        elif encoding == "base64":
            transaction = [b64(bytes(tx)), "base64"]
        else:
            transaction = [b58(bytes(tx)), "base58"]
        out = {"meta": rec.meta, "transaction": transaction}
        if max_version is not None:
            out["version"] = rec.version
        return out

    @staticmethod
    def tx_encoding(config):
        encoding = config.get("encoding") or "json"
        if encoding == "jsonParsed":
            raise invalid_params("Invalid params: jsonParsed encoding is not supported by this test peer; "
                                 "use json, base64 or base58")
        if encoding not in ("json", "base64", "base58", "binary"):
            raise invalid_params(f"Invalid params: unknown variant `{encoding}`, expected one of `binary`, "
                                 "`base64`, `base58`, `json`, `jsonParsed`.")
        return "base58" if encoding == "binary" else encoding

    @staticmethod
    def max_version(config):
        value = config.get("maxSupportedTransactionVersion")
        return None if value is None else _u64(value, "maxSupportedTransactionVersion")

    # ------------------------------------------------------------------ cluster
    def rpc_getSlot(self, params):
        return self.bank(_config(params, 0)).slot

    def rpc_getBlockHeight(self, params):
        return self.bank(_config(params, 0)).height

    def rpc_getLatestBlockhash(self, params):
        block = self.bank(_config(params, 0))
        return {"context": self.context(block),
                "value": {"blockhash": block.blockhash, "lastValidBlockHeight": block.height + MAX_PROCESSING_AGE}}

    def rpc_isBlockhashValid(self, params):
        blockhash = _arg(params, 0, "blockhash")
        if not isinstance(blockhash, str):
            raise invalid_params("Invalid params: blockhash must be a base-58 string")
        block = self.bank(_config(params, 1))
        issued = self.chain.blockhash_height.get(blockhash)
        valid = issued is not None and issued <= block.height and block.height < issued + MAX_PROCESSING_AGE
        return {"context": self.context(block), "value": valid}

    def rpc_getHealth(self, params):
        return "ok"

    def rpc_getVersion(self, params):
        return {"solana-core": API_VERSION, "feature-set": FEATURE_SET}

    def rpc_getGenesisHash(self, params):
        return GENESIS_HASH

    def rpc_getIdentity(self, params):
        return {"identity": IDENTITY}

    def rpc_getFirstAvailableBlock(self, params):
        return 0

    def rpc_minimumLedgerSlot(self, params):
        return self.rpc_getFirstAvailableBlock(params)  # the whole ledger is kept: history reaches back to slot 0

    def rpc_getEpochInfo(self, params):
        block = self.bank(_config(params, 0))
        count = sum(1 for rec in self.chain.history if rec.block.height <= block.height)
        return {"absoluteSlot": block.slot, "blockHeight": block.height, "epoch": 0, "slotIndex": block.slot,
                "slotsInEpoch": 432000, "transactionCount": count}

    def rpc_getTransactionCount(self, params):
        block = self.bank(_config(params, 0))
        return sum(1 for rec in self.chain.history if rec.block.height <= block.height)

    def rpc_getBlockTime(self, params):
        slot = _u64(_arg(params, 0, "slot"), "slot")
        block = self.chain.by_slot.get(slot)
        if block is None:
            if slot <= self.chain.latest.slot:
                raise RpcError(-32007, f"Slot {slot} was skipped, or missing due to ledger jump to recent snapshot")
            raise RpcError(-32004, f"Block not available for slot {slot}")
        return block.time

    def rpc_getBlock(self, params):
        slot = _u64(_arg(params, 0, "slot"), "slot")
        raw = params[1] if len(params) > 1 else None
        config = {"encoding": raw} if isinstance(raw, str) else _config(params, 1)
        view = self.bank(config, minimum="confirmed")
        encoding = self.tx_encoding(config)
        details = config.get("transactionDetails") or "full"
        if details not in ("full", "signatures", "none", "accounts"):
            raise invalid_params(f"Invalid params: unknown variant `{details}`, expected one of `full`, "
                                 "`signatures`, `none`, `accounts`.")
        if details == "accounts":
            raise invalid_params("Invalid params: transactionDetails `accounts` is not supported by this test peer")
        block = self.chain.by_slot.get(slot)
        if block is None or block.height > view.height:
            if slot <= view.slot:
                raise RpcError(-32007, f"Slot {slot} was skipped, or missing due to ledger jump to recent snapshot")
            raise RpcError(-32004, f"Block not available for slot {slot}")
        parent = self.chain.by_slot[block.parent_slot]
        out = {"blockHeight": block.height, "blockTime": block.time, "blockhash": block.blockhash,
               "parentSlot": block.parent_slot, "previousBlockhash": parent.blockhash if block.height else
               block.blockhash}
        if details == "full":
            out["transactions"] = [self.record_json(rec, encoding, self.max_version(config)) for rec in block.txs]
        elif details == "signatures":
            out["signatures"] = [rec.signature for rec in block.txs]
        if config.get("rewards", True) is not False:
            out["rewards"] = []
        return out

    # ------------------------------------------------------------------ accounts
    def rpc_getMinimumBalanceForRentExemption(self, params):
        size = _u64(_arg(params, 0, "usize"), "data length")
        return self.chain.svm.minimum_balance_for_rent_exemption(size)

    def rpc_getBalance(self, params):
        pubkey = parse_pubkey(_arg(params, 0, "pubkey"), "pubkey")
        block = self.bank(_config(params, 1))
        account = self.chain.account(pubkey, block)
        return {"context": self.context(block), "value": account.lamports if account else 0}

    def rpc_getAccountInfo(self, params):
        pubkey = parse_pubkey(_arg(params, 0, "pubkey"), "pubkey")
        config = _config(params, 1)
        block = self.bank(config)
        encoding, data_slice = _account_encoding(config)
        return {"context": self.context(block),
                "value": encode_account(self.chain.account(pubkey, block), encoding, data_slice)}

    def rpc_getMultipleAccounts(self, params):
        keys = _arg(params, 0, "pubkeys")
        if not isinstance(keys, list):
            raise invalid_params("Invalid params: pubkeys must be an array of base-58 strings")
        if len(keys) > MAX_MULTIPLE_ACCOUNTS:
            raise invalid_params(f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
        pubkeys = [parse_pubkey(k, "pubkey") for k in keys]
        config = _config(params, 1)
        block = self.bank(config)
        encoding, data_slice = _account_encoding(config, default="base64")  # Agave: base64 here, binary elsewhere
        return {"context": self.context(block),
                "value": [encode_account(self.chain.account(k, block), encoding, data_slice) for k in pubkeys]}

    def _token_accounts_by(self, by, params):
        key = str(parse_pubkey(_arg(params, 0, "pubkey"), by))
        spec = _arg(params, 1, "filter")
        config = _config(params, 2)
        block = self.bank(config)
        encoding, data_slice = _account_encoding(config)
        if not isinstance(spec, dict) or len(spec) != 1 or not ({"mint", "programId"} & spec.keys()):
            raise invalid_params("Invalid params: expected a filter object {\"mint\": ...} or {\"programId\": ...}")
        mint = program = None
        if "mint" in spec:
            mint_key = parse_pubkey(spec["mint"], "mint")
            account = self.chain.account(mint_key, block)
            if account is None:
                raise invalid_params("Invalid param: could not find mint")
            if str(account.owner) not in TOKEN_PROGRAMS or parse_mint(str(account.owner), bytes(account.data)) is None:
                raise invalid_params("Invalid param: not a Token mint")
            mint, program = str(mint_key), str(account.owner)
        else:
            program = str(parse_pubkey(spec["programId"], "programId"))
            if program not in TOKEN_PROGRAMS:
                raise invalid_params("Invalid param: unrecognized Token program id")
        value = []
        for pubkey, account, parsed in self.chain.token_accounts(by, key, block):
            if parsed["program"] != program or (mint is not None and parsed["mint"] != mint):
                continue
            value.append({"account": encode_account(account, encoding, data_slice), "pubkey": str(pubkey)})
        return {"context": self.context(block), "value": value}

    def rpc_getTokenAccountsByOwner(self, params):
        return self._token_accounts_by("owner", params)

    def rpc_getTokenAccountsByDelegate(self, params):
        return self._token_accounts_by("delegate", params)

    def rpc_getTokenAccountBalance(self, params):
        pubkey = parse_pubkey(_arg(params, 0, "pubkey"), "pubkey")
        block = self.bank(_config(params, 1))
        account = self.chain.account(pubkey, block)
        if account is None:
            raise invalid_params("Invalid param: could not find account")
        parsed = parse_token_account(str(account.owner), bytes(account.data))
        if parsed is None:
            raise invalid_params("Invalid param: not a Token account")
        decimals = self.chain.decimals(parsed["mint"], block)
        if decimals is None:
            raise invalid_params("Invalid param: could not find mint")
        return {"context": self.context(block), "value": ui_token_amount(parsed["amount"], decimals)}

    # ------------------------------------------------------------------ history
    def rpc_getSignaturesForAddress(self, params):
        address = str(parse_pubkey(_arg(params, 0, "address"), "address"))
        config = _config(params, 1)
        block = self.bank(config, minimum="confirmed")
        limit = config.get("limit")
        limit = MAX_SIGNATURES_LIMIT if limit is None else _u64(limit, "limit")
        if limit == 0 or limit > MAX_SIGNATURES_LIMIT:
            raise invalid_params(f"Invalid limit; max {MAX_SIGNATURES_LIMIT}")
        before = config.get("before")
        until = config.get("until")
        before = None if before is None else _signature(before, "before")
        until = None if until is None else _signature(until, "until")
        out = []
        for rec in self.chain.signatures_for(address, block, before, until, limit):
            out.append({"blockTime": rec.block.time, "confirmationStatus": self.chain.status_name(rec.block),
                        "err": rec.err, "memo": rec.memo, "signature": rec.signature, "slot": rec.block.slot})
        return out

    def rpc_getTransaction(self, params):
        signature = _signature(_arg(params, 0, "signature"), "signature")
        raw = params[1] if len(params) > 1 else None
        config = {"encoding": raw} if isinstance(raw, str) else _config(params, 1)
        block = self.bank(config, minimum="confirmed")
        encoding = self.tx_encoding(config)
        max_version = self.max_version(config)
        rec = self.chain.txs.get(signature)
        if rec is None or not self.chain.visible(rec, block):
            return None
        out = self.record_json(rec, encoding, max_version)
        out["slot"] = rec.block.slot
        out["blockTime"] = rec.block.time
        return out

    def rpc_getSignatureStatuses(self, params):
        sigs = _arg(params, 0, "signatures")
        if not isinstance(sigs, list):
            raise invalid_params("Invalid params: signatures must be an array of base-58 strings")
        if len(sigs) > MAX_SIGNATURE_STATUSES:
            raise invalid_params(f"Too many inputs provided; max {MAX_SIGNATURE_STATUSES}")
        sigs = [_signature(s, "signature") for s in sigs]
        config = _config(params, 1)
        search = _bool(config, "searchTransactionHistory")
        latest, final = self.chain.latest, self.chain.finalized
        value = []
        for sig in sigs:
            rec = self.chain.txs.get(sig)
            if rec is None or (not search and rec.block.height < latest.height - STATUS_CACHE_BLOCKS):
                value.append(None)
                continue
            finalized = rec.block.height <= final.height
            value.append({
                "slot": rec.block.slot,
                "confirmations": None if finalized else latest.height - rec.block.height,
                "err": rec.err,
                "status": {"Ok": None} if rec.err is None else {"Err": rec.err},
                "confirmationStatus": "finalized" if finalized else "confirmed",
            })
        return {"context": self.context(latest), "value": value}

    def rpc_getRecentPrioritizationFees(self, params):
        addresses = params[0] if params and params[0] is not None else []
        if not isinstance(addresses, list):
            raise invalid_params("Invalid params: expected an array of base-58 addresses")
        if len(addresses) > MAX_PRIORITY_FEE_ADDRESSES:
            raise invalid_params(f"Too many inputs provided; max {MAX_PRIORITY_FEE_ADDRESSES}")
        keys = [str(parse_pubkey(a, "address")) for a in addresses]
        return self.chain.priority_fees(keys)

    # ------------------------------------------------------------------ transactions
    def rpc_sendTransaction(self, params):
        data = _arg(params, 0, "transaction")
        config = _config(params, 1)
        tx = decode_transaction(data, config.get("encoding") or "base58")
        if config.get("preflightCommitment") is not None:
            _commitment({"commitment": config["preflightCommitment"]})
        self.bank({k: v for k, v in config.items() if k == "minContextSlot"} | {"commitment": "processed"})
        return self.chain.send(tx, _bool(config, "skipPreflight"))

    def rpc_simulateTransaction(self, params):
        data = _arg(params, 0, "transaction")
        config = _config(params, 1)
        tx = decode_transaction(data, config.get("encoding") or "base58")
        sig_verify = _bool(config, "sigVerify")
        replace = _bool(config, "replaceRecentBlockhash")
        if sig_verify and replace:
            raise invalid_params("sigVerify may not be used with replaceRecentBlockhash")
        block = self.bank({"commitment": config.get("commitment"), "minContextSlot": config.get("minContextSlot")})
        chain = self.chain
        if sig_verify and not all(tx.verify_with_results()):
            raise RpcError(-32003, "Transaction signature verification failure")
        replacement = None
        if replace:
            msg = tx.message
            latest = chain.latest
            blockhash = Hash.from_string(latest.blockhash)
            if isinstance(msg, MessageV0):
                msg = MessageV0(msg.header, list(msg.account_keys), blockhash, list(msg.instructions),
                                list(msg.address_table_lookups))
            else:
                header = msg.header
                msg = Message.new_with_compiled_instructions(
                    header.num_required_signatures, header.num_readonly_signed_accounts,
                    header.num_readonly_unsigned_accounts, list(msg.account_keys), blockhash, list(msg.instructions))
            tx = VersionedTransaction.populate(msg, list(tx.signatures))
            replacement = {"blockhash": latest.blockhash,
                           "lastValidBlockHeight": latest.height + MAX_PROCESSING_AGE}
        err = chain.check(tx, chain.latest.height + 1)
        if replace and err == "BlockhashNotFound":
            err = None
        if err == "AlreadyProcessed" and not sig_verify and str(tx.signatures[0]) == str(Signature.default()):
            err = None  # unsigned simulations all share the zero signature
        if err is not None:
            value = simulation_result(err, [], 0, replacement)
        else:
            out = chain.simulate(tx)
            value = simulation_result(out.err, list(out.meta.logs()), out.meta.compute_units_consumed(), replacement)
            return_data = out.meta.return_data()
            if return_data is not None and bytes(return_data.data):
                value["returnData"] = {"programId": str(return_data.program_id),
                                       "data": [b64(bytes(return_data.data)), "base64"]}
            if _bool(config, "innerInstructions"):
                value["innerInstructions"] = [
                    {"index": i, "instructions": [
                        {"programIdIndex": ii.instruction().program_id_index,
                         "accounts": list(bytes(ii.instruction().accounts)),
                         "data": b58(bytes(ii.instruction().data)), "stackHeight": ii.stack_height()}
                        for ii in group]}
                    for i, group in enumerate(out.meta.inner_instructions()) if group]
            accounts_config = config.get("accounts")
            if isinstance(accounts_config, dict):
                addresses = accounts_config.get("addresses") or []
                encoding, _ = _account_encoding(accounts_config, default="base64")
                if encoding == "binary":
                    encoding = "base64"
                value["accounts"] = []
                for address in addresses:
                    pubkey = parse_pubkey(address, "address")
                    account = out.sim_accounts.get(str(pubkey)) or chain.account(pubkey)
                    if account is not None and account.lamports == 0:
                        account = None
                    value["accounts"].append(encode_account(account, encoding, None))
        return {"context": self.context(block), "value": value}

    def rpc_getFeeForMessage(self, params):
        data = _arg(params, 0, "message")
        block = self.bank(_config(params, 1))
        if not isinstance(data, str):
            raise invalid_params("Invalid params: message must be a base64 string")
        try:
            raw = base64.b64decode(data, validate=True)
            msg = MessageV0.from_bytes(raw[1:]) if raw and raw[0] & 0x80 else Message.from_bytes(raw)
        except Exception as exc:  # noqa: BLE001
            raise invalid_params(f"invalid message: {exc}")
        if not self.chain.blockhash_valid(str(msg.recent_blockhash), block.height):
            return {"context": self.context(block), "value": None}
        keys = [str(k) for k in msg.account_keys]
        price, limit, others = 0, None, 0
        for ix in msg.instructions:
            if keys[ix.program_id_index] == COMPUTE_BUDGET_PROGRAM:
                data_ix = bytes(ix.data)
                if len(data_ix) == 9 and data_ix[0] == 3:
                    price = int.from_bytes(data_ix[1:9], "little")
                elif len(data_ix) == 5 and data_ix[0] == 2:
                    limit = int.from_bytes(data_ix[1:5], "little")
            else:
                others += 1
        if limit is None:
            limit = min(200_000 * others, 1_400_000)
        fee = LAMPORTS_PER_SIGNATURE * msg.header.num_required_signatures + (price * limit + 999_999) // 1_000_000
        return {"context": self.context(block), "value": fee}

    def rpc_requestAirdrop(self, params):
        pubkey = parse_pubkey(_arg(params, 0, "pubkey"), "pubkey")
        lamports = _u64(_arg(params, 1, "lamports"), "lamports")
        return self.dev_send([transfer(TransferParams(from_pubkey=self.chain.faucet.pubkey(), to_pubkey=pubkey,
                                                      lamports=lamports))], [self.chain.faucet])

    # ------------------------------------------------------------------ dev methods
    def dev_send(self, instructions, signers):
        """A server-signed transaction through the normal pipeline (preflight on); its signature."""
        chain = self.chain
        blockhash = Hash.from_string(chain.latest.blockhash)
        msg = Message.new_with_blockhash(instructions, signers[0].pubkey(), blockhash)
        tx = VersionedTransaction(msg, signers)
        if str(tx.signatures[0]) in chain.txs:  # the same request twice within one blockhash
            chain.advance(1)
            return self.dev_send(instructions, signers)
        return chain.send(tx, False)

    def _spec(self, params, name):
        spec = _arg(params, 0, name)
        if not isinstance(spec, dict):
            raise invalid_params(f"{name}: expected an object")
        return spec

    def rpc_settle_status(self, params):
        chain = self.chain
        return {"slot": chain.latest.slot, "blockHeight": chain.latest.height, "finalizedSlot": chain.finalized.slot,
                "finalizedBlockHeight": chain.finalized.height, "faucet": str(chain.faucet.pubkey()),
                "mintAuthority": str(chain.mint_authority.pubkey()), "transactions": len(chain.history)}

    def rpc_settle_createMint(self, params):
        spec = _spec_or_empty(params)
        decimals = spec.get("decimals", 6)
        if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 255:
            raise invalid_params("settle_createMint: decimals must be an integer 0..255")
        program = PROGRAM_NAMES.get(spec.get("program", "token"))
        if program is None:
            raise invalid_params("settle_createMint: program must be \"token\" or \"token2022\"")
        extensions = spec.get("extensions") or {}
        if not isinstance(extensions, dict):
            raise invalid_params("settle_createMint: extensions must be an object")
        if extensions and spec.get("program") is None:
            program = TOKEN_2022_PROGRAM
        if extensions and program != TOKEN_2022_PROGRAM:
            raise invalid_params("settle_createMint: extensions need program \"token2022\"")
        authority = self._authority(spec.get("authority"), "authority")
        freeze = spec.get("freezeAuthority")
        if freeze is None and extensions.get("defaultFrozen"):
            freeze = "default"  # a frozen default state needs a freeze authority (else MintCannotFreeze)
        freeze = None if freeze is None else self._authority(freeze, "freezeAuthority")
        chain = self.chain
        mint = Keypair()
        kinds, setup = self._mint_extensions(extensions, mint.pubkey(), authority)
        space = mint_len_with(kinds)
        rent = chain.svm.minimum_balance_for_rent_exemption(space)
        self.dev_send([
            create_account(CreateAccountParams(from_pubkey=chain.faucet.pubkey(), to_pubkey=mint.pubkey(),
                                               lamports=rent, space=space, owner=Pubkey.from_string(program))),
            *setup,
            ix_initialize_mint2(mint.pubkey(), decimals, authority, freeze, program),
        ], [chain.faucet, mint])
        return str(mint.pubkey())

    @staticmethod
    def _mint_extensions(extensions, mint: Pubkey, authority: Pubkey):
        """settle_createMint's `extensions` -> ([ExtensionType], [initialize instructions]); the extensions'
        authorities are the mint authority."""
        known = ("transferFee", "nonTransferable", "transferHook", "defaultFrozen")
        unknown = sorted(set(extensions) - set(known))
        if unknown:
            raise invalid_params(f"settle_createMint: unknown extension {unknown[0]!r}; known: {', '.join(known)}")
        kinds, setup = [], []
        fee = extensions.get("transferFee")
        if fee is not None:
            if not isinstance(fee, dict):
                raise invalid_params("settle_createMint: transferFee must be {\"basisPoints\", \"maximumFee\"}")
            bps = fee.get("basisPoints")
            if isinstance(bps, bool) or not isinstance(bps, int) or not 0 <= bps <= 10_000:
                raise invalid_params("settle_createMint: transferFee.basisPoints must be an integer 0..10000")
            maximum = _amount(fee.get("maximumFee"), "transferFee.maximumFee")
            kinds.append(EXT_TRANSFER_FEE_CONFIG)
            setup.append(ix_initialize_transfer_fee_config(mint, authority, authority, bps, maximum))
        hook = extensions.get("transferHook")
        if hook is not None:
            if not isinstance(hook, dict):
                raise invalid_params("settle_createMint: transferHook must be {\"programId\"}")
            kinds.append(EXT_TRANSFER_HOOK)
            setup.append(ix_initialize_transfer_hook(mint, authority, parse_pubkey(hook.get("programId"),
                                                                                    "transferHook.programId")))
        for key, kind, make in (("nonTransferable", EXT_NON_TRANSFERABLE, ix_initialize_non_transferable_mint),
                                ("defaultFrozen", EXT_DEFAULT_ACCOUNT_STATE,
                                 lambda m: ix_initialize_default_account_state(m, 2))):
            value = extensions.get(key)
            if value is None or value is False:
                continue
            if value is not True:
                raise invalid_params(f"settle_createMint: {key} must be true or false")
            kinds.append(kind)
            setup.append(make(mint))
        return kinds, setup

    def _authority(self, value, where) -> Pubkey:
        if value is None or value == "default":
            return self.chain.mint_authority.pubkey()
        if isinstance(value, list):
            kp = _keypair(value, where)
            self.chain.signers[str(kp.pubkey())] = kp
            return kp.pubkey()
        return parse_pubkey(value, where)

    def _mint_info(self, mint: Pubkey):
        account = self.chain.account(mint)
        parsed = parse_mint(str(account.owner), bytes(account.data)) if account is not None else None
        if parsed is None:
            raise invalid_params(f"{mint} is not an initialized SPL Token or Token-2022 mint")
        return str(account.owner), parsed

    def rpc_settle_createAta(self, params):
        spec = self._spec(params, "settle_createAta")
        owner = parse_pubkey(spec.get("owner"), "owner")
        mint = parse_pubkey(spec.get("mint"), "mint")
        mint_program, _ = self._mint_info(mint)
        program = PROGRAM_NAMES.get(spec.get("program") or mint_program)
        if program is None:
            raise invalid_params("settle_createAta: program must be \"token\" or \"token2022\"")
        chain = self.chain
        self.dev_send([ix_create_ata_idempotent(chain.faucet.pubkey(), owner, mint, program)], [chain.faucet])
        return str(ata_address(owner, mint, program))

    def rpc_settle_mintTo(self, params):
        spec = self._spec(params, "settle_mintTo")
        mint = parse_pubkey(spec.get("mint"), "mint")
        destination = parse_pubkey(spec.get("destination"), "destination")
        amount = _amount(spec.get("amount"), "amount")
        program, info = self._mint_info(mint)
        signer = self.chain.signers.get(info["mintAuthority"] or "")
        if signer is None:
            raise invalid_params(f"settle_mintTo: the server does not hold mint authority {info['mintAuthority']}; "
                                 "send MintTo yourself or create the mint with a secret-key authority")
        chain = self.chain
        instructions = []
        account = chain.account(destination)
        parsed = parse_token_account(str(account.owner), bytes(account.data)) if account is not None else None
        if parsed is None:
            instructions.append(ix_create_ata_idempotent(chain.faucet.pubkey(), destination, mint, program))
            destination = ata_address(destination, mint, program)
        elif parsed["mint"] != str(mint):
            raise invalid_params("settle_mintTo: destination is a token account of another mint")
        instructions.append(ix_mint_to_checked(mint, destination, signer.pubkey(), amount, info["decimals"], program))
        signers = [chain.faucet] + ([signer] if signer is not chain.faucet else [])
        return self.dev_send(instructions, signers)

    def _token_account(self, params, name):
        """A dev method's token account: {"account": ...} or the address itself -> (pubkey, parsed)."""
        value = _arg(params, 0, "account")
        address = parse_pubkey(value.get("account") if isinstance(value, dict) else value, "account")
        account = self.chain.account(address)
        parsed = parse_token_account(str(account.owner), bytes(account.data)) if account is not None else None
        if parsed is None:
            raise invalid_params(f"{name}: {address} is not an initialized SPL Token or Token-2022 token account")
        return address, parsed

    def _freeze_or_thaw(self, params, thaw):
        name = "settle_thaw" if thaw else "settle_freeze"
        address, parsed = self._token_account(params, name)
        mint = Pubkey.from_string(parsed["mint"])
        program, info = self._mint_info(mint)
        if info["freezeAuthority"] is None:
            raise invalid_params(f"{name}: mint {mint} has no freeze authority")
        signer = self.chain.signers.get(info["freezeAuthority"])
        if signer is None:
            raise invalid_params(f"{name}: the server does not hold freeze authority {info['freezeAuthority']}")
        chain = self.chain
        signers = [chain.faucet] + ([signer] if signer is not chain.faucet else [])
        return self.dev_send([ix_freeze_or_thaw(address, mint, signer.pubkey(), program, thaw)], signers)

    def rpc_settle_freeze(self, params):
        return self._freeze_or_thaw(params, thaw=False)

    def rpc_settle_thaw(self, params):
        return self._freeze_or_thaw(params, thaw=True)

    def rpc_settle_enableRequiredMemo(self, params):
        address, parsed = self._token_account(params, "settle_enableRequiredMemo")
        if parsed["program"] != TOKEN_2022_PROGRAM:
            raise invalid_params("settle_enableRequiredMemo: memo-required transfers are a Token-2022 extension; "
                                 f"{address} belongs to {parsed['program']}")
        spec = params[0] if isinstance(params[0], dict) else {}
        owner = self.chain.signers.get(parsed["owner"])
        if spec.get("owner") is not None:
            owner = _keypair(spec["owner"], "owner")
            if str(owner.pubkey()) != parsed["owner"]:
                raise invalid_params(f"settle_enableRequiredMemo: owner is {owner.pubkey()}, the account's owner "
                                     f"is {parsed['owner']}")
        if owner is None:
            raise invalid_params(f"settle_enableRequiredMemo: the server does not hold owner {parsed['owner']}; "
                                 "pass its secret key as \"owner\"")
        faucet = self.chain.faucet
        return self.dev_send([ix_reallocate(address, faucet.pubkey(), owner.pubkey(), [EXT_MEMO_TRANSFER]),
                              ix_enable_required_memo_transfers(address, owner.pubkey())], [faucet, owner])

    def rpc_settle_fund(self, params):
        spec = self._spec(params, "settle_fund")
        address = parse_pubkey(spec.get("address"), "address")
        lamports = _amount(spec.get("lamports"), "lamports")
        return self.dev_send([transfer(TransferParams(from_pubkey=self.chain.faucet.pubkey(), to_pubkey=address,
                                                      lamports=lamports))], [self.chain.faucet])

    def rpc_settle_keypairs(self, params):
        spec = _arg(params, 0, "count", 1)
        if isinstance(spec, dict):
            count, lamports = spec.get("count", 1), spec.get("lamports", 100 * 10**9)
        else:
            count, lamports = spec, 100 * 10**9
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
            raise invalid_params("settle_keypairs: count must be an integer 1..1000")
        lamports = _amount(lamports, "lamports")
        faucet = self.chain.faucet
        pairs = [Keypair() for _ in range(count)]
        for kp in pairs:  # held, so dev methods can sign as these owners (settle_enableRequiredMemo)
            self.chain.signers[str(kp.pubkey())] = kp
        for start in range(0, count, 20):
            self.dev_send([transfer(TransferParams(from_pubkey=faucet.pubkey(), to_pubkey=kp.pubkey(),
                                                   lamports=lamports)) for kp in pairs[start:start + 20]], [faucet])
        return [{"pubkey": str(kp.pubkey()), "secretKey": list(bytes(kp))} for kp in pairs]

    def rpc_settle_advanceSlots(self, params):
        spec = _arg(params, 0, "count", 1)
        count = spec.get("count", 1) if isinstance(spec, dict) else spec
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 100_000:
            raise invalid_params("settle_advanceSlots: count must be an integer 0..100000")
        self.chain.advance(count)
        return self.rpc_settle_status([])

    def rpc_settle_createLookupTable(self, params):
        spec = self._spec(params, "settle_createLookupTable")
        addresses = spec.get("addresses")
        if not isinstance(addresses, list) or len(addresses) > 256:
            raise invalid_params("settle_createLookupTable: addresses must be an array of at most 256 pubkeys")
        keys = [parse_pubkey(a, "address") for a in addresses]
        authority = spec.get("authority")
        authority = None if authority is None else parse_pubkey(authority, "authority")
        data = alt_account_data(keys, authority)
        chain = self.chain
        table = Keypair().pubkey()
        chain.set_account(table, Account(lamports=chain.svm.minimum_balance_for_rent_exemption(len(data)), data=data,
                                         owner=Pubkey.from_string(ALT_PROGRAM), executable=False,
                                         rent_epoch=2**64 - 1))
        return str(table)


def _spec_or_empty(params):
    if not params or params[0] is None:
        return {}
    if not isinstance(params[0], dict):
        raise invalid_params("expected an object")
    return params[0]


# ---------------------------------------------------------------------- HTTP
class Handler(JSONHandler):
    rpc: Rpc = None

    def do_GET(self):
        if self.path.rstrip("/") == "/health":
            return self.reply(200, b"ok")
        self.reply(405, b'{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid request"},"id":null}')

    def do_POST(self):
        body, _ = self.read_body()
        if body is None:
            return self.reply(400, b'{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}')
        self.reply(200, self.answer(body))

    def answer(self, body: bytes) -> bytes:
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return b'{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}'
        if isinstance(request, list):
            if not request:
                result = {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid request"}, "id": None}
            else:
                result = [r for r in (self.rpc.handle(item) for item in request) if r is not None]
        else:
            result = self.rpc.handle(request)
            if result is None:
                return b""
        return json.dumps(result, separators=(",", ":")).encode()


def build_parser():
    parser = argparse.ArgumentParser(description="Settle's Solana JSON-RPC test peer (LiteSVM)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--finalized-lag", type=int, default=4, help="finalized = latest block - N blocks")
    parser.add_argument("--txs-per-slot", type=int, default=1, help="transactions per block (default 1)")
    parser.add_argument("--slot-stride", type=int, default=1, help="slots between consecutive blocks (K-1 skipped)")
    parser.add_argument("--slot-interval-ms", type=int, default=0, help="add an empty block every M ms (0: off)")
    return parser


def _ticker(chain: Chain, interval_ms: int):
    while True:
        time.sleep(interval_ms / 1000.0)
        with chain.lock:
            chain.advance(1)


def main(argv=None):
    args = build_parser().parse_args(argv)
    exit_with_parent()
    chain = Chain(finalized_lag=args.finalized_lag, txs_per_slot=args.txs_per_slot, slot_stride=args.slot_stride)
    Handler.rpc = Rpc(chain)
    server = ThreadingServer(("127.0.0.1", args.port), Handler)
    if args.slot_interval_ms > 0:
        threading.Thread(target=_ticker, args=(chain, args.slot_interval_ms), daemon=True).start()
    announce(server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
