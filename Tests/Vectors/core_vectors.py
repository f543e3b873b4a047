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


EXPONENTS = {"USD": 2, "EUR": 2, "JPY": 0, "KWD": 3}


def money(rng, count):
    """Minor units -> token base units at a decimal rate, rounded up (ceil) with exact rational arithmetic."""
    from fractions import Fraction
    import math
    cases = []
    for i in range(count):
        currency = rng.choice(list(EXPONENTS))
        minor = rng.choice([0, 1, 99, 100, 2500, rng.randrange(0, 10**9), rng.randrange(0, 2**64)])
        decimals = rng.choice([0, 2, 6, 8, 9, 18, 24, 36, 60, 77])
        if i % 3 == 0:
            rate = "1"
        else:
            whole = rng.choice(["0", "1", str(rng.randrange(1, 10**6))])
            frac = "".join(rng.choice("0123456789") for _ in range(rng.randrange(0, 12)))
            rate = whole + ("." + frac if frac else "")
            if Fraction(rate) == 0:
                rate = "1"
        exact = Fraction(minor) * Fraction(rate) * 10**decimals / 10**EXPONENTS[currency]
        expected = math.ceil(exact)
        # Settle computes minor x (the rate's digits) x 10^decimals exactly in 256 bits; past that it is an error.
        significand = int(rate.replace(".", ""))
        fits = minor * significand * 10**decimals < 2**256 and expected < 2**256
        cases.append({"minor": str(minor), "currency": currency, "decimals": decimals, "rate": rate,
                      "expected": str(expected) if fits else None})
    return cases


def generate(rng, count):
    return {"uint256": uint256(rng, count), "money": money(rng, count)}
