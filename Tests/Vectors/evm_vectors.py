"""EVM reference vectors: keccak-256, EIP-55, RLP, ABI, selectors/topics, transactions, ERC-20.

Every expected value comes from eth-utils, rlp, eth-abi or eth-account; the inputs are random (seeded by the caller).
Numbers that may exceed 2^53 are written as decimal strings, bytes as lower-case hex without prefix.
"""
import random

import rlp
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account._utils.legacy_transactions import serializable_unsigned_transaction_from_dict
from eth_utils import (
    event_signature_to_log_topic,
    function_signature_to_4byte_selector,
    keccak,
    to_checksum_address,
)

U256 = 2**256 - 1


def _bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(n))


def _uint(rng: random.Random, bits: int = 256) -> int:
    """Biased towards edges and every byte length."""
    pick = rng.random()
    if pick < 0.1:
        return rng.choice([0, 1, 0x7F, 0x80, 0xFF, 0x100, 2**bits - 1, 2 ** (bits - 1)])
    return rng.getrandbits(rng.randint(1, bits))


def _address(rng: random.Random) -> str:
    return "0x" + _bytes(rng, 20).hex()


# MARK: keccak, EIP-55, selectors


def keccak_vectors(rng: random.Random, count: int) -> list:
    lengths = [0, 1, 31, 32, 33, 55, 56, 64, 127, 128, 135, 136, 137, 200, 271, 272, 273, 408, 600]
    cases = [{"input": b"".hex(), "hash": keccak(b"").hex()}, {"input": b"abc".hex(), "hash": keccak(b"abc").hex()}]
    for i in range(count):
        n = lengths[i] if i < len(lengths) else rng.randint(0, 600)
        data = _bytes(rng, n)
        cases.append({"input": data.hex(), "hash": keccak(data).hex()})
    return cases


def eip55_vectors(rng: random.Random, count: int) -> list:
    cases = []
    for _ in range(count):
        raw = _bytes(rng, 20)
        cases.append({"lower": raw.hex(), "checksum": to_checksum_address(raw)})
    return cases


TYPE_NAMES = ["uint256", "address", "bool", "bytes32", "bytes", "string", "int256", "uint8", "uint64", "bytes4"]


def _random_signature(rng: random.Random) -> str:
    name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_") for _ in range(rng.randint(1, 12)))
    params = []
    for _ in range(rng.randint(0, 4)):
        t = rng.choice(TYPE_NAMES)
        if rng.random() < 0.2:
            t += rng.choice(["[]", "[2]"])
        params.append(t)
    return f"{name}({','.join(params)})"


def selector_vectors(rng: random.Random, count: int) -> list:
    fixed = [
        "transfer(address,uint256)",
        "transferFrom(address,address,uint256)",
        "approve(address,uint256)",
        "balanceOf(address)",
        "allowance(address,address)",
        "totalSupply()",
        "decimals()",
        "Transfer(address,address,uint256)",
        "Approval(address,address,uint256)",
    ]
    signatures = fixed + [_random_signature(rng) for _ in range(count)]
    return [
        {
            "signature": s,
            "selector": function_signature_to_4byte_selector(s).hex(),
            "topic": event_signature_to_log_topic(s).hex(),
        }
        for s in signatures
    ]


# MARK: RLP


def _rlp_string(rng: random.Random) -> bytes:
    pick = rng.random()
    if pick < 0.15:
        return bytes([rng.randint(0, 0x7F)])
    if pick < 0.25:
        return bytes([rng.randint(0x80, 0xFF)])
    n = rng.choice([0, 1, 2, 55, 56, 57, 255, 256, 300, 1024, rng.randint(0, 80), rng.randint(0, 80)])
    return _bytes(rng, n)


def _rlp_item(rng: random.Random, depth: int):
    if depth >= 4 or rng.random() < 0.5:
        return _rlp_string(rng)
    return [_rlp_item(rng, depth + 1) for _ in range(rng.choice([0, 1, 2, 3, rng.randint(0, 8)]))]


def _rlp_json(item):
    return item.hex() if isinstance(item, bytes) else [_rlp_json(x) for x in item]


def rlp_vectors(rng: random.Random, count: int) -> list:
    fixed = [b"", b"\x00", b"\x7f", b"\x80", b"a" * 55, b"a" * 56, [], [[], [[]]], [b"", []]]
    items = fixed + [_rlp_item(rng, 0) for _ in range(count)]
    return [{"item": _rlp_json(x), "encoded": rlp.encode(x).hex()} for x in items]


# MARK: ABI

ABI_TYPES = [
    "uint8", "uint16", "uint32", "uint64", "uint128", "uint256", "int256", "int8", "int64",
    "address", "bool", "bytes32", "bytes4", "bytes", "string",
    "uint256[]", "address[]", "bytes[]", "string[]", "uint256[2]", "string[2]", "uint256[][]",
]


def _random_text(rng: random.Random) -> str:
    alphabet = "abc XYZ 0123456789 -_.!é中文€😀"
    return "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 31, 32, 33, rng.randint(0, 70)])))


def _abi_value(rng: random.Random, t: str):
    """(python value for eth_abi, JSON value for Swift)."""
    if t.endswith("]"):
        inner, size = t[: t.rindex("[")], t[t.rindex("[") + 1 : -1]
        n = int(size) if size else rng.choice([0, 1, 2, rng.randint(0, 6)])
        pairs = [_abi_value(rng, inner) for _ in range(n)]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    if t.startswith("uint"):
        v = _uint(rng, int(t[4:]))
        return v, str(v)
    if t.startswith("int"):
        bits = int(t[3:])
        v = rng.randint(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        if rng.random() < 0.1:
            v = rng.choice([-1, 0, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1])
        return v, str(v)
    if t == "address":
        a = _bytes(rng, 20)
        return to_checksum_address(a), a.hex()
    if t == "bool":
        b = rng.random() < 0.5
        return b, b
    if t.startswith("bytes") and t != "bytes":
        b = _bytes(rng, int(t[5:]))
        return b, b.hex()
    if t == "bytes":
        b = _bytes(rng, rng.choice([0, 1, 31, 32, 33, 64, rng.randint(0, 100)]))
        return b, b.hex()
    if t == "string":
        s = _random_text(rng)
        return s, s
    raise ValueError(t)


def _abi_json(t: str, v):
    if t.endswith("]"):
        inner = t[: t.rindex("[")]
        return [_abi_json(inner, x) for x in v]
    if t.startswith("uint") or t.startswith("int"):
        return str(v)
    if t == "address":
        return v[2:].lower()
    if t == "bool" or t == "string":
        return v
    return v.hex()


def abi_vectors(rng: random.Random, count: int) -> list:
    cases = []
    for _ in range(count):
        types = [rng.choice(ABI_TYPES) for _ in range(rng.randint(0, 5))]
        pairs = [_abi_value(rng, t) for t in types]
        encoded = abi_encode(types, [p[0] for p in pairs])
        decoded = abi_decode(types, encoded)
        # The JSON the Swift test compares with is eth-abi's own decoding, checked against the input.
        values = [_abi_json(t, v) for t, v in zip(types, decoded)]
        assert values == [p[1] for p in pairs], (types, values)
        cases.append({"types": types, "values": values, "encoded": encoded.hex()})
    return cases


# MARK: transactions


def _key(rng: random.Random) -> bytes:
    while True:
        k = _bytes(rng, 32)
        if 0 < int.from_bytes(k, "big") < 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141:
            return k


def _chain_id(rng: random.Random) -> int:
    return rng.choice([1, 5, 10, 56, 137, 8453, 42161, 11155111, 31337, 2**32 - 1, 2**53 + 1, 2**63, 2**64 - 1,
                       rng.randint(1, 2**64 - 1)])


def _calldata(rng: random.Random) -> bytes:
    pick = rng.random()
    if pick < 0.3:
        return b""
    if pick < 0.6:
        return function_signature_to_4byte_selector("transferFrom(address,address,uint256)") + abi_encode(
            ["address", "address", "uint256"], [_address(rng), _address(rng), _uint(rng)])
    return _bytes(rng, rng.choice([1, 55, 56, rng.randint(0, 400)]))


def _signed_common(tx: dict, key: bytes) -> dict:
    signed = Account.sign_transaction(tx, key)
    unsigned = serializable_unsigned_transaction_from_dict(tx)
    sender = Account.recover_transaction(signed.raw_transaction)
    assert sender == Account.from_key(key).address
    return {
        "key": key.hex(),
        "signingHash": bytes(unsigned.hash()).hex(),
        "raw": bytes(signed.raw_transaction).hex(),
        "hash": bytes(signed.hash).hex(),
        "v": str(signed.v),
        "r": str(signed.r),
        "s": str(signed.s),
        "sender": sender,
    }


def legacy_vectors(rng: random.Random, count: int) -> list:
    cases = []
    for i in range(count):
        key = _key(rng)
        to = None if rng.random() < 0.1 else _address(rng)
        tx = {
            "nonce": _uint(rng, 64),
            "gasPrice": _uint(rng),
            "gas": _uint(rng, 64),
            "value": _uint(rng),
            "data": _calldata(rng),
        }
        tx["to"] = to_checksum_address(to) if to is not None else b""
        chain = None if rng.random() < 0.1 else _chain_id(rng)
        if chain is not None:
            tx["chainId"] = chain
        case = _signed_common(tx, key)
        case.update({
            "nonce": str(tx["nonce"]), "gasPrice": str(tx["gasPrice"]), "gas": str(tx["gas"]), "to": to,
            "value": str(tx["value"]), "data": tx["data"].hex(), "chainId": None if chain is None else str(chain),
        })
        cases.append(case)
    return cases


def eip1559_vectors(rng: random.Random, count: int) -> list:
    cases = []
    for _ in range(count):
        key = _key(rng)
        to = None if rng.random() < 0.1 else _address(rng)
        access = []
        if rng.random() < 0.4:
            for _ in range(rng.randint(0, 3)):
                access.append({
                    "address": to_checksum_address(_address(rng)),
                    "storageKeys": ["0x" + _bytes(rng, 32).hex() for _ in range(rng.randint(0, 3))],
                })
        chain = _chain_id(rng)
        tx = {
            "type": 2, "chainId": chain, "nonce": _uint(rng, 64), "maxPriorityFeePerGas": _uint(rng),
            "maxFeePerGas": _uint(rng), "gas": _uint(rng, 64), "to": to_checksum_address(to) if to is not None else b"",
            "value": _uint(rng), "data": _calldata(rng), "accessList": access,
        }
        case = _signed_common(tx, key)
        case.update({
            "chainId": str(chain), "nonce": str(tx["nonce"]), "maxPriorityFeePerGas": str(tx["maxPriorityFeePerGas"]),
            "maxFeePerGas": str(tx["maxFeePerGas"]), "gas": str(tx["gas"]), "to": to, "value": str(tx["value"]),
            "data": tx["data"].hex(),
            "accessList": [{"address": e["address"][2:].lower(), "storageKeys": [k[2:] for k in e["storageKeys"]]} for e in access],
        })
        cases.append(case)
    return cases


# MARK: ERC-20


def erc20_call_vectors(rng: random.Random, count: int) -> list:
    functions = {
        "transfer": ["address", "uint256"],
        "transferFrom": ["address", "address", "uint256"],
        "approve": ["address", "uint256"],
        "balanceOf": ["address"],
        "allowance": ["address", "address"],
    }
    cases = []
    for i in range(count):
        name = list(functions)[i % len(functions)]
        types = functions[name]
        args = [_address(rng) if t == "address" else _uint(rng) for t in types]
        calldata = function_signature_to_4byte_selector(f"{name}({','.join(types)})") + abi_encode(types, args)
        cases.append({
            "function": name,
            "args": [a[2:] if isinstance(a, str) else str(a) for a in args],
            "calldata": calldata.hex(),
        })
    return cases


def erc20_log_vectors(rng: random.Random, count: int) -> list:
    cases = []
    for i in range(count):
        event = "Transfer" if i % 2 == 0 else "Approval"
        a, b, value = _address(rng), _address(rng), _uint(rng)
        topics = [
            event_signature_to_log_topic(f"{event}(address,address,uint256)"),
            abi_encode(["address"], [a]),
            abi_encode(["address"], [b]),
        ]
        data = abi_encode(["uint256"], [value])
        (decoded,) = abi_decode(["uint256"], data)
        assert decoded == value
        cases.append({
            "event": event,
            "topics": [t.hex() for t in topics],
            "data": data.hex(),
            "first": a[2:],
            "second": b[2:],
            "value": str(value),
        })
    return cases


def generate(rng: random.Random, count: int) -> dict:
    return {
        "evm_keccak": keccak_vectors(rng, count),
        "evm_eip55": eip55_vectors(rng, count),
        "evm_selectors": selector_vectors(rng, count),
        "evm_rlp": rlp_vectors(rng, count),
        "evm_abi": abi_vectors(rng, count),
        "evm_legacy_tx": legacy_vectors(rng, count),
        "evm_eip1559_tx": eip1559_vectors(rng, count),
        "evm_erc20_calls": erc20_call_vectors(rng, count),
        "evm_erc20_logs": erc20_log_vectors(rng, count),
    }
