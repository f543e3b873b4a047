"""Solana reference vectors: every expected value comes from solders, solana-py or base58.

`generate(rng, count)` returns one list per file (`.vectors/solana_*.json`). Inputs are random but drawn from
`rng`, so a run is reproducible from the seed. Keys are base58 strings, byte strings lower-case hex.
"""
import random

import base58
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.token.associated import get_associated_token_address
from solders.token.state import TokenAccount
from solders.transaction import Transaction, VersionedTransaction
from spl.token import instructions as spl
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID

P = 2**255 - 19


def _bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(n))


def _key(rng: random.Random) -> Pubkey:
    return Pubkey(_bytes(rng, 32))


def _meta_json(meta: AccountMeta) -> dict:
    return {"pubkey": str(meta.pubkey), "is_signer": meta.is_signer, "is_writable": meta.is_writable}


def _ix_json(ix: Instruction) -> dict:
    return {
        "program_id": str(ix.program_id),
        "accounts": [_meta_json(m) for m in ix.accounts],
        "data": bytes(ix.data).hex(),
    }


# ---------------------------------------------------------------------------------------------- base58

def _base58(rng, count):
    cases = []
    fixed = [b"", b"\x00", b"\x00\x00\x00", b"\x00\x01", b"\xff" * 32, b"\x00" * 32, b"\x00" * 31 + b"\x01"]
    for raw in fixed:
        cases.append({"hex": raw.hex(), "base58": base58.b58encode(raw).decode()})
    for _ in range(count):
        zeros = rng.choice([0, 0, 0, 1, 2, 5]) if rng.random() < 0.5 else 0
        length = rng.choice([32, 32, 64, rng.randrange(0, 80)])
        raw = b"\x00" * zeros + _bytes(rng, length)
        cases.append({"hex": raw.hex(), "base58": base58.b58encode(raw).decode()})
    return cases


# ---------------------------------------------------------------------------------------------- on-curve

def _on_curve(rng, count):
    values = []
    # Edge values: y >= p, y = ±1 and 0 with and without the sign bit, small-order points, all ones.
    for y in [0, 1, P - 1, P, P + 1, P + 2, 2**255 - 1, 2**255 - 2, P - 2, 2, 19, 2**254]:
        for sign in (0, 1):
            if y >= 2**255:
                continue
            values.append((y | (sign << 255)).to_bytes(32, "little"))
    small_order = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    ]
    values += [bytes.fromhex(h) for h in small_order]
    for _ in range(max(3000, 3 * count)):
        values.append(_bytes(rng, 32))
    for _ in range(count // 2):  # real public keys: on the curve
        values.append(bytes(Keypair.from_seed(_bytes(rng, 32)).pubkey()))
    for _ in range(count // 4):  # PDAs: off the curve
        pda, _bump = Pubkey.find_program_address([_bytes(rng, 8)], _key(rng))
        values.append(bytes(pda))
    return [{"hex": v.hex(), "on_curve": Pubkey(v).is_on_curve()} for v in values]


# ---------------------------------------------------------------------------------------------- PDAs, ATAs

def _seeds(rng, max_count):
    n = rng.randrange(0, max_count + 1)
    return [_bytes(rng, rng.randrange(0, 33)) for _ in range(n)]


def _pdas(rng, count):
    found = []
    for i in range(count):
        seeds = _seeds(rng, 15)
        program = _key(rng)
        address, bump = Pubkey.find_program_address(seeds, program)
        found.append({"seeds": [s.hex() for s in seeds], "program_id": str(program),
                      "address": str(address), "bump": bump})
    created = []
    for i in range(count):
        seeds = _seeds(rng, 17)
        if rng.random() < 0.1 and seeds:
            seeds[rng.randrange(len(seeds))] = _bytes(rng, rng.randrange(33, 40))
        program = _key(rng)
        case = {"seeds": [s.hex() for s in seeds], "program_id": str(program)}
        try:
            case["address"] = str(Pubkey.create_program_address(seeds, program))
            case["error"] = None
        except Exception as e:  # solders.PubkeyError
            case["address"] = None
            case["error"] = "maxSeedLength" if "too long" in str(e) else "invalidSeeds"
        created.append(case)
    return found, created


def _atas(rng, count):
    cases = []
    for i in range(count):
        wallet, mint = _key(rng), _key(rng)
        program = TOKEN_PROGRAM_ID if i % 2 == 0 else TOKEN_2022_PROGRAM_ID
        cases.append({"wallet": str(wallet), "mint": str(mint), "token_program": str(program),
                      "address": str(get_associated_token_address(wallet, mint, program))})
    return cases


# ---------------------------------------------------------------------------------------------- compact-u16

def _compact_u16(rng, count):
    """Expected encodings read out of solders messages: an instruction's data length is a compact-u16."""
    edge = [0, 1, 2, 126, 127, 128, 129, 255, 256, 1000, 16383, 16384, 16385, 32767, 32768, 65534, 65535]
    values = edge + [rng.randrange(0, 65536) for _ in range(count)]
    program, payer = _key(rng), _key(rng)
    cases = []
    for n in values:
        ix = Instruction(program, bytes(n), [])
        raw = bytes(Message.new_with_blockhash([ix], payer, Hash.default()))
        # header 3, key count 1, two keys 64, blockhash 32, ix count 1, program index 1, accounts len 1 (= 0)
        start = 3 + 1 + 64 + 32 + 1 + 1 + 1
        encoded = raw[start:len(raw) - n]
        cases.append({"value": n, "hex": encoded.hex()})
    return cases


# ---------------------------------------------------------------------------------------------- messages

def _random_instructions(rng, pool, payer):
    big = rng.random() < 0.03
    many = rng.random() < 0.03
    n_ix = rng.randrange(130, 160) if many else rng.randrange(0, 6)
    programs = pool + [payer] if payer is not None and rng.random() < 0.02 else pool
    out = []
    for _ in range(n_ix):
        program = rng.choice(programs) if rng.random() < 0.8 else _key(rng)
        n_acc = rng.randrange(0, 8) if not many else rng.randrange(0, 3)
        accounts = []
        for _ in range(n_acc):
            key = rng.choice(pool) if rng.random() < 0.85 else (payer or rng.choice(pool))
            accounts.append(AccountMeta(key, rng.random() < 0.3, rng.random() < 0.5))
        if big:
            size = rng.choice([rng.randrange(128, 400), rng.randrange(16384, 20000)])
        else:
            size = rng.randrange(0, 40)
        out.append(Instruction(program, _bytes(rng, size), accounts))
    if rng.random() < 0.03:  # many distinct accounts: a two-byte key count
        accounts = [AccountMeta(_key(rng), False, rng.random() < 0.5) for _ in range(rng.randrange(128, 200))]
        out.append(Instruction(rng.choice(pool), b"", accounts))
    return out


def _legacy_messages(rng, count):
    cases = []
    for _ in range(count):
        pool = [_key(rng) for _ in range(rng.randrange(1, 12))]
        payer = rng.choice([None, _key(rng), rng.choice(pool)]) if rng.random() < 0.9 else None
        ixs = _random_instructions(rng, pool, payer)
        blockhash = Hash(_bytes(rng, 32))
        msg = Message.new_with_blockhash(ixs, payer, blockhash)
        cases.append({"instructions": [_ix_json(ix) for ix in ixs],
                      "payer": str(payer) if payer is not None else None,
                      "blockhash": str(blockhash), "message": bytes(msg).hex()})
    return cases


def _v0_messages(rng, count):
    cases = []
    for _ in range(count):
        pool = [_key(rng) for _ in range(rng.randrange(1, 14))]
        payer = rng.choice([_key(rng), rng.choice(pool)])
        ixs = _random_instructions(rng, pool, payer)
        tables = []
        for _ in range(rng.randrange(0, 4)):
            addresses = [rng.choice(pool + [payer]) if rng.random() < 0.6 else _key(rng)
                         for _ in range(rng.randrange(0, 12))]
            if rng.random() < 0.05:  # long table: indexes above 127
                addresses = [_key(rng) for _ in range(rng.randrange(130, 256))] + addresses
            tables.append(AddressLookupTableAccount(_key(rng), addresses))
        blockhash = Hash(_bytes(rng, 32))
        case = {"instructions": [_ix_json(ix) for ix in ixs], "payer": str(payer),
                "lookup_tables": [{"key": str(t.key), "addresses": [str(a) for a in t.addresses]} for t in tables],
                "blockhash": str(blockhash)}
        try:
            case["message"] = to_bytes_versioned(MessageV0.try_compile(payer, ixs, tables, blockhash)).hex()
            case["error"] = None
        except Exception as e:
            case["message"] = None
            case["error"] = str(e)
        cases.append(case)
    return cases


def _transactions(rng, count):
    cases = []
    for i in range(count):
        seeds = [_bytes(rng, 32) for _ in range(rng.randrange(1, 4))]
        signers = [Keypair.from_seed(s) for s in seeds]
        payer = signers[0]
        pool = [_key(rng) for _ in range(rng.randrange(1, 6))]
        ixs = []
        for _ in range(rng.randrange(1, 4)):
            accounts = [AccountMeta(rng.choice(pool), False, rng.random() < 0.5) for _ in range(rng.randrange(0, 4))]
            accounts += [AccountMeta(s.pubkey(), True, rng.random() < 0.5) for s in signers if rng.random() < 0.7]
            rng.shuffle(accounts)
            ixs.append(Instruction(rng.choice(pool), _bytes(rng, rng.randrange(0, 50)), accounts))
        # Every signer must appear; the payer always does.
        ixs.append(Instruction(pool[0], b"", [AccountMeta(s.pubkey(), True, False) for s in signers[1:]]))
        blockhash = Hash(_bytes(rng, 32))
        order = list(range(len(signers)))
        rng.shuffle(order)
        shuffled = [signers[j] for j in order]
        case = {"seeds": [seeds[j].hex() for j in order], "instructions": [_ix_json(ix) for ix in ixs],
                "payer": str(payer.pubkey()), "blockhash": str(blockhash)}
        if i % 2 == 0:
            msg = Message.new_with_blockhash(ixs, payer.pubkey(), blockhash)
            tx = Transaction(shuffled, msg, blockhash)
            case["version"] = "legacy"
            case["lookup_tables"] = []
        else:
            tables = [AddressLookupTableAccount(_key(rng), pool[1:] + [_key(rng)])] if rng.random() < 0.5 else []
            msg = MessageV0.try_compile(payer.pubkey(), ixs, tables, blockhash)
            tx = VersionedTransaction(msg, shuffled)
            case["version"] = "v0"
            case["lookup_tables"] = [{"key": str(t.key), "addresses": [str(a) for a in t.addresses]}
                                     for t in tables]
        case["transaction"] = bytes(tx).hex()
        cases.append(case)
    return cases


# ---------------------------------------------------------------------------------------------- instructions

def _amount(rng):
    return rng.choice([0, 1, 2**64 - 1, rng.getrandbits(64), rng.getrandbits(rng.randrange(1, 64))])


def _spl(rng, count):
    cases = []
    kinds = ["transfer", "transfer_checked", "approve", "approve_checked", "revoke"]
    for i in range(count):
        kind = kinds[i % len(kinds)]
        program = TOKEN_PROGRAM_ID if rng.random() < 0.5 else TOKEN_2022_PROGRAM_ID
        source, mint, dest, owner, delegate = (_key(rng) for _ in range(5))
        amount, decimals = _amount(rng), rng.randrange(0, 256)
        args = {"program_id": program, "owner": owner}
        if kind == "transfer":
            ix = spl.transfer(spl.models.TransferParams(source=source, dest=dest, amount=amount, **args))
        elif kind == "transfer_checked":
            ix = spl.transfer_checked(spl.models.TransferCheckedParams(
                source=source, mint=mint, dest=dest, amount=amount, decimals=decimals, **args))
        elif kind == "approve":
            ix = spl.approve(spl.models.ApproveParams(source=source, delegate=delegate, amount=amount, **args))
        elif kind == "approve_checked":
            ix = spl.approve_checked(spl.models.ApproveCheckedParams(
                source=source, mint=mint, delegate=delegate, amount=amount, decimals=decimals, **args))
        else:
            ix = spl.revoke(spl.models.RevokeParams(account=source, **args))
        cases.append({"kind": kind, "token_program": str(program), "source": str(source), "mint": str(mint),
                      "destination": str(dest), "delegate": str(delegate), "owner": str(owner),
                      "amount": str(amount), "decimals": decimals, "instruction": _ix_json(ix)})
    return cases


def _compute_budget(rng, count):
    cases = []
    for i in range(count):
        if i % 2 == 0:
            value = rng.choice([0, 1, 2**32 - 1, rng.getrandbits(32), 200_000, 1_400_000])
            ix = set_compute_unit_limit(value)
            kind = "limit"
        else:
            value = _amount(rng)
            ix = set_compute_unit_price(value)
            kind = "price"
        cases.append({"kind": kind, "value": str(value), "instruction": _ix_json(ix)})
    return cases


# ---------------------------------------------------------------------------------------------- token accounts

def _coption_key(rng, present):
    return (b"\x01\x00\x00\x00" + _bytes(rng, 32)) if present else (b"\x00" * 36)


def _token_accounts(rng, count):
    cases = []
    for i in range(count):
        mint, owner = _bytes(rng, 32), _bytes(rng, 32)
        amount, delegated = _amount(rng), _amount(rng)
        delegate = _coption_key(rng, rng.random() < 0.5)
        state = rng.choice([1, 1, 2])
        native_present = rng.random() < 0.3
        native = (b"\x01\x00\x00\x00" if native_present else b"\x00" * 4) + \
            (_amount(rng).to_bytes(8, "little") if native_present else b"\x00" * 8)
        close = _coption_key(rng, rng.random() < 0.3)
        raw = (mint + owner + amount.to_bytes(8, "little") + delegate + bytes([state]) + native
               + delegated.to_bytes(8, "little") + close)
        assert len(raw) == 165
        parsed = TokenAccount.from_bytes(raw)
        case = {"hex": raw.hex(), "mint": str(parsed.mint), "owner": str(parsed.owner),
                "amount": str(parsed.amount),
                "delegate": str(parsed.delegate) if parsed.delegate is not None else None,
                "state": int(parsed.state), "is_native": str(parsed.is_native) if parsed.is_native is not None else None,
                "delegated_amount": str(parsed.delegated_amount),
                "close_authority": str(parsed.close_authority) if parsed.close_authority is not None else None,
                "reserialized": bytes(parsed).hex()}
        cases.append(case)
    return cases


def generate(rng: random.Random, count: int) -> dict:
    found, created = _pdas(rng, count)
    return {
        "solana_base58": _base58(rng, count),
        "solana_on_curve": _on_curve(rng, count),
        "solana_pda_find": found,
        "solana_pda_create": created,
        "solana_ata": _atas(rng, count),
        "solana_compact_u16": _compact_u16(rng, count),
        "solana_legacy_messages": _legacy_messages(rng, count),
        "solana_v0_messages": _v0_messages(rng, count),
        "solana_transactions": _transactions(rng, count),
        "solana_spl_token": _spl(rng, count),
        "solana_compute_budget": _compute_budget(rng, count),
        "solana_token_accounts": _token_accounts(rng, count),
    }
