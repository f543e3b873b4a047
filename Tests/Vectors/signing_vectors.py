"""Signing vectors: ed25519 from PyNaCl, secp256k1 recoverable signatures from eth-keys, key file formats from solders."""
import json

import nacl.signing
from eth_keys import keys as eth_keys
from solders.keypair import Keypair

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _rand_bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def ed25519(rng, count):
    cases = []
    for i in range(count):
        seed = _rand_bytes(rng, 32)
        length = rng.choice([0, 1, 31, 32, 33, 64, 127, 128, 255, 1232]) if i % 4 == 0 else rng.randrange(0, 600)
        message = _rand_bytes(rng, length)
        key = nacl.signing.SigningKey(seed)
        signed = key.sign(message)
        cases.append({
            "seed": seed.hex(),
            "publicKey": key.verify_key.encode().hex(),
            "message": message.hex(),
            "signature": signed.signature.hex(),
        })
    return cases


def secp256k1(rng, count):
    cases = []
    for i in range(count):
        secret = rng.randrange(1, SECP256K1_N)
        if i == 0:
            secret = 1
        elif i == 1:
            secret = SECP256K1_N - 1
        key = eth_keys.PrivateKey(secret.to_bytes(32, "big"))
        digest = _rand_bytes(rng, 32)
        signature = key.sign_msg_hash(digest)
        cases.append({
            "privateKey": key.to_bytes().hex(),
            "publicKey": key.public_key.to_bytes().hex(),  # 64 bytes x || y
            "compressed": key.public_key.to_compressed_bytes().hex(),
            "address": key.public_key.to_checksum_address(),
            "digest": digest.hex(),
            "r": signature.r.to_bytes(32, "big").hex(),
            "s": signature.s.to_bytes(32, "big").hex(),
            "v": signature.v,
        })
    return cases


def solana_keypair_formats(rng, count):
    cases = []
    for _ in range(count):
        seed = _rand_bytes(rng, 32)
        keypair = Keypair.from_seed(seed)
        cases.append({
            "seed": seed.hex(),
            "json": keypair.to_json(),           # Solana CLI id.json: [n, n, ...] 64 numbers
            "base58": str(keypair),              # wallet export: base58 of the 64 bytes
            "keypairHex": bytes(keypair).hex(),  # the same 64 bytes in hex
            "publicKey": bytes(keypair.pubkey()).hex(),
            "address": str(keypair.pubkey()),
        })
    return cases


def generate(rng, count):
    return {
        "ed25519": ed25519(rng, count),
        "secp256k1_sign": secp256k1(rng, count),
        "solana_keypairs": solana_keypair_formats(rng, count),
    }
