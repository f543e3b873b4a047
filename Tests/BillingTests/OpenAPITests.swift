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
        ]
        for call in calls { try await api.call(call.method, call.path, template: call.template, token: call.token, body: call.body) }
        let event = #"{"id": "evt_openapi_1", "object": "event", "type": "invoice.created", "created": 1700000000, "data": {"object": {"id": "in_openapi", "object": "invoice"}}}"#
        let signature = WebhookSignature.header(payload: Array(event.utf8), secret: BillingWorld.webhookSecret, timestamp: UInt64(Date().timeIntervalSince1970))
        let stored = try await api.call(.post, "/webhooks/stripe", template: "/webhooks/stripe", token: nil, body: event,
                                        extraHeaders: [("Stripe-Signature", signature)])
        #expect(stored.status == 200, "\(stored.text)")
        // Once the first charge is final and reported, a retry of it is a conflict (409).
        _ = try await world.settle(invoices[0], now: now)
        _ = try await world.reporter.runOnce(now: now + 60)
        #expect(try await world.ledger.charge(invoice: invoices[0])?.state == .reported)
        let conflict = try await api.call(.post, "/v1/charges/\(invoices[0])/retry", template: "/v1/charges/{invoice}/retry", token: admin)
        #expect(conflict.status == 409, "\(conflict.text)")

        let check = try api.documentCheck(coverage: true)
        print(check.output)
        #expect(check.passed, "\(check.output)")
    }
}
