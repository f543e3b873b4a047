"""schemathesis hooks for Tests/Peers/api_fuzz.py (loaded through SCHEMATHESIS_HOOKS=api_fuzz_hooks).

Left to itself the fuzzer would almost never name a chain the daemon knows (`{chain}` is any string), so every wallet
route would end in `404 no chain`; it would never name an invoice the ledger holds, and every Stripe webhook would
stop at the signature. These hooks mix in the world's own names — drawn by Hypothesis, so a seed replays the same
run: each generated value is kept, or some of its fields are replaced by a configured chain, one of its wallets
(checksummed, lower case, or another chain's), a token symbol in any case, an invoice the ledger has, a cursor the
API could have returned, or a customer Stripe knows. Webhook bodies are often shaped like Stripe events (random
types, ids, times and invoices) and signed with the daemon's webhook secret, so they reach the inbox and, once
stored, the billing pipeline behind it. The rest (amounts, limits, intervals, odd strings, bodies) stays the
fuzzer's. schemathesis re-validates a case a hook changed, so a mutated (negative) case that a substitution made
valid again is judged as valid.

One check is added, `settle_documented`: every response is checked again by Tests/Peers/openapi_check.py (status
documented, content type, body against the schema with openapi-schema-validator) including the media type's
`x-settle-refine`, which schemathesis does not know: the error `code` of each status and /healthz's `status`.

The world comes from the environment: SETTLE_FUZZ_WORLD, a JSON object
    {"chains": {"NAME": {"wallets": [...], "tokens": ["USDC"]}}, "invoices": [...], "customers": [...],
     "cursors": [...], "webhook_secret": "whsec_...", "spec": "path/to/openapi.yaml"}
"""
import hashlib
import hmac
import json
import os
import time

import schemathesis
from hypothesis import strategies as st

import openapi_check

WORLD = json.loads(os.environ.get("SETTLE_FUZZ_WORLD") or "{}")
CHAINS = WORLD.get("chains") or {}
KEEP = object()  # "leave the fuzzer's value"
DERIVED_ID = object()  # "an event id made from the event's other fields"
WEBHOOK = ("POST", "/webhooks/stripe")
EVENT_TYPES = ["invoice.created", "invoice.finalized", "invoice.updated", "invoice.paid", "invoice.payment_succeeded",
               "invoice.voided", "invoice.marked_uncollectible", "customer.subscription.updated",
               "customer.subscription.deleted", "customer.created"]


def _choice(values):
    """KEEP (most often) or one of `values`."""
    values = [v for v in values if v is not None]
    return st.sampled_from([KEEP, KEEP, *values]) if values else st.just(KEEP)


def _cases(symbol: str) -> list:
    return [symbol, symbol.lower(), symbol.capitalize()]


def _tokens() -> list:
    return sorted({case for chain in CHAINS.values() for symbol in chain.get("tokens", []) for case in _cases(symbol)})


def _wallets() -> list:
    out = []
    for chain in CHAINS.values():
        for wallet in chain.get("wallets", []):
            out.append(wallet)
            if wallet.startswith("0x"):
                out.append(wallet.lower())
    return out


def _apply(original: dict, replacements: dict) -> dict:
    changed = dict(original)
    for key, value in replacements.items():
        if value is not KEEP:
            changed[key] = value
    return changed


def _operation(context):
    operation = getattr(context, "operation", None)
    return (str(getattr(operation, "method", "")).upper(), getattr(operation, "path", None)) if operation else (None, None)


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    if not isinstance(path_parameters, dict):
        return st.just(path_parameters)
    replacements = {}
    if "chain" in path_parameters:
        replacements["chain"] = _choice(list(CHAINS))
    if "wallet" in path_parameters:
        replacements["wallet"] = _choice(_wallets())
    if "invoice" in path_parameters:
        replacements["invoice"] = _choice(WORLD.get("invoices") or [])
    if not replacements:
        return st.just(path_parameters)
    return st.fixed_dictionaries(replacements).map(lambda drawn: _apply(path_parameters, drawn))


@schemathesis.hook
def flatmap_query(context, query):
    if not isinstance(query, dict) or not query:
        return st.just(query)
    replacements = {}
    if "token" in query:
        replacements["token"] = _choice(_tokens())
    if "chain" in query:
        replacements["chain"] = _choice(list(CHAINS))
    if "cursor" in query:
        replacements["cursor"] = _choice(WORLD.get("cursors") or [])
    if not replacements:
        return st.just(query)
    return st.fixed_dictionaries(replacements).map(lambda drawn: _apply(query, drawn))


def _event(body: dict):
    """A Stripe-event-shaped object over the generated one: right and wrong ids, types, times and invoices."""
    invoices = WORLD.get("invoices") or ["in_none"]
    invoice = st.one_of(st.sampled_from(invoices), st.text(max_size=40), st.integers())
    created = st.one_of(st.integers(min_value=0, max_value=2 ** 32), st.integers(min_value=-1, max_value=2 ** 70),
                        st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
    event = st.fixed_dictionaries({
        # Mostly an id of its own (derived from the rest, so a seed replays it), else one the fuzzer makes up: a
        # repeat is a duplicate, an empty or odd one is refused.
        "id": st.one_of(st.just(DERIVED_ID), st.just(DERIVED_ID), st.text(max_size=30)),
        "object": st.sampled_from(["event", "event", "invoice", ""]),
        "type": st.one_of(st.sampled_from(EVENT_TYPES), st.text(max_size=30)),
        "created": created,
        "data": st.fixed_dictionaries({"object": st.fixed_dictionaries(
            {"id": invoice, "object": st.sampled_from(["invoice", "subscription", "customer"])},
            optional={"customer": st.sampled_from(WORLD.get("customers") or ["cus_none"]),
                      "status": st.sampled_from(["draft", "open", "paid", "void", "uncollectible", "weird"]),
                      "amount_due": st.integers(min_value=-1, max_value=2 ** 70),
                      "metadata": st.dictionaries(st.sampled_from(["settle_chain", "settle_token", "settle_wallet", "x"]),
                                                  st.one_of(st.sampled_from(list(CHAINS) + _tokens() + _wallets()), st.text(max_size=20)))})}),
    })
    return st.one_of(st.just(body), event.map(lambda e: {**body, **e, "id": _event_id(e)}))


def _event_id(event: dict):
    if event["id"] is not DERIVED_ID:
        return event["id"]
    rest = json.dumps({k: v for k, v in event.items() if k != "id"}, sort_keys=True, default=str)
    return "evt_fuzz_" + hashlib.sha256(rest.encode()).hexdigest()[:20]


@schemathesis.hook
def flatmap_body(context, body):
    if not isinstance(body, dict):
        return st.just(body)
    if _operation(context) == WEBHOOK:
        return _event(body)
    replacements = {}
    if "chain" in body:
        replacements["chain"] = _choice(list(CHAINS))
    if "wallet" in body:
        replacements["wallet"] = _choice(_wallets())
    if "token" in body:
        replacements["token"] = _choice(_tokens())
    if "customer" in body:
        replacements["customer"] = _choice(WORLD.get("customers") or [])
    if not replacements:
        return st.just(body)
    return st.fixed_dictionaries(replacements).map(lambda drawn: _apply(body, drawn))


@schemathesis.hook
def before_call(context, case, kwargs):
    """Signs most webhook bodies that are JSON objects with the daemon's secret (Stripe's scheme), so they get past
    the signature to the inbox. Which ones is decided by the bytes, so a seed replays the same run."""
    secret = WORLD.get("webhook_secret")
    if (case.method.upper(), case.path) != WEBHOOK or not secret or not isinstance(case.body, dict):
        return
    if not any(name.lower() == "stripe-signature" for name in case.headers or {}):
        return  # a case about the missing header stays one
    payload = json.dumps(case.body).encode()
    if hashlib.sha256(payload).digest()[0] % 4 == 0:
        return  # a quarter keep the fuzzer's own (wrong) signature
    stamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), stamp.encode() + b"." + payload, hashlib.sha256).hexdigest()
    for name in [name for name in case.headers if name.lower() == "stripe-signature"]:
        del case.headers[name]
    case.headers["Stripe-Signature"] = f"t={stamp},v1={signature}"
    kwargs["data"] = payload


_SPEC = openapi_check.load_spec(WORLD["spec"]) if WORLD.get("spec") else None
_OPERATIONS = openapi_check.operations(_SPEC) if _SPEC else {}
_BODIES = openapi_check.BodyValidator(_SPEC) if _SPEC else None


@schemathesis.check
def settle_documented(ctx, response, case):
    """The response as Tests/Peers/openapi_check.py sees it: documented status and content type, the body valid
    against the schema and the media type's x-settle-refine."""
    if _SPEC is None or (case.method.upper(), case.path) not in _OPERATIONS:
        return None  # a method the document does not have (schemathesis probes some): nothing to compare
    content_type = response.headers.get("content-type", response.headers.get("Content-Type", ""))
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    body = response.content.decode("utf-8", errors="replace")
    if openapi_check.media_type(content_type) == "application/json":
        try:
            body = json.loads(body) if body else None
        except ValueError:
            pass  # left as text: the schema check says what is wrong
    report = openapi_check.Report()
    exchange = {"method": case.method.upper(), "template": case.path, "url": "", "status": response.status_code,
                "content_type": content_type, "body": body}
    openapi_check.check_exchange(_SPEC, _OPERATIONS, _BODIES, 0, exchange, report)
    if report.failures:
        raise AssertionError("\n".join(failure.split(": ", 1)[-1] for failure in report.failures))
    return None
