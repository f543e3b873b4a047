#!/usr/bin/env python3
"""Checks Settle's HTTP API against its OpenAPI document (docs/openapi.yaml). Run with the project's venv python:

    .venv/bin/python Tests/Peers/openapi_check.py SPEC EXCHANGES   # the document, then recorded exchanges against it
    .venv/bin/python Tests/Peers/openapi_check.py --no-coverage SPEC EXCHANGES   # those exchanges only
    .venv/bin/python Tests/Peers/openapi_check.py SPEC             # the document alone
    .venv/bin/python Tests/Peers/openapi_check.py --self-test      # proves the checks catch what they should

EXCHANGES is a JSON file written by a Swift test that served the API for real and recorded every exchange:

    {"routes": [{"method": "GET", "path": "/v1/charges/{invoice}"}, ...],
     "exchanges": [{"method": "GET", "template": "/v1/charges/{invoice}", "url": "/v1/charges/in_1?x=y",
                    "status": 200, "content_type": "application/json", "body": <parsed JSON, or a string>}, ...]}

Checked, every failure listed (exit 1 if any):
  - the document is valid OpenAPI (openapi-spec-validator);
  - `routes` (what the server registers) and the document's operations are the same set, both ways;
  - each exchange's method + template is an operation, its URL's path fits the template, its status is documented
    for that operation, its content type is one the documented response has, and its body validates against that
    response's schema and, where the media type has one, its `x-settle-refine` schema (openapi-schema-validator's
    OAS31Validator, $refs resolved against the whole document);
  - every operation was exercised by at least one exchange with a 2xx status.
POST /webhooks/stripe is Stripe's route, added by StripeWebhookRoute rather than SettleAPI: its absence from `routes`
or from the exchanges is a warning, not a failure. Query parameters the document does not list are warnings.
Requirements: Tests/Peers/requirements-api.txt."""
import argparse
import copy
import json
import re
import sys
import urllib.parse
from pathlib import Path

import yaml
from jsonschema.exceptions import best_match
from jsonschema_path import SchemaPath
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_spec_validator.shortcuts import get_validator_cls
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Operations whose absence from `routes` or from the 2xx exchanges is only a warning.
OPTIONAL_OPERATIONS = {("POST", "/webhooks/stripe")}
SPEC_URI = "urn:settle:openapi"
# A media type's JSON Schema that a body must also satisfy for that one status (the error code of each status,
# /healthz's status): kept out of `schema`, where code generators choke on allOf refinements and $ref siblings.
REFINE = "x-settle-refine"
MAX_ERRORS_PER_BODY = 6
REPO = Path(__file__).resolve().parents[2]


class Report:
    def __init__(self):
        self.failures = []
        self.warnings = []

    def fail(self, text):
        self.failures.append(text)

    def warn(self, text):
        self.warnings.append(text)


# ---- the document ----

def load_spec(path):
    text = Path(path).read_text(encoding="utf-8")
    return json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)


def validate_spec(spec, report):
    """openapi-spec-validator over the whole document; every error is a failure."""
    try:
        cls = get_validator_cls(spec)
    except Exception as error:  # no or unknown `openapi` version
        report.fail(f"spec: cannot tell its OpenAPI version: {error!r}")
        return
    if spec.get("openapi") != "3.1.0":
        report.fail(f"spec: openapi is {spec.get('openapi')!r}, expected '3.1.0'")
    try:
        for error in cls(SchemaPath.from_dict(spec)).iter_errors():
            where = getattr(error, "json_path", "$")
            report.fail(f"spec: invalid OpenAPI{' at ' + where if where != '$' else ''}: {short(getattr(error, 'message', error))}")
    except Exception as error:  # e.g. a $ref to nowhere stops the validator itself
        report.fail(f"spec: invalid OpenAPI: {type(error).__name__}: {short(error, 200)}")
    lint_for_generators(spec, report)


# Keywords allowed beside a `$ref`: openapi-generator refuses any other ("no properties should be defined alongside a
# $ref") and drops the refinement.
REF_SIBLINGS = {"$ref", "description", "summary"}


def lint_for_generators(spec, report):
    """Constructs client generators trip on, each a failure with where it is and what to write instead. Seen here:
    openapi-generator's Python client typed an `allOf` refinement's fields as Any and dropped the error `message`,
    wrapped an `anyOf` of two string patterns in a model that checked neither, and failed to import over an
    `anyOf [const, pattern]`; openapi-python-client dropped whole models over an array-valued `enum` and responses
    over `const` inside `allOf`. `x-settle-refine` is for our checks only and is not linted."""
    def walk(node, path):
        if isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{path}/{index}")
            return
        if not isinstance(node, dict):
            return
        where = path or "/"
        if "const" in node and not isinstance(node["const"], dict):
            report.fail(f"spec: generators: `const` at {where}: write a one-value `enum` ([{node['const']!r}])")
        for keyword in ("allOf", "anyOf"):
            if isinstance(node.get(keyword), list):
                report.fail(f"spec: generators: `{keyword}` at {where}: give one plain schema (a refinement for one status "
                            f"goes in the media type's {REFINE})")
        if isinstance(node.get("oneOf"), list) and not isinstance(node.get("discriminator"), dict):
            report.fail(f"spec: generators: `oneOf` without a `discriminator` at {where}")
        if isinstance(node.get("$ref"), str) and set(node) - REF_SIBLINGS:
            report.fail(f"spec: generators: keywords beside `$ref` at {where}: {', '.join(sorted(set(node) - REF_SIBLINGS))}")
        if isinstance(node.get("enum"), list) and any(isinstance(value, (list, dict)) for value in node["enum"]):
            report.fail(f"spec: generators: `enum` of arrays or objects at {where}: constrain the items instead")
        for key, value in node.items():
            if key != REFINE:
                walk(value, f"{path}/{pointer_escape(key)}")

    walk(spec, "")


def operations(spec):
    """{(METHOD, path template): operation} of every operation in `paths`."""
    out = {}
    for path, item in (spec.get("paths") or {}).items():
        for method in HTTP_METHODS:
            if isinstance(item, dict) and method in item:
                out[(method.upper(), path)] = item[method]
    return out


def pointer_escape(token):
    return str(token).replace("~", "~0").replace("/", "~1")


def resolve_local(spec, node, pointer):
    """Follows local `$ref`s from `node` (at JSON pointer `pointer`); returns (node, pointer) of the target."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#") or ref in seen:
            raise ValueError(f"unresolvable $ref {ref!r} at {pointer}")
        seen.add(ref)
        pointer = ref[1:]
        node = spec
        for token in pointer.split("/")[1:]:
            token = token.replace("~1", "/").replace("~0", "~")
            node = node[token] if isinstance(node, dict) else node[int(token)]
    return node, pointer


def find_response(spec, op_pointer, operation, status):
    """The documented response for `status` (exact, then `4XX`-style range, then `default`): (key, node, pointer)."""
    responses = operation.get("responses") or {}
    for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
        if key in responses:
            node, pointer = resolve_local(spec, responses[key], f"{op_pointer}/responses/{pointer_escape(key)}")
            return key, node, pointer
    return None, None, None


def media_type(content_type):
    return (content_type or "").split(";")[0].strip().lower()


def find_media(content, content_type):
    """The `content` key for a response's Content-Type: exact (with parameters), then without, then `type/*`, `*/*`."""
    if not content:
        return None
    keys = {key.lower(): key for key in content}
    bare = media_type(content_type)
    for candidate in ((content_type or "").strip().lower(), bare, bare.split("/")[0] + "/*", "*/*"):
        if candidate in keys:
            return keys[candidate]
    return None


def template_regex(template):
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


def short(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class BodyValidator:
    """Validates bodies against schemas at JSON pointers into the document, `$ref`s resolved against all of it."""

    def __init__(self, spec):
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(uri=SPEC_URI, resource=resource)
        self.validators = {}

    def errors(self, pointer, instance):
        validator = self.validators.get(pointer)
        if validator is None:
            validator = OAS31Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=self.registry, format_checker=oas31_format_checker)
            self.validators[pointer] = validator
        found = sorted(validator.iter_errors(instance), key=lambda e: (list(e.absolute_path), e.message))
        out = []
        for error in found:
            # oneOf/anyOf: say which branch failed how, not just "is not valid under any of the given schemas".
            detail = error.message
            if error.context:
                branches = {}
                for sub in error.context:
                    branches.setdefault(sub.relative_schema_path[0], []).append(sub)
                detail = f"matches no branch of {error.validator}: " + "; ".join(
                    f"[{index}] {best.json_path}: {short(best.message, 100)}"
                    for index, best in ((index, best_match(subs)) for index, subs in sorted(branches.items())))
            out.append(f"{error.json_path}: {short(detail, 400)}")
        return out


# ---- routes, exchanges, coverage ----

def check_routes(spec_ops, routes, report):
    served = set()
    for route in routes:
        served.add((str(route.get("method", "")).upper(), route.get("path", "")))
    for method, path in sorted(served - set(spec_ops)):
        report.fail(f"routes: {method} {path} is served but is not an operation in the spec")
    for method, path in sorted(set(spec_ops) - served):
        if (method, path) in OPTIONAL_OPERATIONS:
            report.warn(f"routes: {method} {path} is in the spec but not in `routes` (registered outside SettleAPI.routes)")
        else:
            report.fail(f"routes: {method} {path} is in the spec but the server does not list it in `routes`")


def check_exchange(spec, spec_ops, bodies, index, exchange, report):
    """Returns (operation key or None, whether the exchange passed every check)."""
    method = str(exchange.get("method", "")).upper()
    template = exchange.get("template", "")
    url = exchange.get("url", "")
    status = exchange.get("status")
    content_type = exchange.get("content_type", "")
    name = f"exchange #{index} {method} {url or template} → {status}"
    failures_before = len(report.failures)
    key = (method, template)
    operation = spec_ops.get(key)
    if operation is None:
        report.fail(f"{name}: {method} {template} is not an operation in the spec")
        return None, False
    split = urllib.parse.urlsplit(url)
    if url and not template_regex(template).match(split.path):
        report.fail(f"{name}: the URL's path {split.path!r} does not fit the template {template}")
    documented = {p.get("name") for p in _parameters(spec, template, operation) if p.get("in") == "query"}
    for query_name in sorted({k for k, _ in urllib.parse.parse_qsl(split.query, keep_blank_values=True)} - documented):
        report.warn(f"{name}: query parameter {query_name!r} is not documented for {method} {template}")
    if not isinstance(status, int):
        report.fail(f"{name}: status {status!r} is not an integer")
        return key, False
    op_pointer = f"/paths/{pointer_escape(template)}/{method.lower()}"
    response_key, response, response_pointer = find_response(spec, op_pointer, operation, status)
    if response is None:
        report.fail(f"{name}: status {status} is not documented for {method} {template} "
                    f"(documented: {', '.join(sorted(map(str, operation.get('responses', {}))))})")
        return key, False
    content = response.get("content")
    body = exchange.get("body")
    if not content:
        if body not in (None, ""):
            report.fail(f"{name}: the spec's {response_key} response has no body, but one was sent")
        return key, len(report.failures) == failures_before
    media = find_media(content, content_type)
    if media is None:
        report.fail(f"{name}: content type {content_type!r} is not documented for its {response_key} response "
                    f"(documented: {', '.join(content)})")
        return key, False
    media_pointer = f"{response_pointer}/content/{pointer_escape(media)}"
    # The schema, then what the document adds for this status alone (REFINE: kept apart for code generators).
    for keyword, what in (("schema", "schema"), (REFINE, REFINE)):
        if keyword not in content[media]:
            continue
        errors = bodies.errors(f"{media_pointer}/{keyword}", body)
        if errors:
            shown = "; ".join(errors[:MAX_ERRORS_PER_BODY]) + (f"; … {len(errors) - MAX_ERRORS_PER_BODY} more" if len(errors) > MAX_ERRORS_PER_BODY else "")
            report.fail(f"{name}: body does not match the {response_key} {media} {what}: {shown}")
    return key, len(report.failures) == failures_before


def _parameters(spec, template, operation):
    path_item = (spec.get("paths") or {}).get(template) or {}
    out = []
    for parameter in list(path_item.get("parameters") or []) + list(operation.get("parameters") or []):
        try:
            out.append(resolve_local(spec, parameter, "")[0])
        except (ValueError, KeyError, IndexError):
            pass
    return out


def check(spec, document, report, coverage=True):
    """Every check of SPEC + EXCHANGES; returns (operations covered, operations, exchanges valid, exchanges). Without
    `coverage`, only the exchanges are checked (not the route list, nor that every operation had a 2xx)."""
    validate_spec(spec, report)
    spec_ops = operations(spec)
    if not isinstance(document, dict) or not isinstance(document.get("exchanges"), list):
        report.fail("exchanges: the file is not {\"routes\": [...], \"exchanges\": [...]}")
        return 0, len(spec_ops), 0, 0
    if coverage and isinstance(document.get("routes"), list):
        check_routes(spec_ops, document["routes"], report)
    elif coverage:
        report.fail("routes: the exchanges file has no `routes` list")
    bodies = BodyValidator(spec)
    covered = set()
    valid = 0
    for index, exchange in enumerate(document["exchanges"]):
        if not isinstance(exchange, dict):
            report.fail(f"exchange #{index}: not an object")
            continue
        try:
            key, ok = check_exchange(spec, spec_ops, bodies, index, exchange, report)
        except Exception as error:  # a broken $ref or schema: report it, keep checking the rest
            report.fail(f"exchange #{index} {exchange.get('method')} {exchange.get('template')}: cannot check: {error!r}")
            continue
        valid += ok
        if key and isinstance(exchange.get("status"), int) and 200 <= exchange["status"] < 300:
            covered.add(key)
    for method, path in sorted(set(spec_ops) - covered if coverage else ()):
        if (method, path) in OPTIONAL_OPERATIONS:
            report.warn(f"coverage: {method} {path} was not exercised with a 2xx status")
        else:
            report.fail(f"coverage: {method} {path} was not exercised by any exchange with a 2xx status")
    return len(covered & set(spec_ops)), len(spec_ops), valid, len(document["exchanges"])


def finish(report, summary):
    for warning in report.warnings:
        print(f"warning: {warning}")
    for failure in report.failures:
        print(f"FAIL {failure}")
    print(summary)
    print(f"openapi check: {'FAILED, ' + str(len(report.failures)) + ' failure(s)' if report.failures else 'ok'}"
          f"{', ' + str(len(report.warnings)) + ' warning(s)' if report.warnings else ''}")
    return 1 if report.failures else 0


# ---- self-test ----

SELF_TEST_SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "self-test", "version": "1"},
    "paths": {
        "/v1/agreements": {
            "get": {
                "operationId": "listAgreements",
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AgreementPage"}}}},
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                },
            },
        },
        "/v1/agreements/{id}": {
            "get": {
                "operationId": "getAgreement",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Agreement"}}}},
                    "404": {"$ref": "#/components/responses/NotFound"},
                },
            },
        },
        "/metrics": {
            "get": {
                "operationId": "getMetrics",
                "responses": {"200": {"description": "ok", "content": {"text/plain": {"schema": {"type": "string"}}}}},
            },
        },
    },
    "components": {
        "responses": {
            "Unauthorized": {"description": "no", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                REFINE: {"properties": {"error": {"properties": {"code": {"enum": ["unauthorized"]}}}}}}}},
            "NotFound": {"description": "no", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                REFINE: {"properties": {"error": {"properties": {"code": {"enum": ["not_found"]}}}}}}}},
        },
        "schemas": {
            "Agreement": {
                "type": "object", "additionalProperties": False, "required": ["id", "customer", "subscription", "wallet"],
                "properties": {"id": {"type": "integer", "minimum": 1}, "customer": {"type": "string"},
                               "subscription": {"type": ["string", "null"]},
                               "wallet": {"description": "the wallet", "$ref": "#/components/schemas/Address"}},
            },
            "Address": {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"},
            "AgreementPage": {
                "type": "object", "additionalProperties": False, "required": ["data", "next_cursor"],
                "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/Agreement"}},
                               "next_cursor": {"type": ["string", "null"]}},
            },
            "Error": {
                "type": "object", "additionalProperties": False, "required": ["error"],
                "properties": {"error": {"type": "object", "additionalProperties": False, "required": ["code", "message"],
                                         "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}},
            },
        },
    },
}

AGREEMENT = {"id": 1, "customer": "cus_1", "subscription": None, "wallet": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}
ROUTES = [{"method": "GET", "path": "/v1/agreements"}, {"method": "GET", "path": "/v1/agreements/{id}"}, {"method": "GET", "path": "/metrics"}]


def exchange(status=200, body=None, method="GET", template="/v1/agreements/{id}", url="/v1/agreements/1", content_type="application/json"):
    return {"method": method, "template": template, "url": url, "status": status, "content_type": content_type,
            "body": copy.deepcopy(AGREEMENT) if body is None else body}


def with_change(change):
    body = copy.deepcopy(AGREEMENT)
    change(body)
    return body


def self_test(project_spec):
    results = {"passed": 0, "failed": 0}

    def expect(name, condition, detail=""):
        results["passed" if condition else "failed"] += 1
        print(f"{'ok  ' if condition else 'FAIL'} {name}{'' if condition else ': ' + detail}")

    valid_exchanges = [
        exchange(),
        exchange(body={"data": [AGREEMENT], "next_cursor": None}, template="/v1/agreements", url="/v1/agreements"),
        exchange(status=404, body={"error": {"code": "not_found", "message": "no agreement 9"}}, url="/v1/agreements/9"),
        exchange(body="# TYPE x gauge\nx 1\n", template="/metrics", url="/metrics", content_type="text/plain; version=0.0.4; charset=utf-8"),
    ]

    def run(extra=(), routes=ROUTES, spec=SELF_TEST_SPEC):
        report = Report()
        check(spec, {"routes": routes, "exchanges": valid_exchanges + list(extra)}, report)
        return report

    baseline = run()
    expect("valid exchanges pass", not baseline.failures and not baseline.warnings, "; ".join(baseline.failures + baseline.warnings))

    cases = [
        ("extra field is caught", exchange(body=with_change(lambda b: b.update(extra=1))), "'extra' was unexpected"),
        ("misspelled field is caught", exchange(body=with_change(lambda b: b.update(walet=b.pop("wallet")))), "'walet' was unexpected"),
        ("wrong type is caught", exchange(body=with_change(lambda b: b.update(id="1"))), "'1' is not of type 'integer'"),
        ("null where not nullable is caught", exchange(body=with_change(lambda b: b.update(customer=None))), "None is not of type 'string'"),
        ("missing required field is caught", exchange(body=with_change(lambda b: b.pop("subscription"))), "'subscription' is a required property"),
        ("pattern is enforced", exchange(body=with_change(lambda b: b.update(wallet="0x12"))), "does not match"),
        ("nested wrong body through $ref is caught",
         exchange(body={"data": [with_change(lambda b: b.update(id=0))], "next_cursor": None}, template="/v1/agreements", url="/v1/agreements"),
         "$.data[0].id: 0 is less than the minimum of 1"),
        ("error code per status is enforced (response $ref + x-settle-refine)",
         exchange(status=404, body={"error": {"code": "bad_request", "message": "x"}}), "'bad_request' is not one of ['not_found']"),
        ("the schema still applies beside x-settle-refine",
         exchange(status=404, body={"error": {"code": "not_found"}}), "'message' is a required property"),
        ("undocumented status is caught", exchange(status=403, body={"error": {"code": "forbidden", "message": "x"}}),
         "status 403 is not documented for GET /v1/agreements/{id}"),
        ("undocumented content type is caught", exchange(content_type="text/html"), "content type 'text/html' is not documented"),
        ("unknown operation is caught", exchange(method="POST"), "POST /v1/agreements/{id} is not an operation in the spec"),
        ("URL outside its template is caught", exchange(url="/v1/agreements/1/extra"), "does not fit the template"),
    ]
    for name, bad, expected in cases:
        report = run([bad])
        hit = [f for f in report.failures if expected in f]
        expect(name, len(report.failures) == 1 and hit, f"expected one failure containing {expected!r}, got {report.failures}")

    report = run([exchange(url="/v1/agreements/1?verbose=1")])
    expect("an undocumented query parameter is a warning",
           not report.failures and any("query parameter 'verbose' is not documented" in w for w in report.warnings), str(report.warnings))

    report = run(routes=ROUTES[:-1] + [{"method": "GET", "path": "/v1/unlisted"}])
    expect("route lists are compared both ways",
           any("GET /v1/unlisted is served but is not an operation" in f for f in report.failures)
           and any("GET /metrics is in the spec but the server does not list it" in f for f in report.failures), str(report.failures))

    report = Report()
    check(SELF_TEST_SPEC, {"routes": ROUTES, "exchanges": valid_exchanges[1:]}, report)
    expect("an operation without a 2xx exchange is caught",
           any("coverage: GET /v1/agreements/{id} was not exercised" in f for f in report.failures), str(report.failures))

    report = Report()
    check(SELF_TEST_SPEC, {"exchanges": [valid_exchanges[0], exchange(body=with_change(lambda b: b.update(extra=1)))]}, report, coverage=False)
    expect("without coverage, only the exchanges are checked",
           len(report.failures) == 1 and "'extra' was unexpected" in report.failures[0], str(report.failures))

    broken = copy.deepcopy(SELF_TEST_SPEC)
    del broken["paths"]["/metrics"]["get"]["responses"]["200"]["description"]
    report = Report()
    validate_spec(broken, report)
    expect("an invalid document is caught", any(f.startswith("spec: invalid OpenAPI") for f in report.failures), str(report.failures))

    lint_cases = [
        ("const", {"type": "string", "const": "evm"}, "`const` at"),
        ("allOf", {"allOf": [{"$ref": "#/components/schemas/Error"}, {"properties": {"error": {"properties": {"code": {"enum": ["x"]}}}}}]},
         "`allOf` at"),
        ("anyOf", {"anyOf": [{"type": "string", "pattern": "^0x"}, {"type": "string", "pattern": "^[1-9]"}]}, "`anyOf` at"),
        ("oneOf without discriminator", {"oneOf": [{"$ref": "#/components/schemas/Error"}, {"$ref": "#/components/schemas/Agreement"}]},
         "`oneOf` without a `discriminator`"),
        ("$ref siblings", {"$ref": "#/components/schemas/Error", "properties": {"error": {"type": "object"}}}, "keywords beside `$ref`"),
        ("array-valued enum", {"type": "array", "items": {"type": "string"}, "enum": [[], ["a"]]}, "`enum` of arrays or objects"),
    ]
    for name, schema, expected in lint_cases:
        linted = copy.deepcopy(SELF_TEST_SPEC)
        linted["components"]["schemas"]["Linted"] = schema
        report = Report()
        lint_for_generators(linted, report)
        expect(f"generator lint: {name} is caught", len(report.failures) == 1 and expected in report.failures[0], str(report.failures))
    report = Report()
    lint_for_generators(SELF_TEST_SPEC, report)
    expect("generator lint: a refinement in x-settle-refine and `description` beside `$ref` pass", not report.failures, str(report.failures))

    if project_spec is not None:
        report = Report()
        validate_spec(project_spec, report)
        expect("the project's document is valid OpenAPI 3.1.0", not report.failures, "; ".join(report.failures))

    print(f"{results['passed']} passed, {results['failed']} failed")
    return 0 if results["failed"] == 0 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec", nargs="?", help="the OpenAPI document (YAML or JSON)")
    parser.add_argument("exchanges", nargs="?", help="the recorded exchanges (JSON)")
    parser.add_argument("--no-coverage", action="store_true",
                        help="check only the exchanges given: not the route list, nor a 2xx for every operation")
    parser.add_argument("--self-test", action="store_true",
                        help="prove wrong bodies and undocumented statuses are caught (also validates SPEC, default docs/openapi.yaml)")
    args = parser.parse_args()
    if args.self_test:
        path = Path(args.spec) if args.spec else REPO / "docs" / "openapi.yaml"
        return self_test(load_spec(path) if path.exists() else None)
    if not args.spec:
        parser.print_usage(sys.stderr)
        return 2
    spec = load_spec(args.spec)
    report = Report()
    if args.exchanges is None:
        validate_spec(spec, report)
        return finish(report, f"{args.spec}: {len(operations(spec))} operations")
    document = json.loads(Path(args.exchanges).read_text(encoding="utf-8"))
    covered, total, valid, count = check(spec, document, report, coverage=not args.no_coverage)
    return finish(report, f"operations covered (2xx): {covered}/{total}; exchanges validated: {valid}/{count}")


if __name__ == "__main__":
    sys.exit(main())
