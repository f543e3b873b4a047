"""Billing vectors: Stripe webhook signatures and request encoding, from stripe-python (Stripe's own library)."""
from urllib.parse import urlencode

import stripe
from stripe._encode import _api_encode


def _text(rng, n):
    alphabet = "abcdefghijklmnopqrstuvwxyz ABC0123456789_-.~&=+%/?[]{}\"'üé€漢"
    return "".join(rng.choice(alphabet) for _ in range(n))


def signatures(rng, count):
    cases = []
    for _ in range(count):
        secret = "whsec_" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rng.randrange(8, 40)))
        payload = '{"id":"evt_%d","type":"invoice.finalized","data":{"object":{"note":%s}}}' % (rng.randrange(10**9), repr(_text(rng, rng.randrange(0, 80))).replace("'", '"'))
        timestamp = rng.randrange(1_600_000_000, 1_900_000_000)
        signature = stripe.WebhookSignature._compute_signature("%d.%s" % (timestamp, payload), secret)
        header = "t=%d,v1=%s" % (timestamp, signature)
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=None)  # the reference accepts it
        cases.append({"secret": secret, "payload": payload, "timestamp": timestamp, "header": header})
    return cases


def _value(rng, depth, in_list=False):
    """Values as Stripe's API takes them. Inside lists only strings, integers and objects: stripe-python turns
    booleans, None and nested lists inside a list into Python reprs ("True", "None", "[...]"), an artifact of that
    library, not part of Stripe's encoding, so they are not compared."""
    kinds = [0, 1, 3] if in_list else [0, 1, 2, 5]
    if depth < 3:
        kinds += [3] if in_list else [3, 4]
    kind = rng.choice(kinds)
    if kind == 0:
        return _text(rng, rng.randrange(0, 12))
    if kind == 1:
        return rng.randrange(-10**12, 10**12)
    if kind == 2:
        return rng.choice([True, False])
    if kind == 3:
        return {"k%d_%s" % (i, _text(rng, 3)): _value(rng, depth + 1) for i in range(rng.randrange(1, 4))}
    if kind == 4:
        return [_value(rng, depth + 1, in_list=True) for _ in range(rng.randrange(1, 4))]
    return None


def forms(rng, count):
    cases = []
    for _ in range(count):
        params = {"p%d" % i: _value(rng, 0) for i in range(rng.randrange(1, 6))}
        encoded = urlencode(list(_api_encode(params, "V1")))
        cases.append({"params": params, "encoded": encoded})
    return cases


def generate(rng, count):
    return {"stripe_signatures": signatures(rng, count), "stripe_forms": forms(rng, count)}
