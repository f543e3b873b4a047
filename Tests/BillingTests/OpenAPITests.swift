import API
import Billing
import Foundation
import SettleCore
import Settlement
import TestSupport
import Testing
import Transport

/// The server against its document: every route `SettleAPI` serves is exercised for real (successes and the error
/// statuses a client meets), and `Tests/Peers/openapi_check.py` validates docs/openapi.yaml itself, that its
/// operations are exactly the server's routes, and every recorded status and body against the documented schema.
@Suite("OpenAPI document")
struct OpenAPITests {
    @Test("every route answers as docs/openapi.yaml describes")
    func serverMatchesDocument() async throws {
        let api = try await APIFixture.make(balance: 1_000_000_000, allowance: 6_000_000)
        defer { api.stop() }
        let world = api.world
        let wallet = world.payer.address.checksummed
        let invoices = [try await api.charge(cents: 500), try await api.charge(cents: 700)]
        let now = UInt64(Date().timeIntervalSince1970) + 3600
        for invoice in invoices { _ = try await world.settle(invoice, now: now) }
        try await world.devnet.mine(3)
        try await api.index()
        let admin = APIFixture.adminToken
        let w = "/v1/chains/{chain}/wallets/{wallet}"
        let calls: [(method: Transport.HTTPRequest.Method, path: String, template: String, token: String?, body: String?)] = [
            (.get, "/healthz", "/healthz", nil, nil),
            (.get, "/metrics", "/metrics", APIFixture.readToken, nil),
            (.get, "/metrics", "/metrics", nil, nil),
            (.get, "/v1/chains", "/v1/chains", APIFixture.readToken, nil),
            (.get, "/v1/chains/devnet/wallets/\(wallet)/allowances?limit=1", "\(w)/allowances", APIFixture.readToken, nil),
            (.get, "/v1/chains/devnet/wallets/0x12/allowances", "\(w)/allowances", APIFixture.readToken, nil),
            (.get, "/v1/chains/nope/wallets/\(wallet)/allowances", "\(w)/allowances", APIFixture.readToken, nil),
            (.get, "/v1/chains/devnet/wallets/\(wallet)/balances", "\(w)/balances", APIFixture.readToken, nil),
            (.get, "/v1/chains/devnet/wallets/\(wallet)/readiness?token=USDC&amount=5000000", "\(w)/readiness", APIFixture.readToken, nil),
            (.get, "/v1/chains/devnet/wallets/\(wallet)/readiness?token=USDC", "\(w)/readiness", APIFixture.readToken, nil),
            (.get, "/v1/chains/devnet/wallets/\(wallet)/approval?token=USDC&amount=65000000", "\(w)/approval", APIFixture.readToken, nil),
            (.get, "/v1/agreements?limit=1", "/v1/agreements", APIFixture.readToken, nil),
            (.post, "/v1/agreements", "/v1/agreements", admin, #"{"customer": "cus_doc", "chain": "devnet", "token": "USDC", "wallet": "\#(wallet)"}"#),
            (.post, "/v1/agreements", "/v1/agreements", admin, #"{"customer": "cus_doc"}"#),
            (.post, "/v1/agreements", "/v1/agreements", APIFixture.readToken, "{}"),
            (.get, "/v1/charges?state=reported,settled,included,awaiting_funds&limit=1", "/v1/charges", APIFixture.readToken, nil),
            (.get, "/v1/charges", "/v1/charges", nil, nil),
            (.get, "/v1/charges/\(invoices[0])", "/v1/charges/{invoice}", APIFixture.readToken, nil),
            (.get, "/v1/charges/in_none", "/v1/charges/{invoice}", APIFixture.readToken, nil),
            (.post, "/v1/charges/\(invoices[1])/retry", "/v1/charges/{invoice}/retry", admin, nil),
            (.post, "/v1/charges/in_none/retry", "/v1/charges/{invoice}/retry", admin, nil),
            (.post, "/v1/charges/\(invoices[0])/retry", "/v1/charges/{invoice}/retry", APIFixture.readToken, nil),
            (.get, "/v1/suggested-allowance?chain=devnet&token=USDC&amount=5000000&interval=year", "/v1/suggested-allowance", APIFixture.readToken, nil),
            (.get, "/v1/suggested-allowance?chain=devnet&token=USDC&amount=5", "/v1/suggested-allowance", nil, nil),
            (.post, "/webhooks/stripe", "/webhooks/stripe", nil, #"{"id": "evt_1", "type": "invoice.created"}"#),
            (.post, "/v1/items", "/v1/items", admin, #"{"id": "item_doc", "name": "Pro", "kind": "subscription", "interval": "month", "amount": 2500, "currency": "usd", "tokens": ["USDC"]}"#),
            (.post, "/v1/items", "/v1/items", admin, #"{"id": "item_doc", "name": "Pro", "kind": "one_time", "amount": 2500, "currency": "usd"}"#),
            (.post, "/v1/items", "/v1/items", admin, #"{"name": "Once", "kind": "one_time", "amount": 900, "currency": "eur"}"#),
            (.post, "/v1/items", "/v1/items", admin, #"{"name": "Bad", "kind": "subscription", "amount": 1, "currency": "usd"}"#),
            (.post, "/v1/items", "/v1/items", APIFixture.readToken, "{}"),
            (.get, "/v1/items", "/v1/items", APIFixture.readToken, nil),
            (.get, "/v1/items", "/v1/items", nil, nil),
            (.get, "/v1/items/item_doc", "/v1/items/{id}", APIFixture.readToken, nil),
            (.get, "/v1/items/item_none", "/v1/items/{id}", APIFixture.readToken, nil),
            (.post, "/v1/items/item_doc", "/v1/items/{id}", admin, #"{"active": false, "auto_invoicing": false}"#),
            (.post, "/v1/items/item_doc", "/v1/items/{id}", admin, #"{"active": "no"}"#),
            (.post, "/v1/items/item_none", "/v1/items/{id}", admin, #"{"active": true}"#),
            (.post, "/v1/items/item_doc", "/v1/items/{id}", APIFixture.readToken, "{}"),
            (.post, "/v1/items", "/v1/items", admin, #"{"id": "item_open", "name": "Daily", "kind": "subscription", "interval": "day", "amount": 300, "currency": "usd"}"#),
            (.post, "/v1/agreements", "/v1/agreements", admin, #"{"customer": "cus_items", "chain": "devnet", "token": "USDC", "wallet": "\#(wallet)", "item": "item_open"}"#),
            (.post, "/v1/agreements", "/v1/agreements", admin, #"{"customer": "cus_items2", "chain": "devnet", "token": "USDC", "wallet": "\#(wallet)", "item": "item_doc"}"#),
            (.post, "/v1/agreements", "/v1/agreements", admin, #"{"customer": "cus_items3", "chain": "devnet", "token": "USDC", "wallet": "\#(wallet)", "item": "item_none"}"#),
        ]
        for call in calls { try await api.call(call.method, call.path, template: call.template, token: call.token, body: call.body) }
        try await Self.invoiceCalls(api, wallet: wallet, now: now)

        let event = #"{"id": "evt_openapi_1", "object": "event", "type": "invoice.created", "created": 1700000000, "data": {"object": {"id": "in_openapi", "object": "invoice"}}}"#
        let signature = WebhookSignature.header(payload: Array(event.utf8), secret: BillingWorld.webhookSecret, timestamp: UInt64(Date().timeIntervalSince1970))
        let stored = try await api.call(.post, "/webhooks/stripe", template: "/webhooks/stripe", token: nil, body: event,
                                        extraHeaders: [("Stripe-Signature", signature)])
        #expect(stored.status == 200, "\(stored.text)")
        try await Self.finish(api, invoice: invoices[0], now: now, wallet: wallet)
    }

    /// `/v1/invoices`: a list, one, a back-fill issued (201) and asked again (200), refusals.
    static func invoiceCalls(_ api: APIFixture, wallet: String, now: UInt64) async throws {
        let ledger = api.world.ledger, admin = APIFixture.adminToken
        try await ledger.createItem(Item(id: "item_backfill", name: "Hourly", kind: .subscription, intervalUnit: "hour", intervalCount: 1,
                                         price: Money(minorUnits: 100, currency: try Currency(code: "usd")), tokens: nil, allowancePayments: nil,
                                         autoInvoicingSince: now, createdAt: now))
        let agreement = try await ledger.agreement(customer: "cus_backfill", subscription: nil, chain: "devnet", token: "USDC", wallet: wallet)
        _ = try await ledger.subscribe(agreement: agreement.id, item: "item_backfill", anchor: now - 7_300, now: now - 7_300)
        let id = agreement.id
        let calls: [(method: Transport.HTTPRequest.Method, path: String, template: String, token: String?, body: String?)] = [
            (.post, "/v1/invoices", "/v1/invoices", admin, #"{"agreement": \#(id), "period": 1}"#),
            (.post, "/v1/invoices", "/v1/invoices", admin, #"{"agreement": \#(id), "period": 1}"#),
            (.post, "/v1/invoices", "/v1/invoices", admin, #"{"agreement": \#(id), "period": 9}"#),
            (.post, "/v1/invoices", "/v1/invoices", admin, #"{"agreement": 987654, "period": 1}"#),
            (.post, "/v1/invoices", "/v1/invoices", admin, #"{"agreement": \#(id)}"#),
            (.post, "/v1/invoices", "/v1/invoices", APIFixture.readToken, #"{"agreement": \#(id), "period": 1}"#),
            (.get, "/v1/invoices", "/v1/invoices", APIFixture.readToken, nil),
            (.get, "/v1/invoices?agreement=\(id)&limit=1", "/v1/invoices", APIFixture.readToken, nil),
            (.get, "/v1/invoices?agreement=none", "/v1/invoices", APIFixture.readToken, nil),
            (.get, "/v1/invoices/sinv_\(id)_1", "/v1/invoices/{id}", APIFixture.readToken, nil),
            (.get, "/v1/invoices/sinv_0_0", "/v1/invoices/{id}", APIFixture.readToken, nil),
        ]
        var statuses: [Int] = []
        for call in calls { statuses.append(try await api.call(call.method, call.path, template: call.template, token: call.token, body: call.body).status) }
        #expect(statuses == [201, 200, 409, 404, 400, 403, 200, 200, 400, 200, 404], "\(statuses)")
    }

    /// The end of `serverMatchesDocument`: checkout's routes, a retry that conflicts, then the document check.
    static func finish(_ api: APIFixture, invoice: String, now: UInt64, wallet: String) async throws {
        let world = api.world
        let admin = APIFixture.adminToken
        try await checkoutCalls(api, wallet: wallet)
        // Once the first charge is final and reported, a retry of it is a conflict (409).
        _ = try await world.settle(invoice, now: now)
        _ = try await world.reporter.runOnce(now: now + 60)
        #expect(try await world.ledger.charge(invoice: invoice)?.state == .reported)
        let conflict = try await api.call(.post, "/v1/charges/\(invoice)/retry", template: "/v1/charges/{invoice}/retry", token: admin)
        #expect(conflict.status == 409, "\(conflict.text)")

        let check = try await api.documentCheck(coverage: true)
        print(check.output)
        #expect(check.passed, "\(check.output)")
    }

    /// Checkout: a session for a customer subscribing to a monthly price, its page and its JSON routes.
    static func checkoutCalls(_ api: APIFixture, wallet: String) async throws {
        let world = api.world
        let admin = APIFixture.adminToken
        let customer = try await world.customer(agreement: false)
        let price = try await world.stripe.post("/v1/prices", ["currency": "usd", "unit_amount": 2500, "recurring": ["interval": "month"],
                                                               "product_data": ["name": "Pro plan"]], idempotencyKey: "price-\(UUID())")
        let priceID = try #require(price["id"]?.stringValue)
        let created = try await api.call(.post, "/v1/checkout_sessions", template: "/v1/checkout_sessions", token: admin,
                                         body: #"{"customer": "\#(customer)", "price": "\#(priceID)", "pay_invoice_immediately": true}"#)
        #expect(created.status == 201, "\(created.text)")
        let session = try #require(created.json["id"]?.stringValue)
        let c = "/checkout/{id}"
        let checkoutCalls: [(method: Transport.HTTPRequest.Method, path: String, template: String, token: String?, body: String?)] = [
            (.post, "/v1/checkout_sessions", "/v1/checkout_sessions", admin, #"{"customer": "\#(customer)"}"#),
            (.post, "/v1/checkout_sessions", "/v1/checkout_sessions", admin, #"{"customer": "cus_nobody", "price": "\#(priceID)"}"#),
            (.post, "/v1/checkout_sessions", "/v1/checkout_sessions", APIFixture.readToken, "{}"),
            (.get, "/checkout/\(session)", c, nil, nil),
            (.get, "/checkout/cs_unknown", c, nil, nil),
            (.get, "/checkout/\(session)/state", "\(c)/state", nil, nil),
            (.get, "/checkout/cs_unknown/state", "\(c)/state", nil, nil),
            (.get, "/checkout/\(session)/approval?chain=devnet&token=USDC&wallet=\(wallet)", "\(c)/approval", nil, nil),
            (.get, "/checkout/\(session)/approval?chain=devnet&token=USDC&wallet=\(wallet)&amount=1", "\(c)/approval", nil, nil),
            (.post, "/checkout/\(session)/approval", "\(c)/approval", nil, #"{"chain": "devnet", "token": "USDC", "transaction": "0x12"}"#),
            (.post, "/checkout/cs_unknown/approval", "\(c)/approval", nil, #"{"chain": "devnet", "token": "USDC", "transaction": "0x12"}"#),
        ]
        for call in checkoutCalls { try await api.call(call.method, call.path, template: call.template, token: call.token, body: call.body) }
        // The page's CSRF token (in its meta tags) lets it report an approval; a hash no block holds leaves it approving.
        let page = try await api.call(.get, "/checkout/\(session)", template: c, token: nil)
        let marker = "name=\"settle-csrf\" content=\""
        guard let start = page.text.range(of: marker) else {
            Issue.record("no CSRF token in the checkout page: \(page.text.prefix(300))")
            return
        }
        let csrf = String(page.text[start.upperBound...].prefix { $0 != "\"" })
        let reported = try await api.call(.post, "/checkout/\(session)/approval", template: "\(c)/approval", token: nil,
                                          body: #"{"chain": "devnet", "token": "USDC", "transaction": "0x\#(String(repeating: "ab", count: 32))"}"#,
                                          extraHeaders: [("X-Settle-CSRF", csrf)])
        #expect(reported.status == 200 && reported.json["step"] == "approving", "\(reported.text)")
        #expect(page.header("Content-Security-Policy")?.contains("script-src 'self'") == true)
        let after = try await api.call(.get, "/checkout/\(session)/state", template: "\(c)/state", token: nil)
        #expect(after.status == 200 && after.json["step"] == "approving", "\(after.text)")
        try await portalCalls(api)
    }

    /// The portal: a session for the customer whose invoices the document test charged, its page and JSON routes.
    static func portalCalls(_ api: APIFixture) async throws {
        let admin = APIFixture.adminToken
        let agreement = try #require(try await api.world.ledger.agreements().first)
        let created = try await api.call(.post, "/v1/portal_sessions", template: "/v1/portal_sessions", token: admin,
                                         body: #"{"customer": "\#(agreement.customer)"}"#)
        #expect(created.status == 201, "\(created.text)")
        let session = try #require(created.json["id"]?.stringValue)
        let p = "/portal/{id}"
        let calls: [(method: Transport.HTTPRequest.Method, path: String, template: String, token: String?, body: String?)] = [
            (.post, "/v1/portal_sessions", "/v1/portal_sessions", admin, #"{"customer": "cus_nobody"}"#),
            (.post, "/v1/portal_sessions", "/v1/portal_sessions", admin, #"{"customer": "\#(agreement.customer)", "extra": 1}"#),
            (.post, "/v1/portal_sessions", "/v1/portal_sessions", APIFixture.readToken, "{}"),
            (.get, "/portal/\(session)", p, nil, nil),
            (.get, "/portal/ps_unknown", p, nil, nil),
            (.get, "/portal/\(session)/state", "\(p)/state", nil, nil),
            (.get, "/portal/ps_unknown/state", "\(p)/state", nil, nil),
            (.get, "/portal/\(session)/approval?agreement=\(agreement.id)&amount=0", "\(p)/approval", nil, nil),
            (.get, "/portal/\(session)/approval?agreement=999999&amount=0", "\(p)/approval", nil, nil),
            (.post, "/portal/\(session)/approval", "\(p)/approval", nil, #"{"agreement": \#(agreement.id), "action": "raise", "transaction": "0x12"}"#),
        ]
        for call in calls { try await api.call(call.method, call.path, template: call.template, token: call.token, body: call.body) }
        let page = try await api.call(.get, "/portal/\(session)", template: p, token: nil)
        let marker = "name=\"settle-csrf\" content=\""
        guard let start = page.text.range(of: marker) else {
            Issue.record("no CSRF token in the portal page")
            return
        }
        let csrf = String(page.text[start.upperBound...].prefix { $0 != "\"" })
        let reported = try await api.call(.post, "/portal/\(session)/approval", template: "\(p)/approval", token: nil,
                                          body: #"{"agreement": \#(agreement.id), "action": "raise", "transaction": "0x\#(String(repeating: "cd", count: 32))"}"#,
                                          extraHeaders: [("X-Settle-CSRF", csrf)])
        #expect(reported.status == 200 && reported.json["action"]?["status"] == "pending", "\(reported.text)")
        #expect(reported.json["agreements"]?.arrayValue?.first?["readiness"] != nil, "\(reported.text)")
    }

}
