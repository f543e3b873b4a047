#!/usr/bin/env python3
"""Self-check of stripe_peer.py (localstripe + the test-only stripe_ext.py): starts it, drives every extension feature
over HTTP with urllib, and receives its webhooks on 127.0.0.1, checking Stripe-Signature (HMAC-SHA256 over
`t.payload`) and the event types in order. Run with the peers' venv python:
    python Tests/Peers/test_stripe_peer.py
Ends with 'N passed, 0 failed'; exit code 1 on any failure."""
import hashlib
import hmac
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "whsec_settle_selfcheck"
results = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    if condition:
        results["passed"] += 1
    else:
        results["failed"] += 1
        print(f"FAIL {name} {detail}", flush=True)


def flatten(params, prefix=""):
    """Stripe's form encoding: a[b]=1, a[]=x."""
    pairs = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            pairs += flatten(value, name)
        elif isinstance(value, list):
            pairs += [(name + "[]", str(v)) for v in value]
        else:
            pairs.append((name, "true" if value is True else "false" if value is False else str(value)))
    return pairs


class Stripe:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def call(self, method, path, params=None, key=None, raw=None, auth=True):
        body = None
        if method == "GET" and params:
            path += "?" + urllib.parse.urlencode(flatten(params))
        elif method == "POST":
            body = raw if raw is not None else urllib.parse.urlencode(flatten(params or {})).encode()
        headers = {"Content-Type": "application/json" if raw else "application/x-www-form-urlencoded"}
        if auth:
            headers["Authorization"] = "Bearer sk_test_settle"
        if key:
            headers["Idempotency-Key"] = key
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.loads(e.read() or b"null")

    def ok(self, method, path, params=None, key=None):
        status, _, body = self.call(method, path, params, key)
        if status != 200:
            raise AssertionError(f"{method} {path} -> {status} {body}")
        return body


class Hooks(http.server.BaseHTTPRequestHandler):
    events, bad_signatures = [], []

    def do_POST(self):
        payload = self.rfile.read(int(self.headers["Content-Length"]))
        parts = dict(p.split("=", 1) for p in self.headers.get("Stripe-Signature", "").split(","))
        expected = hmac.new(SECRET.encode(), f"{parts.get('t')}.".encode() + payload, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            Hooks.bad_signatures.append(self.headers.get("Stripe-Signature"))
        Hooks.events.append(json.loads(payload))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def events_for(object_id, count, timeout=10):
    deadline = time.time() + timeout
    while True:
        mine = [e for e in Hooks.events if e["data"]["object"].get("id") == object_id]
        if len(mine) >= count or time.time() > deadline:
            return mine
        time.sleep(0.05)


def error_of(response):
    status, _, body = response
    return status, (body or {}).get("error", {})


def main():
    started = time.time()
    peer = subprocess.Popen([sys.executable, os.path.join(HERE, "stripe_peer.py")], stdout=subprocess.PIPE)
    hooks = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    try:
        line = peer.stdout.readline().decode()
        assert line.startswith("PORT "), line
        stripe = Stripe(int(line.split()[1]))
        for _ in range(100):  # the port is announced before the server listens
            try:
                stripe.call("GET", "/_settle/requests")
                break
            except urllib.error.URLError:
                time.sleep(0.05)
        run(stripe, hooks.server_address[1])
    finally:
        peer.kill()
        peer.wait()
        hooks.shutdown()
    print(f"{results['passed']} passed, {results['failed']} failed ({time.time() - started:.1f}s)")
    sys.exit(1 if results["failed"] else 0)


def run(s, hook_port):
    status, _, _ = s.call("POST", "/_config/webhooks/selfcheck", {"url": f"http://127.0.0.1:{hook_port}/hook",
                                                                  "secret": SECRET})
    check("webhook registered", status == 200)
    customer = s.ok("POST", "/v1/customers", {"email": "payer@example.com"})["id"]

    # 1. A send_invoice invoice is created as a draft from the pending items, once per idempotency key.
    s.ok("POST", "/v1/invoiceitems", {"customer": customer, "amount": 1500, "currency": "usd"})
    create = {"customer": customer, "collection_method": "send_invoice", "days_until_due": 7, "auto_advance": False,
              "metadata": {"order": "42", "keep": "yes"}}
    status, headers, invoice = s.call("POST", "/v1/invoices", create, key="create-1")
    check("create 200", status == 200, invoice)
    inv = invoice["id"]
    check("draft invoice shape", invoice["status"] == "draft" and invoice["object"] == "invoice"
          and invoice["amount_due"] == 1500 and invoice["amount_paid"] == 0 and invoice["amount_remaining"] == 1500
          and invoice["currency"] == "usd" and invoice["customer"] == customer and invoice["subscription"] is None
          and invoice["collection_method"] == "send_invoice" and invoice["days_until_due"] == 7
          and invoice["due_date"] is None and invoice["auto_advance"] is False and invoice["paid_out_of_band"] is False
          and invoice["metadata"] == {"order": "42", "keep": "yes"} and invoice["payments"]["data"] == []
          and invoice["number"] is None and isinstance(invoice["created"], int), invoice)
    check("status_transitions keys", set(invoice["status_transitions"]) ==
          {"finalized_at", "paid_at", "voided_at", "marked_uncollectible_at"}, invoice["status_transitions"])
    check("Idempotency-Key echoed, not replayed", headers.get("Idempotency-Key") == "create-1"
          and "Idempotent-Replayed" not in headers and headers.get("Request-Id", "").startswith("req_"), headers)
    status, headers, replay = s.call("POST", "/v1/invoices", create, key="create-1")
    check("replay returns the stored answer", status == 200 and replay == invoice
          and headers.get("Idempotent-Replayed") == "true", headers)
    listed = s.ok("GET", "/v1/invoices", {"customer": customer})["data"]
    check("replay created nothing", [i["id"] for i in listed] == [inv], listed)
    status, err = error_of(s.call("POST", "/v1/invoices", dict(create, days_until_due=8), key="create-1"))
    check("same key, other params -> 400 idempotency_error", status == 400 and err.get("type") == "idempotency_error",
          err)
    status, err = error_of(s.call("POST", f"/v1/invoices/{inv}", {"description": "x"}, key="create-1"))
    check("same key, other path -> 400 idempotency_error", status == 400 and err.get("type") == "idempotency_error",
          err)

    # 2. Updates: Stripe's metadata merge, exclusive due parameters, previous_attributes.
    updated = s.ok("POST", f"/v1/invoices/{inv}", {"metadata": {"order": "", "settle": "abc"},
                                                   "description": "Plan", "days_until_due": 10})
    check("update merges metadata", updated["metadata"] == {"keep": "yes", "settle": "abc"}, updated["metadata"])
    check("update fields", updated["description"] == "Plan" and updated["days_until_due"] == 10)
    status, err = error_of(s.call("POST", f"/v1/invoices/{inv}", {"days_until_due": 3, "due_date": 2000000000}))
    check("days_until_due + due_date -> 400", status == 400 and err.get("code") == "parameters_exclusive", err)
    status, err = error_of(s.call("POST", f"/v1/invoices/{inv}", {"collection_method": "charge_automatically",
                                                                  "days_until_due": 3}))
    check("days_until_due on charge_automatically -> 400", status == 400 and err.get("param") == "days_until_due", err)
    status, err = error_of(s.call("POST", f"/v1/invoices/{inv}", {"status": "paid"}))
    check("unknown parameter -> 400", status == 400 and err.get("code") == "parameter_unknown", err)

    # 3. Finalize: draft -> open, due date from days_until_due, once only.
    final = s.ok("POST", f"/v1/invoices/{inv}/finalize", {"auto_advance": True})
    finalized_at = final["status_transitions"]["finalized_at"]
    check("finalized", final["status"] == "open" and isinstance(finalized_at, int) and final["auto_advance"] is True
          and final["due_date"] == finalized_at + 10 * 86400 and final["number"], final)
    status, err = error_of(s.call("POST", f"/v1/invoices/{inv}/finalize"))
    check("re-finalize -> 400 invoice_not_editable", status == 400 and err.get("code") == "invoice_not_editable"
          and err.get("type") == "invalid_request_error", err)
    status, err = error_of(s.call("POST", f"/v1/invoices/{inv}", {"days_until_due": 3}))
    check("days_until_due on an open invoice -> 400", status == 400 and err.get("code") == "invoice_not_editable", err)

    # 4. Pay out of band, exactly once, replayed by key.
    s.ok("POST", "/_settle/reset_requests")
    status, _, paid = s.call("POST", f"/v1/invoices/{inv}/pay", {"paid_out_of_band": True}, key="pay-1")
    check("paid out of band", status == 200 and paid["status"] == "paid" and paid["paid_out_of_band"] is True
          and paid["amount_paid"] == 1500 and paid["amount_remaining"] == 0
          and isinstance(paid["status_transitions"]["paid_at"], int), paid)
    status, headers, again = s.call("POST", f"/v1/invoices/{inv}/pay", {"paid_out_of_band": True}, key="pay-1")
    check("pay replay", status == 200 and again == paid and headers.get("Idempotent-Replayed") == "true")
    status, err = error_of(s.call("POST", f"/v1/invoices/{inv}/pay", {"paid_out_of_band": True}, key="pay-2"))
    check("pay a paid invoice -> 400 invoice_already_paid", status == 400 and err.get("code") == "invoice_already_paid"
          and err.get("message") == "Invoice is already paid", err)
    log = s.ok("GET", "/_settle/requests")["data"]
    pays = [(e["idempotency_key"], e["replayed"], e["status"]) for e in log if e["path"] == f"/v1/invoices/{inv}/pay"]
    check("request log: /pay executed once", pays == [("pay-1", False, 200), ("pay-1", True, 200),
                                                      ("pay-2", False, 400)], pays)

    # 5. send_invoice needs a due date at finalization; void; mark_uncollectible; wrong status -> 400.
    def draft(amount, **params):
        s.ok("POST", "/v1/invoiceitems", {"customer": customer, "amount": amount, "currency": "usd"})
        return s.ok("POST", "/v1/invoices", dict({"customer": customer, "collection_method": "send_invoice"},
                                                  **params))["id"]
    no_due = draft(700)
    status, err = error_of(s.call("POST", f"/v1/invoices/{no_due}/finalize"))
    check("finalize without a due date -> 400", status == 400 and err.get("param") == "days_until_due", err)
    s.ok("POST", f"/v1/invoices/{no_due}", {"due_date": 1900000000})
    opened = s.ok("POST", f"/v1/invoices/{no_due}/finalize")
    check("explicit due_date kept", opened["status"] == "open" and opened["due_date"] == 1900000000, opened)
    voided = s.ok("POST", f"/v1/invoices/{no_due}/void")
    check("voided", voided["status"] == "void" and isinstance(voided["status_transitions"]["voided_at"], int))
    for action in ("void", "mark_uncollectible", "pay"):
        status, err = error_of(s.call("POST", f"/v1/invoices/{no_due}/{action}", {"paid_out_of_band": True}
                                      if action == "pay" else None))
        check(f"{action} a void invoice -> 400", status == 400 and err.get("type") == "invalid_request_error", err)
    bad = draft(800, days_until_due=30)
    status, err = error_of(s.call("POST", f"/v1/invoices/{bad}/mark_uncollectible"))
    check("mark_uncollectible a draft -> 400", status == 400, err)
    s.ok("POST", f"/v1/invoices/{bad}/finalize")
    lost = s.ok("POST", f"/v1/invoices/{bad}/mark_uncollectible")
    check("uncollectible", lost["status"] == "uncollectible"
          and isinstance(lost["status_transitions"]["marked_uncollectible_at"], int), lost)

    # 6. Payment Records: report, read back, attach in two parts.
    part = draft(1000, days_until_due=5)
    s.ok("POST", f"/v1/invoices/{part}/finalize")

    def report(value, reference):
        return s.ok("POST", "/v1/payment_records/report_payment", {
            "amount_requested": {"value": value, "currency": "usd"}, "initiated_at": 1750000000,
            "payment_method_details": {"custom": {"display_name": "USDC on Base"}},
            "processor_details": {"type": "custom", "custom": {"payment_reference": reference}},
            "outcome": "guaranteed", "guaranteed": {"guaranteed_at": 1750000100},
            "metadata": {"settle_tx": reference}, "customer_details": {"customer": customer}})
    first = report(400, "0xabc")
    check("payment record shape", first["id"].startswith("pr_") and first["object"] == "payment_record"
          and first["amount_requested"] == {"value": 400, "currency": "usd"}
          and first["amount_guaranteed"] == {"value": 400, "currency": "usd"}
          and first["metadata"] == {"settle_tx": "0xabc"}
          and first["processor_details"]["custom"]["payment_reference"] == "0xabc"
          and first["payment_method_details"]["custom"]["display_name"] == "USDC on Base"
          and first["customer_details"]["customer"] == customer and isinstance(first["created"], int), first)
    check("payment record read back", s.ok("GET", f"/v1/payment_records/{first['id']}") == first)
    status, err = error_of(s.call("GET", "/v1/payment_records/pr_missing"))
    check("missing record -> 404 resource_missing", status == 404 and err.get("code") == "resource_missing", err)
    status, err = error_of(s.call("POST", "/v1/payment_records/report_payment", {"initiated_at": 1}))
    check("report without amount -> 400", status == 400 and err.get("code") == "parameter_missing", err)
    half = s.ok("POST", f"/v1/invoices/{part}/attach_payment", {"payment_record": first["id"]})
    check("partial payment", half["status"] == "open" and half["amount_paid"] == 400
          and half["amount_remaining"] == 600 and len(half["payments"]["data"]) == 1
          and half["payments"]["data"][0]["payment"] == {"type": "payment_record", "payment_record": first["id"]}, half)
    status, err = error_of(s.call("POST", f"/v1/invoices/{part}/attach_payment", {"payment_record": first["id"]}))
    check("a record attaches once", status == 400, err)
    second = report(600, "0xdef")
    full = s.ok("POST", f"/v1/invoices/{part}/attach_payment", {"payment_record": second["id"]})
    check("paid by payment records", full["status"] == "paid" and full["amount_paid"] == 1000
          and full["amount_remaining"] == 0 and full["paid_out_of_band"] is False
          and len(full["payments"]["data"]) == 2, full)
    status, err = error_of(s.call("POST", f"/v1/invoices/{part}/attach_payment",
                                  {"payment_record": report(1, "0x1")["id"]}))
    check("attach to a paid invoice -> 400", status == 400 and err.get("code") == "invoice_already_paid", err)

    # 7. Lists: filters and pagination, newest first.
    mine = [i["id"] for i in s.ok("GET", "/v1/invoices", {"customer": customer, "limit": 100})["data"]]
    check("newest first", mine == [part, bad, no_due, inv], mine)
    by_status = {st: [i["id"] for i in s.ok("GET", "/v1/invoices", {"status": st, "customer": customer})["data"]]
                 for st in ("draft", "open", "paid", "void", "uncollectible")}
    check("status filter", by_status == {"draft": [], "open": [], "paid": [part, inv], "void": [no_due],
                                         "uncollectible": [bad]}, by_status)
    page1 = s.ok("GET", "/v1/invoices", {"customer": customer, "limit": 3})
    page2 = s.ok("GET", "/v1/invoices", {"customer": customer, "limit": 3, "starting_after": page1["data"][-1]["id"]})
    check("pagination", page1["has_more"] and not page2["has_more"]
          and [i["id"] for i in page1["data"] + page2["data"]] == mine, (page1["has_more"], page2["has_more"]))
    check("collection_method filter", s.ok("GET", "/v1/invoices", {"collection_method": "charge_automatically",
                                                                   "customer": customer})["data"] == [])
    status, err = error_of(s.call("GET", "/v1/invoices", {"status": "bogus"}))
    check("bad status filter -> 400", status == 400 and err.get("param") == "status", err)
    status, err = error_of(s.call("GET", "/v1/invoices/in_missing"))
    check("missing invoice -> 404 resource_missing", status == 404 and err.get("code") == "resource_missing", err)

    # 8. Subscriptions with send_invoice: active at once, first invoice open and due in days_until_due.
    plan = s.ok("POST", "/v1/plans", {"amount": 2500, "currency": "usd", "interval": "month",
                                      "product": {"name": "Settle plan"}})["id"]
    subscriber = s.ok("POST", "/v1/customers", {"email": "sub@example.com"})["id"]
    sub = s.ok("POST", "/v1/subscriptions", {"customer": subscriber, "items": {"0": {"plan": plan}},
                                             "collection_method": "send_invoice", "days_until_due": 30})
    check("subscription fields", sub["status"] == "active" and sub["collection_method"] == "send_invoice"
          and sub["days_until_due"] == 30, sub)
    first_bill = s.ok("GET", f"/v1/invoices/{sub['latest_invoice']}")
    check("subscription invoice open", first_bill["status"] == "open" and first_bill["subscription"] == sub["id"]
          and first_bill["collection_method"] == "send_invoice" and first_bill["amount_due"] == 2500
          and first_bill["due_date"] == first_bill["status_transitions"]["finalized_at"] + 30 * 86400, first_bill)
    check("subscription filter", [i["id"] for i in s.ok("GET", "/v1/invoices", {"subscription": sub["id"]})["data"]]
          == [first_bill["id"]])
    changed = s.ok("POST", f"/v1/subscriptions/{sub['id']}", {"days_until_due": 14, "metadata": {"tier": "gold"}})
    check("subscription update", changed["days_until_due"] == 14 and changed["metadata"] == {"tier": "gold"}, changed)
    status, err = error_of(s.call("POST", "/v1/subscriptions", {"customer": subscriber, "items": {"0": {"plan": plan}},
                                                                "collection_method": "send_invoice"}))
    check("send_invoice subscription needs days_until_due", status == 400 and err.get("param") == "days_until_due", err)

    # 9. Injected failures: the next N API requests fail, then everything works again.
    status, _, _ = s.call("POST", "/_settle/fail", raw=json.dumps({"status": 503, "count": 2}).encode(), auth=False)
    check("fail configured", status == 200)
    statuses = [error_of(s.call("GET", "/v1/invoices"))[0] for _ in range(3)]
    check("503 twice, then 200", statuses == [503, 503, 200], statuses)
    s.call("POST", "/_settle/fail", {"status": 503, "count": 1})
    status, err = error_of(s.call("POST", "/v1/customers", {"email": "late@example.com"}, key="cus-late"))
    check("injected failure is Stripe-shaped", status == 503 and err.get("type") == "api_error", err)
    status, headers, _ = s.call("POST", "/v1/customers", {"email": "late@example.com"}, key="cus-late")
    check("failed request was not stored under its key", status == 200 and "Idempotent-Replayed" not in headers)
    s.call("POST", "/_settle/fail", {"status": 429, "count": 1, "path": "/v1/invoices"})
    statuses = [error_of(s.call("GET", path)) for path in ("/v1/customers", "/v1/invoices", "/v1/invoices")]
    check("429 limited to a path prefix", [st for st, _ in statuses] == [200, 429, 200]
          and statuses[1][1].get("code") == "rate_limit", statuses[1])

    # 10. Webhooks: signed like Stripe, Stripe-shaped, in order.
    expected = ["invoice.created", "invoice.updated", "invoice.finalized", "invoice.updated", "invoice.paid",
                "invoice.payment_succeeded", "invoice.updated"]
    got = events_for(inv, len(expected))
    check("event order for one invoice", [e["type"] for e in got] == expected, [e["type"] for e in got])
    check("signatures verify", Hooks.bad_signatures == [] and len(Hooks.events) > 0, Hooks.bad_signatures)
    created = got[0]
    check("event shape", created["id"].startswith("evt_") and created["object"] == "event"
          and created["api_version"] and isinstance(created["created"], int)
          and created["data"]["object"]["collection_method"] == "send_invoice"
          and created["data"]["object"]["status"] == "draft"
          and created["request"]["idempotency_key"] == "create-1", created)
    check("previous_attributes", got[1]["data"]["previous_attributes"].get("days_until_due") == 7
          and got[1]["data"]["previous_attributes"]["metadata"] == {"order": "42", "settle": None}
          and got[3]["data"]["previous_attributes"].get("status") == "draft"
          and got[6]["data"]["previous_attributes"].get("status") == "open", [g["data"] for g in got[1:7:2]])
    check("paid event carries the paid invoice", got[4]["data"]["object"]["status"] == "paid")
    other = {st: [e["type"] for e in events_for(i, n)] for st, i, n in
             (("void", no_due, 6), ("uncollectible", bad, 5), ("records", part, 7))}
    check("void events", other["void"] == ["invoice.created", "invoice.updated", "invoice.finalized",
                                           "invoice.updated", "invoice.voided", "invoice.updated"], other["void"])
    check("uncollectible events", other["uncollectible"] == ["invoice.created", "invoice.finalized", "invoice.updated",
                                                             "invoice.marked_uncollectible", "invoice.updated"],
          other["uncollectible"])
    check("payment record events", other["records"] == ["invoice.created", "invoice.finalized", "invoice.updated",
                                                        "invoice.updated", "invoice.paid", "invoice.payment_succeeded",
                                                        "invoice.updated"], other["records"])
    sub_events = [e for e in events_for(sub["id"], 2) if e["type"] == "customer.subscription.updated"]
    check("customer.subscription.updated", len(sub_events) == 1
          and sub_events[0]["data"]["previous_attributes"].get("days_until_due") == 30, sub_events)
    check("subscription invoice finalized by event", [e["type"] for e in events_for(first_bill["id"], 3)] ==
          ["invoice.created", "invoice.finalized", "invoice.updated"])
    listed = s.ok("GET", "/v1/events", {"limit": 100})
    deadline = time.time() + 10
    while len(Hooks.events) < len(listed["data"]) and time.time() < deadline:
        time.sleep(0.05)
    check("every event delivered once, in creation order (GET /v1/events is newest first)", not listed["has_more"]
          and [e["id"] for e in Hooks.events] == [e["id"] for e in reversed(listed["data"])],
          (len(Hooks.events), len(listed["data"])))

if __name__ == "__main__":
    main()
