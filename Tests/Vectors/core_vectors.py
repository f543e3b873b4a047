"""UInt256 vectors: Python's arbitrary-precision integers are the reference."""

MAX = 2**256 - 1


def _rand(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return rng.randrange(0, 2**64)
    if kind == 1:
        return rng.randrange(0, 2**128)
    if kind == 2:
        return MAX - rng.randrange(0, 2**64)
    if kind == 3:
        return 2 ** rng.randrange(0, 256)
    return rng.randrange(0, 2 ** rng.randrange(1, 257))


def uint256(rng, count):
    cases = []
    for _ in range(count):
        a, b = _rand(rng), _rand(rng)
        if rng.randrange(8) == 0:
            b = rng.randrange(1, 2**64)
        total, product = a + b, a * b
        cases.append({
            "a": str(a), "b": str(b),
            "aHex": hex(a),
            "sum": str(total) if total <= MAX else None,
            "difference": str(a - b) if a >= b else None,
            "product": str(product) if product <= MAX else None,
            "productLow": str(product & MAX),
            "quotient": str(a // b) if b else None,
            "remainder": str(a % b) if b else None,
            "aBytes": a.to_bytes(32, "big").hex(),
        })
    return cases


def generate(rng, count):
    return {"uint256": uint256(rng, count)}
