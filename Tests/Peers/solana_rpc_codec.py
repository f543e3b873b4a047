"""Encoding helpers for solana_rpc.py: errors in Agave's JSON and wording, SPL Token account layouts, UI amounts,
memos, address lookup table bytes. No state; no LiteSVM."""
import base64
import json
import struct

import base58
from solders.pubkey import Pubkey
from solders.rpc.responses import RpcSimulateTransactionResult

TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
TOKEN_PROGRAMS = (TOKEN_PROGRAM, TOKEN_2022_PROGRAM)
ATA_PROGRAM = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
SYSTEM_PROGRAM = "11111111111111111111111111111111"
COMPUTE_BUDGET_PROGRAM = "ComputeBudget111111111111111111111111111111"
ALT_PROGRAM = "AddressLookupTab1e1111111111111111111111111"
MEMO_PROGRAMS = ("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo")

TOKEN_ACCOUNT_LEN = 165
MINT_LEN = 82
MULTISIG_LEN = 355
ACCOUNT_TYPE_MINT = 1
ACCOUNT_TYPE_ACCOUNT = 2
# Token-2022 ExtensionType numbers (the u16 in each TLV header) used by the dev methods, with mint-side value sizes
EXT_TRANSFER_FEE_CONFIG = 1
EXT_DEFAULT_ACCOUNT_STATE = 6
EXT_MEMO_TRANSFER = 8
EXT_NON_TRANSFERABLE = 9
EXT_TRANSFER_HOOK = 14
EXTENSION_VALUE_LEN = {
    EXT_TRANSFER_FEE_CONFIG: 108,  # 2 authorities, withheld u64, older and newer TransferFee {epoch, max, bps}
    EXT_DEFAULT_ACCOUNT_STATE: 1,
    EXT_NON_TRANSFERABLE: 0,
    EXT_TRANSFER_HOOK: 64,  # authority, program id
}
U64_MAX = 2**64 - 1
ALT_META_SIZE = 56


class RpcError(Exception):
    def __init__(self, code: int, message: str, data=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self):
        out = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out


def invalid_params(message: str) -> RpcError:
    return RpcError(-32602, message)


# ---------------------------------------------------------------------- transaction errors
def err_json(err):
    """A solders TransactionError (or None) -> the JSON Agave writes (`"BlockhashNotFound"`,
    `{"InstructionError":[0,{"Custom":1}]}`), through solders' own serializer."""
    if err is None:
        return None
    return json.loads(RpcSimulateTransactionResult(err=err, logs=None).to_json())["err"]


FIELDLESS_TX_ERRORS = {
    "AccountInUse": "Account in use",
    "AccountLoadedTwice": "Account loaded twice",
    "AccountNotFound": "Attempt to debit an account but found no record of a prior credit.",
    "ProgramAccountNotFound": "Attempt to load a program that does not exist",
    "InsufficientFundsForFee": "Insufficient funds for fee",
    "InvalidAccountForFee": "This account may not be used to pay transaction fees",
    "AlreadyProcessed": "This transaction has already been processed",
    "BlockhashNotFound": "Blockhash not found",
    "CallChainTooDeep": "Loader call chain is too deep",
    "MissingSignatureForFee": "Transaction requires a fee but has no signature present",
    "InvalidAccountIndex": "Transaction contains an invalid account reference",
    "SignatureFailure": "Transaction did not pass signature verification",
    "InvalidProgramForExecution": "This program may not be used for executing instructions",
    "SanitizeFailure": "Transaction failed to sanitize accounts offsets correctly",
    "ClusterMaintenance": "Transactions are currently disabled due to cluster maintenance",
    "AccountBorrowOutstanding": "Transaction processing left an account with an outstanding borrowed reference",
    "WouldExceedMaxBlockCostLimit": "Transaction would exceed max Block Cost Limit",
    "UnsupportedVersion": "Transaction version is unsupported",
    "InvalidWritableAccount": "Transaction loads a writable account that cannot be written",
    "WouldExceedMaxAccountCostLimit": "Transaction would exceed max account limit within the block",
    "WouldExceedAccountDataBlockLimit": "Transaction would exceed account data limit within the block",
    "TooManyAccountLocks": "Transaction locked too many accounts",
    "AddressLookupTableNotFound": "Transaction loads an address table account that doesn't exist",
    "InvalidAddressLookupTableOwner": "Transaction loads an address table account with an invalid owner",
    "InvalidAddressLookupTableData": "Transaction loads an address table account with invalid data",
    "InvalidAddressLookupTableIndex": "Transaction address table lookup uses an invalid index",
    "InvalidRentPayingAccount": "Transaction leaves an account with a lower balance than rent-exempt minimum",
    "WouldExceedMaxVoteCostLimit": "Transaction would exceed max Vote Cost Limit",
    "WouldExceedAccountDataTotalLimit": "Transaction would exceed total account data limit",
    "MaxLoadedAccountsDataSizeExceeded": "Transaction exceeded max loaded accounts data size cap",
    "InvalidLoadedAccountsDataSizeLimit": "LoadedAccountsDataSizeLimit set for transaction must be greater than 0.",
    "ResanitizationNeeded": "ResanitizationNeeded",
    "UnbalancedTransaction": "Sum of account balances before and after transaction do not match",
    "ProgramCacheHitMaxLimit": "Program cache hit max limit",
    "CommitCancelled": "CommitCancelled",
}

INSTRUCTION_ERRORS = {
    "GenericError": "generic instruction error",
    "InvalidArgument": "invalid program argument",
    "InvalidInstructionData": "invalid instruction data",
    "InvalidAccountData": "invalid account data for instruction",
    "AccountDataTooSmall": "account data too small for instruction",
    "InsufficientFunds": "insufficient funds for instruction",
    "IncorrectProgramId": "incorrect program id for instruction",
    "MissingRequiredSignature": "missing required signature for instruction",
    "AccountAlreadyInitialized": "instruction requires an uninitialized account",
    "UninitializedAccount": "instruction requires an initialized account",
    "UnbalancedInstruction": "sum of account balances before and after instruction do not match",
    "ModifiedProgramId": "instruction illegally modified the program id of an account",
    "ExternalAccountLamportSpend": "instruction spent from the balance of an account it does not own",
    "ExternalAccountDataModified": "instruction modified data of an account it does not own",
    "ReadonlyLamportChange": "instruction changed the balance of a read-only account",
    "ReadonlyDataModified": "instruction modified data of a read-only account",
    "DuplicateAccountIndex": "instruction contains duplicate accounts",
    "ExecutableModified": "instruction changed executable bit of an account",
    "RentEpochModified": "instruction modified rent epoch of an account",
    "NotEnoughAccountKeys": "insufficient account keys for instruction",
    "AccountDataSizeChanged": "program other than the account's owner changed the size of the account data",
    "AccountNotExecutable": "instruction expected an executable account",
    "AccountBorrowFailed": "instruction tries to borrow reference for an account which is already borrowed",
    "AccountBorrowOutstanding": "instruction left account with an outstanding borrowed reference",
    "DuplicateAccountOutOfSync": "instruction modifications of multiply-passed account differ",
    "InvalidError": "program returned invalid error code",
    "ExecutableDataModified": "instruction changed executable accounts data",
    "ExecutableLamportChange": "instruction changed the balance of an executable account",
    "ExecutableAccountNotRentExempt": "executable accounts must be rent exempt",
    "UnsupportedProgramId": "Unsupported program id",
    "CallDepth": "Cross-program invocation call depth too deep",
    "MissingAccount": "An account required by the instruction is missing",
    "ReentrancyNotAllowed": "Cross-program invocation reentrancy not allowed for this instruction",
    "MaxSeedLengthExceeded": "Length of the seed is too long for address generation",
    "InvalidSeeds": "Provided seeds do not result in a valid address",
    "InvalidRealloc": "Failed to reallocate account data",
    "ComputationalBudgetExceeded": "Computational budget exceeded",
    "PrivilegeEscalation": "Cross-program invocation with unauthorized signer or writable account",
    "ProgramEnvironmentSetupFailure": "Failed to create program execution environment",
    "ProgramFailedToComplete": "Program failed to complete",
    "ProgramFailedToCompile": "Program failed to compile",
    "Immutable": "Account is immutable",
    "IncorrectAuthority": "Incorrect authority provided",
    "AccountNotRentExempt": "An account does not have enough lamports to be rent-exempt",
    "InvalidAccountOwner": "Invalid account owner",
    "ArithmeticOverflow": "Program arithmetic overflowed",
    "UnsupportedSysvar": "Unsupported sysvar",
    "IllegalOwner": "Provided owner is not allowed",
    "MaxAccountsDataAllocationsExceeded": "Accounts data allocations exceeded the maximum allowed per transaction",
    "MaxAccountsExceeded": "Max accounts exceeded",
    "MaxInstructionTraceLengthExceeded": "Max instruction trace length exceeded",
    "BuiltinProgramsMustConsumeComputeUnits": "Builtin programs must consume compute units",
}


def err_display(err) -> str:
    """The Display text of a TransactionError given in its JSON form (what Agave puts after
    "Transaction simulation failed: ")."""
    if isinstance(err, str):
        return FIELDLESS_TX_ERRORS.get(err, err)
    if isinstance(err, dict) and len(err) == 1:
        (name, value), = err.items()
        if name == "InstructionError" and isinstance(value, list) and len(value) == 2:
            index, inner = value
            if isinstance(inner, dict) and "Custom" in inner:
                text = f"custom program error: {inner['Custom']:#x}"
            elif isinstance(inner, dict) and "BorshIoError" in inner:
                text = f"Failed to serialize or deserialize account data: {inner['BorshIoError']}"
            else:
                text = INSTRUCTION_ERRORS.get(inner, str(inner))
            return f"Error processing Instruction {index}: {text}"
        if name == "InsufficientFundsForRent":
            return f"Transaction results in an account ({value.get('account_index')}) with insufficient funds for rent"
        if name == "DuplicateInstruction":
            return f"Transaction contains a duplicate instruction ({value}) that is not allowed"
        if name == "ProgramExecutionTemporarilyRestricted":
            return (f"Execution of the program referenced by account at index {value.get('account_index')} "
                    "is temporarily restricted.")
        return name
    return json.dumps(err)


def simulation_result(err, logs, units, replacement=None, return_data=None):
    """RpcSimulateTransactionResult as Agave serializes it (via solders, so every field a client expects)."""
    out = json.loads(RpcSimulateTransactionResult(err=None, logs=None).to_json())
    out.update({"err": err, "logs": logs, "accounts": None, "unitsConsumed": units,
                "returnData": return_data, "innerInstructions": None, "replacementBlockhash": replacement})
    return out


# ---------------------------------------------------------------------- amounts
def ui_amount_string(amount: int, decimals: int) -> str:
    """Agave's real_number_string_trimmed: exact decimal, trailing zeros (and a bare '.') removed."""
    if decimals == 0:
        return str(amount)
    digits = str(amount).rjust(decimals + 1, "0")
    text = f"{digits[:-decimals]}.{digits[-decimals:]}"
    return text.rstrip("0").rstrip(".")


def ui_token_amount(amount: int, decimals: int, zero_is_null: bool = False):
    """UiTokenAmount. Transaction token balances come from the ledger store, which keeps 0.0 as null."""
    ui = float(amount) / float(10**decimals)
    return {
        "uiAmount": None if (zero_is_null and amount == 0) else ui,
        "decimals": decimals,
        "amount": str(amount),
        "uiAmountString": ui_amount_string(amount, decimals),
    }


# ---------------------------------------------------------------------- SPL Token layouts
def parse_token_account(owner_program: str, data: bytes):
    """An initialized SPL Token / Token-2022 token account -> dict, else None."""
    if owner_program not in TOKEN_PROGRAMS or len(data) < TOKEN_ACCOUNT_LEN:
        return None
    if len(data) > TOKEN_ACCOUNT_LEN:
        if owner_program != TOKEN_2022_PROGRAM or data[TOKEN_ACCOUNT_LEN] != ACCOUNT_TYPE_ACCOUNT:
            return None
    state = data[108]
    if state == 0:
        return None
    delegate_tag = struct.unpack_from("<I", data, 72)[0]
    return {
        "mint": str(Pubkey.from_bytes(data[0:32])),
        "owner": str(Pubkey.from_bytes(data[32:64])),
        "amount": struct.unpack_from("<Q", data, 64)[0],
        "delegate": str(Pubkey.from_bytes(data[76:108])) if delegate_tag == 1 else None,
        "state": state,
        "delegatedAmount": struct.unpack_from("<Q", data, 121)[0],
        "program": owner_program,
    }


def mint_len_with(extensions) -> int:
    """Token-2022's ExtensionType::try_calculate_account_len::<Mint>: the exact size InitializeMint2 expects for a
    mint carrying these extensions (82 without any; else padded to 165, the account type byte, then one 4-byte
    TLV header plus value per extension, 2 more bytes when that would equal a multisig's 355)."""
    if not extensions:
        return MINT_LEN
    size = TOKEN_ACCOUNT_LEN + 1 + sum(4 + EXTENSION_VALUE_LEN[e] for e in extensions)
    return size + 2 if size == MULTISIG_LEN else size


def parse_mint(owner_program: str, data: bytes):
    """An initialized mint -> {decimals, supply, mintAuthority, freezeAuthority}, else None."""
    if owner_program not in TOKEN_PROGRAMS or len(data) < MINT_LEN:
        return None
    if len(data) > MINT_LEN:
        # Token-2022 with extensions: padded to 165 then the account type byte
        if owner_program != TOKEN_2022_PROGRAM or len(data) <= TOKEN_ACCOUNT_LEN \
                or data[TOKEN_ACCOUNT_LEN] != ACCOUNT_TYPE_MINT:
            return None
    if data[45] != 1:
        return None
    authority_tag = struct.unpack_from("<I", data, 0)[0]
    return {
        "decimals": data[44],
        "supply": struct.unpack_from("<Q", data, 36)[0],
        "mintAuthority": str(Pubkey.from_bytes(data[4:36])) if authority_tag == 1 else None,
        "freezeAuthority": str(Pubkey.from_bytes(data[50:82])) if struct.unpack_from("<I", data, 46)[0] == 1 else None,
    }


# ---------------------------------------------------------------------- memos and compute budget
def memo_of(static_keys, instructions):
    """Agave's getSignaturesForAddress `memo`: "[len] text" per top-level memo instruction, joined by "; "."""
    memos = []
    for ix in instructions:
        index = ix.program_id_index
        if index < len(static_keys) and str(static_keys[index]) in MEMO_PROGRAMS:
            data = bytes(ix.data)
            memos.append(f"[{len(data)}] {data.decode('utf-8', errors='replace')}")
    return "; ".join(memos) if memos else None


def compute_unit_price(static_keys, instructions) -> int:
    """Micro-lamports per CU from a top-level SetComputeUnitPrice (0 when none)."""
    price = 0
    for ix in instructions:
        index = ix.program_id_index
        if index < len(static_keys) and str(static_keys[index]) == COMPUTE_BUDGET_PROGRAM:
            data = bytes(ix.data)
            if len(data) == 9 and data[0] == 3:
                price = struct.unpack_from("<Q", data, 1)[0]
    return price


# ---------------------------------------------------------------------- lookup tables
def alt_account_data(addresses, authority=None, last_extended_slot=0) -> bytes:
    """ProgramState::LookupTable(meta) serialized as the ALT program does, meta padded to 56 bytes."""
    meta = struct.pack("<IQQB", 1, U64_MAX, last_extended_slot, 0)
    meta += (b"\x01" + bytes(authority)) if authority is not None else b"\x00"
    meta = meta.ljust(ALT_META_SIZE, b"\x00")
    return meta + b"".join(bytes(a) for a in addresses)


def alt_addresses(data: bytes):
    """Addresses stored in an address lookup table account (None when the data is not a lookup table)."""
    if len(data) < ALT_META_SIZE or struct.unpack_from("<I", data, 0)[0] != 1:
        return None
    body = data[ALT_META_SIZE:]
    if len(body) % 32:
        return None
    return [Pubkey.from_bytes(body[i:i + 32]) for i in range(0, len(body), 32)]


# ---------------------------------------------------------------------- text codecs
def b58(data: bytes) -> str:
    return base58.b58encode(data).decode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def parse_pubkey(value, where: str) -> Pubkey:
    if not isinstance(value, str):
        raise invalid_params(f"Invalid param: {where} must be a base-58 string")
    try:
        raw = base58.b58decode(value)
    except ValueError:
        raise invalid_params("Invalid param: Invalid")
    if len(raw) != 32:
        raise invalid_params("Invalid param: WrongSize")
    return Pubkey.from_bytes(raw)
