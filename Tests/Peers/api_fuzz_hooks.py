"""schemathesis hooks for Tests/Peers/api_fuzz.py (loaded through SCHEMATHESIS_HOOKS=api_fuzz_hooks).

Left to itself the fuzzer would almost never name a chain the daemon knows (`{chain}` is any string), so every wallet
route would end in `404 no chain`; it would never name an invoice the ledger holds, and every Stripe webhook would
stop at the signature. So before each request (`before_call`), the case is kept as generated, or some of its fields
are replaced by the world's own values — a configured chain, one of its wallets (checksummed or lower case), a token
symbol in any case, an invoice the ledger has, a cursor the API could have returned, a customer Stripe knows — one
at a time, or as a coherent set (a chain with one of its wallets and tokens) that gets past `no chain` and `not a
wallet of this chain` to the route's own work. Which is decided by a hash of the generated case, so a seed replays
the same run. The rest (amounts, limits, intervals, odd strings, bodies) stays the fuzzer's. schemathesis
re-validates a case `before_call` changed, so a mutated (negative) case that a substitution made valid again is
judged as valid (a change made in a `flatmap_*` hook is not re-validated: a negative case made valid there would be
reported as an invalid request the server accepted).

Empty query values are dropped before sending: the API counts an empty parameter as absent (docs/openapi.yaml says
so), which schemathesis cannot know; it would report `interval=` accepted as a violation of the enum.

Webhook bodies are often shaped like Stripe events (random types, ids, times and invoices; any JSON object is valid
there, so this changes no case's validity) and most are signed with the daemon's webhook secret, so they get past
the signature to the inbox and, once stored, to the billing pipeline behind it.

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
import random
import time

import schemathesis
from hypothesis import strategies as st

import openapi_check

WORLD = json.loads(os.environ.get("SETTLE_FUZZ_WORLD") or "{}")
CHAINS = WORLD.get("chains") or {}
DERIVED_ID = object()  # "an event id made from the event's other fields"
WEBHOOK = ("POST", "/webhooks/stripe")
EVENT_TYPES = ["invoice.created", "invoice.finalized", "invoice.updated", "invoice.paid", "invoice.payment_succeeded",
               "invoice.voided", "invoice.marked_uncollectible", "customer.subscription.updated",
               "customer.subscription.deleted", "customer.created"]


def _cases(symbol: str) -> list:
    return [symbol, symbol.lower(), symbol.capitalize()]


def _tokens(chain: str = None) -> list:
    chains = [CHAINS[chain]] if chain in CHAINS else CHAINS.values()
    return sorted({case for entry in chains for symbol in entry.get("tokens", []) for case in _cases(symbol)})


def _wallets(chain: str = None) -> list:
    out = []
    for name, entry in CHAINS.items():
        if chain is None or name == chain:
            for wallet in entry.get("wallets", []):
                out += [wallet] + ([wallet.lower()] if wallet.startswith("0x") else [])
    return out


def _substitute(rng: random.Random, fields: dict, invoices: list, customers: list, cursors: list) -> None:
    """Replaces some of `fields` (a case's path parameters, query or body) in place with the world's values."""
    present = set(fields)
    mode = rng.randrange(3)  # 0: as generated, 1: field by field, 2: a coherent chain, wallet and token
    if mode == 0 or not CHAINS:
        return
    if mode == 2 and "chain" in present:
        chain = rng.choice(sorted(CHAINS))
        fields["chain"] = chain
        if "wallet" in present and _wallets(chain):
            fields["wallet"] = rng.choice(_wallets(chain))
        if "token" in present and _tokens(chain):
            fields["token"] = rng.choice(_tokens(chain))
        return
    choices = {"chain": sorted(CHAINS), "wallet": _wallets(), "token": _tokens(), "invoice": invoices, "customer": customers,
               "cursor": cursors}
    for name in sorted(present & set(choices)):
        if choices[name] and rng.random() < 0.5:
            fields[name] = rng.choice(choices[name])


@schemathesis.hook
def before_call(context, case, kwargs):
    generated = json.dumps([case.method, case.path, case.path_parameters, case.query,
                            case.body if isinstance(case.body, (dict, list, str, int, float, bool, type(None))) else None],
                           sort_keys=True, default=str)
    rng = random.Random(hashlib.sha256(generated.encode()).digest())
    invoices, customers, cursors = WORLD.get("invoices") or [], WORLD.get("customers") or [], WORLD.get("cursors") or []
    if isinstance(case.path_parameters, dict) and case.path_parameters:
        _substitute(rng, case.path_parameters, invoices, customers, cursors)
    if isinstance(case.query, dict) and case.query:
        for name in [name for name, value in case.query.items() if value == ""]:
            del case.query[name]  # empty counts as absent (see the module's docstring)
        _substitute(rng, case.query, invoices, customers, cursors)
    if (case.method.upper(), case.path) == WEBHOOK:
        _sign(case, kwargs, rng)
    elif isinstance(case.body, dict):
        _substitute(rng, case.body, invoices, customers, cursors)


def _sign(case, kwargs, rng: random.Random) -> None:
    """Signs three webhook bodies in four that are JSON objects with the daemon's secret (Stripe's scheme), so they
    get past the signature to the inbox."""
    secret = WORLD.get("webhook_secret")
    if not secret or not isinstance(case.body, dict) or rng.random() < 0.25:
        return
    if not any(name.lower() == "stripe-signature" for name in case.headers or {}):
        return  # a case about the missing header stays one
    payload = json.dumps(case.body).encode()
    stamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), stamp.encode() + b"." + payload, hashlib.sha256).hexdigest()
    for name in [name for name in case.headers if name.lower() == "stripe-signature"]:
        del case.headers[name]
    case.headers["Stripe-Signature"] = f"t={stamp},v1={signature}"
    kwargs["data"] = payload


def _operation(context):
    operation = getattr(context, "operation", None)
    return (str(getattr(operation, "method", "")).upper(), getattr(operation, "path", None)) if operation else (None, None)


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
    if _operation(context) == WEBHOOK and isinstance(body, dict):
        return _event(body)
    return st.just(body)


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
