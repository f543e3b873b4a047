#!/usr/bin/env python3
"""The merchant dashboard in a real browser: `settled serve` (the binary just built) with the py-evm devnet and
localstripe, pages opened in Debian's headless Chromium. Verdicts come from the chain (transfers and allowances read
from the devnet), from Stripe and from the merchant's webhook endpoint (a small server here), never from Settle's
tables.

Scenarios:
  1. Not signed in: the dashboard sends to the sign-in form; a wrong token is refused there.
  2. A read token: every page, actions shown disabled; sign-out ends the session (the old cookie opens nothing).
  3. An admin token: the overview (a settled payment in the chart), customers with "Get data" showing the chain's
     allowance and balance, a customer's page, the payments list.
  4. A charge waiting for funds: the wallet is topped up, "Retry now" on the payment's page, and the chain shows the
     transfer to the treasury; Stripe shows the invoice paid.
  5. Findings (an invoice without an agreement; the Stripe audit's subscription still on charge_automatically) and
     webhooks: "Redeliver" sends a delivered event again.
  6. Refusals: a signed-out cookie, an expired session, and an action without the CSRF header.

    .venv/bin/python Tests/Peers/browser/test_dashboard.py --settled PATH [--artifacts DIR]

Screenshots of every page, desktop and phone, go to DIR (default .artifacts/browser/dashboard). Ends with
`N passed, N failed`.
"""
import argparse
import hashlib
import secrets
import sqlite3
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(HERE))
from test_checkout import USDC, Checks, World, demo  # noqa: E402  (the checkout test's world: devnet, localstripe, settled)
sys.path.insert(0, str(HERE.parent))
from browser import Browser  # noqa: E402


class Receiver(demo.MerchantReceiver):
    """The merchant's webhook endpoint: the demo's (each delivery's Settle-Signature verified, a bad one answered 400),
    also counting every delivery, redeliveries included."""

    def __init__(self, secret):
        super().__init__(secret, demo.Output(False), {})
        self.received = 0

    def receive(self, path, signature, event_id, body):
        code = super().receive(path, signature, event_id, body)
        with self.lock:
            self.received += 1
        return code


def sign_in(browser, base, token):
    browser.open(base + "/dashboard/sign-in")
    browser.type("#token", token)
    browser.click("form button[type=submit]")
    browser.wait_for(lambda: browser.driver.current_url.rstrip("/").endswith("/dashboard"), timeout=15, what="the overview")


def sign_out(browser):
    browser.click("form.signout button")
    browser.wait_for(lambda: "/dashboard/sign-in" in browser.driver.current_url, timeout=15, what="the sign-in page")


def wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(0.5)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settled", required=True, help="the settled binary")
    parser.add_argument("--artifacts", default=str(ROOT / ".artifacts" / "browser" / "dashboard"))
    args = parser.parse_args(argv)
    checks = Checks()
    world = World(args.settled)
    receiver = Receiver(world.merchant_secret)
    world.merchant_webhook = receiver.url
    receiver.start()
    try:
        world.start()
        base = world.base
        (alice, alice_key), (bob, bob_key), _, _ = world.customers
        # Alice pays an invoice due in a few seconds (the overview's chart, a payment with its transaction, webhooks).
        world.approve(alice, alice_key, 100 * USDC)
        alice_customer = world.stripe.customer("alice", "devnet", "USDC", alice)
        paid = world.stripe.draft_invoice(alice_customer, 2_500, int(time.time()) + 3)
        world.stripe.finalize(paid)
        wait(lambda: world.transfers_to_treasury(alice) == [25 * USDC], 90, "alice's payment on chain")
        # Bob allows enough but holds nothing in a fresh wallet: his invoice waits for funds.
        poor, poor_key = world.devnet.accounts()[13]
        world.approve(poor, poor_key, 100 * USDC)
        bob_customer = world.stripe.customer("bob", "devnet", "USDC", poor)
        waiting = world.stripe.draft_invoice(bob_customer, 1_200, int(time.time()) + 2)
        world.stripe.finalize(waiting)
        wait(lambda: world.charge_of(waiting)["state"] == "awaiting_funds", 90, "bob's charge waiting for funds")
        # An invoice nobody agreed to pay with Settle: a finding.
        stranger = world.stripe.request("POST", "/v1/customers", {"email": "carol@example.com", "name": "Carol"})["id"]
        orphan = world.stripe.draft_invoice(stranger, 900, int(time.time()) + 3_600)
        world.stripe.finalize(orphan)

        # A subscription with an agreement that Stripe would still charge to a card: the audit's finding.
        pro = world.price(2_500, "Pro plan")
        card = world.stripe.request("POST", "/v1/payment_methods", {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12,
                                                                                                "exp_year": 2030, "cvc": "123"}})["id"]
        carded = world.stripe.request("POST", "/v1/customers", {"email": "dave@example.com", "name": "Dave", "payment_method": card,
                                                                "invoice_settings": {"default_payment_method": card}})["id"]
        automatic = world.stripe.request("POST", "/v1/subscriptions", {
            "customer": carded, "items": {"0": {"price": pro}},
            "metadata": {"settle_chain": "devnet", "settle_token": "USDC", "settle_wallet": bob}})["id"]

        with Browser(args.artifacts, ignore=(r"status of 40[13]",)) as browser:
            # 1. Not signed in.
            browser.open(base + "/dashboard")
            checks.check("anonymous: sent to sign in", "/dashboard/sign-in" in browser.driver.current_url, browser.driver.current_url)
            browser.screenshot("1-sign-in")
            browser.type("#token", "not-a-token")
            browser.click("form button[type=submit]")
            browser.wait_for_text("#problem", "not one of", timeout=15)
            browser.screenshot("1b-sign-in-refused")

            # 2. Read-only.
            sign_in(browser, base, world.reader)
            checks.check("read: the overview says read-only", "read-only" in browser.text("header"), browser.text("header"))
            browser.open(f"{base}/dashboard/payments/{waiting}")
            retry = browser.driver.find_elements("css selector", "button.small[disabled]")
            checks.check("read: actions are shown disabled", len(retry) >= 1, str(len(retry)))
            browser.screenshot("2-read-only-payment")
            old_cookie = browser.driver.get_cookie("settle_dashboard")
            checks.check("read: the cookie is HttpOnly and SameSite=Strict",
                         old_cookie is not None and old_cookie.get("httpOnly") and old_cookie.get("sameSite") == "Strict", str(old_cookie))
            sign_out(browser)
            browser.driver.add_cookie({"name": "settle_dashboard", "value": old_cookie["value"], "path": "/dashboard"})
            browser.open(base + "/dashboard")
            checks.check("signed out: the old cookie opens nothing", "signed out" in browser.text("main"), browser.text("main"))

            # 3. Admin.
            sign_in(browser, base, world.admin)
            body = browser.text("main")
            checks.check("admin: the overview lists the chain", "devnet" in browser.text("#chains"), browser.text("#chains"))
            checks.check("admin: the chart shows 25.00 USDC collected", "USDC: 25.00" in body, body[:400])
            browser.screenshot("3-overview")
            browser.open(base + "/dashboard/customers")
            row = f"//table[@id='customers']//tr[td[contains(., '{alice}')]]"
            browser.driver.find_element("xpath", row + "//button[@data-get-data]").click()
            browser.wait_for(lambda: "USDC" in browser.driver.find_element("xpath", row + "//span[@data-field='allowance']").text,
                             timeout=15, what="Get data")
            shown = browser.driver.find_element("xpath", row + "//span[@data-field='allowance']").text
            checks.equal("get data: the allowance is the chain's", shown, f"{world.allowance(alice) / USDC:.2f} USDC")
            balance = browser.driver.find_element("xpath", row + "//span[@data-field='balance']").text
            checks.equal("get data: the balance is the chain's", balance, f"{(1_000 * USDC - 25 * USDC) / USDC:.2f} USDC")
            browser.screenshot("4-customers")
            browser.open(base + "/dashboard/customers?q=" + alice[:12])
            checks.check("search: finds alice by her wallet", alice in browser.text("#customers"), browser.text("main")[:300])
            browser.driver.find_element("xpath", f"//table[@id='customers']//a[contains(., '{alice_customer}')]").click()
            browser.wait_for_text("h1", "Customer", timeout=15)
            checks.check("customer: the allowance chart is drawn", len(browser.driver.find_elements("css selector", "svg.chart path")) == 1)
            browser.screenshot("5-customer")
            browser.open(base + "/dashboard/payments?state=settled")
            browser.screenshot("6-payments")
            browser.open(f"{base}/dashboard/payments/{paid}")
            links = browser.driver.find_elements("css selector", "#attempts a")
            checks.check("payment: its transaction links to the explorer",
                         len(links) == 1 and links[0].get_attribute("href").startswith("https://explorer.invalid/tx/0x"),
                         str([a.get_attribute("href") for a in links]))
            browser.screenshot("7-payment-settled")

            # 4. Retry after a top-up.
            world.devnet.mint(world.token, poor, 50 * USDC)
            browser.open(f"{base}/dashboard/payments/{waiting}")
            browser.screenshot("8-payment-waiting")
            browser.execute("window.confirm = () => true")  # the confirmation dialog, accepted as the merchant would
            browser.click("button[data-action$='/retry']")
            browser.wait_for(lambda: browser.text("[data-result-for='action']") != "", timeout=30, what="the retry's answer")
            checks.check("retry: the page says it retried", "Retried" in browser.text("[data-result-for='action']"), browser.text("main")[:400])
            wait(lambda: world.transfers_to_treasury(poor) == [12 * USDC], 90, "bob's payment on chain after the retry")
            checks.equal("retry: 12 USDC from the topped-up wallet to the treasury (chain)", world.transfers_to_treasury(poor), [12 * USDC])
            wait(lambda: world.stripe.request("GET", f"/v1/invoices/{waiting}")["status"] == "paid", 60, "the invoice paid in Stripe")
            browser.open(f"{base}/dashboard/payments/{waiting}")
            checks.check("retry: the timeline shows the move to settled", "settled" in browser.text("#timeline"), browser.text("#timeline"))
            browser.screenshot("9-payment-retried")

            # 5. Findings and webhooks.
            browser.open(base + "/dashboard/findings")
            wait(lambda: orphan in (browser.open(base + "/dashboard/findings") or browser.text("main")), 30, "the orphan invoice's finding")
            checks.check("findings: the invoice without an agreement, with its fix", "checkout link" in browser.text("#findings"), browser.text("#findings"))
            browser.click("button[data-audit]")
            browser.wait_for(lambda: browser.text("#audit") != "", timeout=30, what="the Stripe audit")
            checks.check("audit: the subscription on charge_automatically, with the fix", automatic in browser.text("#audit")
                         and "settled audit stripe --fix" in browser.text("#audit"), browser.text("#audit"))
            delivered = browser.driver.find_elements("xpath", "//table[@id='webhooks']//tr[td//span[contains(@class,'delivered')]]//button[@data-action]")
            checks.check("webhooks: deliveries are listed, delivered", len(delivered) >= 1, browser.text("#webhooks")[:400])
            browser.screenshot("10-findings")
            if delivered:
                before = receiver.received
                browser.execute("window.confirm = () => true")
                delivered[0].click()
                wait(lambda: receiver.received > before, 30, "the redelivery")
                checks.equal("redeliver: the endpoint received one more delivery", receiver.received, before + 1)
                checks.equal("redeliver: every delivery carried a valid Settle-Signature", receiver.bad, [])

            # 6. An expired session: a sign-in whose end passed (written into the daemon's database, as 8 hours would
            #    leave it) opens nothing; the page says why.
            expired = "ds_" + secrets.token_urlsafe(32)
            with sqlite3.connect(world.workdir / "settle.sqlite", timeout=30) as db:
                db.execute("INSERT INTO dashboard_sessions(key, token_name, scope, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                           (hashlib.sha256(expired.encode()).hexdigest(), "checkout", "admin", secrets.token_urlsafe(16),
                            int(time.time()) - 9 * 3_600, int(time.time()) - 3_600))
            current = browser.driver.get_cookie("settle_dashboard")
            browser.driver.add_cookie({"name": "settle_dashboard", "value": expired, "path": "/dashboard"})
            browser.open(base + "/dashboard/payments")
            checks.check("expired: the session opens nothing, and the page says it expired", "expired" in browser.text("main"), browser.text("main"))
            browser.screenshot("11-expired")
            sign_in(browser, base, world.admin)
            checks.check("expired: signing in again replaces the cookie", browser.driver.get_cookie("settle_dashboard")["value"] not in (expired, current["value"]))

            # 7. An action without the CSRF header is refused (the page's own fetch, without the header).
            status = browser.driver.execute_async_script("""
                const done = arguments[arguments.length - 1];
                fetch(arguments[0], { method: "POST", credentials: "same-origin" }).then(r => done(r.status), e => done(String(e)));
            """, f"/dashboard/payments/{waiting}/retry")
            checks.equal("csrf: an action without the header is refused", status, 403)
        checks.equal("settled stops cleanly (SIGTERM)", world.close(), 0)
        world = None
    except Exception:  # a failure to run is a failed check, with its story
        traceback.print_exc()
        checks.check("the scenarios ran to the end", False)
        if world is not None:
            print(demo.tail(world.settled.log, 60))
    finally:
        if world is not None:
            world.close()
        receiver.stop()
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
