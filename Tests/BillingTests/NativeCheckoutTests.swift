import API
import Billing
import EVM
import Foundation
import Logging
import SettleCore
import Settlement
import TestSupport
import Testing
import Transport

/// Checkout of Settle's own items over real HTTP, against the devnet (USDC and USDT configured) and localstripe: the
/// item's accepted tokens narrow what the customer may choose (and a Stripe price's `settle_tokens` does the same), the
/// approval is read from the chain, the agreement is subscribed once and period 0 is pulled on the devnet (ground
/// truth: the treasury's Transfer logs). A disabled item takes no new checkout while its agreements keep renewing; the
/// portal refuses to move an agreement to a token its item does not take.
@Suite("Checkout of Settle's own items: accepted tokens, one subscription, the first payment pulled on the devnet")
struct NativeCheckoutTests {
    static func csrf(_ page: String) throws -> String {
        let marker = "name=\"settle-csrf\" content=\""
        return String(try #require(page.range(of: marker).map { page[$0.upperBound...] }).prefix { $0 != "\"" })
    }

    @Test("an item's checkout: only its tokens offered, subscribed once, period 0 pulled; disabled: no new checkout, renewals go on; portal: no move to a refused token")
    func itemCheckout() async throws {
        let api = try await APIFixture.withSecondToken()
        defer { api.stop() }
        let world = api.world, ledger = world.ledger, admin = APIFixture.adminToken
        let wallet = world.payer.address.checksummed
        let item = try await api.call(.post, "/v1/items", template: "/v1/items", token: admin, body: """
            {"id": "item_pro", "name": "Pro hourly", "kind": "subscription", "interval": "hour", "amount": 200, "currency": "usd", "tokens": ["USDC"]}
            """)
        #expect(item.status == 201, "\(item.text)")

        // Refusals before any session exists.
        let refusedToken = try await api.call(.post, "/v1/checkout_sessions", template: "/v1/checkout_sessions", token: admin,
                                              body: #"{"customer": "cus_native", "item": "item_pro", "tokens": ["USDT"]}"#)
        #expect(refusedToken.status == 400 && refusedToken.text.contains("USDT") && refusedToken.text.contains("item_pro"), "\(refusedToken.text)")
        let mixed = try await api.call(.post, "/v1/checkout_sessions", template: "/v1/checkout_sessions", token: admin,
                                       body: #"{"customer": "cus_native", "item": "item_pro", "price": "price_x"}"#)
        #expect(mixed.status == 400, "\(mixed.text)")
        let missing = try await api.call(.post, "/v1/checkout_sessions", template: "/v1/checkout_sessions", token: admin,
                                         body: #"{"customer": "cus_native", "item": "item_none"}"#)
        #expect(missing.status == 404, "\(missing.text)")

        let created = try await api.call(.post, "/v1/checkout_sessions", template: "/v1/checkout_sessions", token: admin,
                                         body: #"{"customer": "cus_native", "item": "item_pro"}"#)
        #expect(created.status == 201, "\(created.text)")
        let session = try #require(created.json["id"]?.stringValue)
        let page = try await api.call(.get, "/checkout/\(session)", template: "/checkout/{id}", token: nil)
        #expect(page.text.contains("data-token=\"USDC\"") && !page.text.contains("data-token=\"USDT\""), "the page offers a token the item refuses")
        #expect(page.text.contains("every hour") && page.text.contains("Subscription started"))
        let csrf = try Self.csrf(page.text)
        let usdt = try await api.call(.get, "/checkout/\(session)/approval?chain=devnet&token=USDT&wallet=\(wallet)", template: "/checkout/{id}/approval",
                                      token: nil)
        #expect(usdt.status == 400 && usdt.text.contains("USDT"), "\(usdt.text)")

        // The customer approves 24 payments of 2.00 USDC (the hourly suggestion) from the payer's wallet.
        let hash = try await world.devnet.send(from: world.payer, to: world.token, data: ERC20.approve(spender: world.spender.address, amount: 48_000_000))
        try await world.devnet.mine(3)
        let reported = try await api.call(.post, "/checkout/\(session)/approval", template: "/checkout/{id}/approval", token: nil,
                                          body: #"{"chain": "devnet", "token": "USDC", "transaction": "\#(hash.description)"}"#,
                                          extraHeaders: [("X-Settle-CSRF", csrf)])
        #expect(reported.status == 200, "\(reported.text)")
        var state = try await api.call(.get, "/checkout/\(session)/state", template: "/checkout/{id}/state", token: nil)
        for _ in 0..<10 where state.json["step"]?.stringValue != "charging" {
            try await world.devnet.mine(1)
            state = try await api.call(.get, "/checkout/\(session)/state", template: "/checkout/{id}/state", token: nil)
        }
        #expect(state.json["step"] == "charging", "\(state.text)")
        let invoice = try #require(state.json["invoices"]?.arrayValue?.first?["id"]?.stringValue)
        let charge = try #require(try await ledger.charge(invoice: invoice))
        let agreement = try #require(try await ledger.agreement(id: charge.agreement))
        #expect(invoice == NativeInvoice.id(agreement: agreement.id, period: 0))
        #expect(agreement.customer == "cus_native" && agreement.token == "USDC" && agreement.wallet.lowercased() == wallet.lowercased())
        #expect(try await ledger.itemSubscription(agreement: agreement.id)?.item.id == "item_pro")

        let now = UInt64(Date().timeIntervalSince1970)
        #expect(try await world.settle(invoice, now: now + 5) == .settled)
        state = try await api.call(.get, "/checkout/\(session)/state", template: "/checkout/{id}/state", token: nil)
        #expect(state.json["complete"] == .bool(true), "\(state.text)")
        // The chain: one transfer of exactly 2.00 USDC to the treasury. The ledger: one invoice, one agreement.
        #expect(try await world.treasuryTransfers() == [2_000_000])
        _ = try await api.call(.get, "/checkout/\(session)/state", template: "/checkout/{id}/state", token: nil)
        #expect(try await ledger.nativeInvoices(agreement: agreement.id).map(\.period) == [0])
        #expect(try await ledger.agreements(customer: "cus_native").count == 1)

        // Portal: the agreement may not move to USDT (the item takes USDC only), whatever the page sends.
        let portal = try await api.call(.post, "/v1/portal_sessions", template: "/v1/portal_sessions", token: admin, body: #"{"customer": "cus_native"}"#)
        #expect(portal.status == 201, "\(portal.text)")
        let portalID = try #require(portal.json["id"]?.stringValue)
        let portalState = try await api.call(.get, "/portal/\(portalID)/state", template: "/portal/{id}/state", token: nil)
        #expect(portalState.json["agreements"]?.arrayValue?.first?["tokens"] == ["USDC"], "\(portalState.text)")
        let moveApproval = try await api.call(.get, "/portal/\(portalID)/approval?agreement=\(agreement.id)&token=USDT&wallet=\(wallet)",
                                              template: "/portal/{id}/approval", token: nil)
        #expect(moveApproval.status == 400 && moveApproval.text.contains("USDT"), "\(moveApproval.text)")
        let portalPage = try await api.call(.get, "/portal/\(portalID)", template: "/portal/{id}", token: nil)
        let usdtHash = try await world.devnet.send(from: world.payer, to: try #require(world.usdt),
                                                   data: ERC20.approve(spender: world.spender.address, amount: 48_000_000))
        try await world.devnet.mine(3)
        let move = try await api.call(.post, "/portal/\(portalID)/approval", template: "/portal/{id}/approval", token: nil,
                                      body: #"{"agreement": \#(agreement.id), "action": "change", "token": "USDT", "transaction": "\#(usdtHash.description)"}"#,
                                      extraHeaders: [("X-Settle-CSRF", try Self.csrf(portalPage.text))])
        #expect(move.status == 400 && move.text.contains("USDT"), "\(move.text)")
        #expect(try await ledger.agreement(id: agreement.id)?.token == "USDC")

        // Disabled: no new checkout; the existing agreement still renews.
        let disabled = try await api.call(.post, "/v1/items/item_pro", template: "/v1/items/{id}", token: admin, body: #"{"active": false}"#)
        #expect(disabled.status == 200, "\(disabled.text)")
        let refused = try await api.call(.post, "/v1/checkout_sessions", template: "/v1/checkout_sessions", token: admin,
                                         body: #"{"customer": "cus_other", "item": "item_pro"}"#)
        #expect(refused.status == 409 && refused.text.contains("disabled"), "\(refused.text)")
        var logger = Logger(label: "native-checkout")
        logger.logLevel = .critical
        let invoicer = AutoInvoicer(ledger: ledger, pricing: { chain in world.ingestor.pricing(chain: chain) }, logger: logger)
        let subscription = try #require(try await ledger.itemSubscription(agreement: agreement.id)).subscription
        #expect(try await invoicer.runOnce(now: subscription.anchor + 3_600).issued == 1)
        #expect(try await ledger.nativeInvoices(agreement: agreement.id).map(\.period) == [0, 1])
    }

    @Test("a one-time item asks an allowance of exactly its price; a Stripe price's settle_tokens narrows the tokens")
    func oneTimeAndStripeTokens() async throws {
        let api = try await APIFixture.withSecondToken()
        defer { api.stop() }
        let world = api.world, admin = APIFixture.adminToken
        let item = try await api.call(.post, "/v1/items", template: "/v1/items", token: admin,
                                      body: #"{"id": "item_once", "name": "Lifetime pass", "kind": "one_time", "amount": 500, "currency": "usd"}"#)
        #expect(item.status == 201, "\(item.text)")
        let once = try await api.call(.post, "/v1/checkout_sessions", template: "/v1/checkout_sessions", token: admin,
                                      body: #"{"customer": "cus_once", "item": "item_once"}"#)
        #expect(once.status == 201, "\(once.text)")
        let page = try await api.call(.get, "/checkout/\(try #require(once.json["id"]?.stringValue))", template: "/checkout/{id}", token: nil)
        #expect(page.text.contains("Buy") && page.text.contains("once") && page.text.contains("Order recorded"))
        #expect(page.text.contains("data-token=\"USDC\"") && page.text.contains("data-token=\"USDT\""), "an item without tokens takes every one")
        #expect(page.text.contains("data-payment=\"5000000\"") && page.text.contains("data-suggested=\"5000000\""), "a one-time allowance is its price")
        let notFalse = try await api.call(.post, "/v1/checkout_sessions", template: "/v1/checkout_sessions", token: admin,
                                          body: #"{"customer": "cus_once", "item": "item_once", "pay_invoice_immediately": false}"#)
        #expect(notFalse.status == 400, "\(notFalse.text)")

        // A Stripe price that takes USDT only.
        let customer = try await world.customer(agreement: false)
        let price = try await world.stripe.post("/v1/prices", ["currency": "usd", "unit_amount": 900, "recurring": ["interval": "month"],
                                                               "product_data": ["name": "Team"], "metadata": ["settle_tokens": "usdt"]],
                                                idempotencyKey: "price-\(UUID())")
        let priceID = try #require(price["id"]?.stringValue)
        let narrowed = try await api.call(.post, "/v1/checkout_sessions", template: "/v1/checkout_sessions", token: admin,
                                          body: #"{"customer": "\#(customer)", "price": "\#(priceID)"}"#)
        #expect(narrowed.status == 201, "\(narrowed.text)")
        let teamPage = try await api.call(.get, "/checkout/\(try #require(narrowed.json["id"]?.stringValue))", template: "/checkout/{id}", token: nil)
        #expect(teamPage.text.contains("data-token=\"USDT\"") && !teamPage.text.contains("data-token=\"USDC\""))
        let named = try await api.call(.post, "/v1/checkout_sessions", template: "/v1/checkout_sessions", token: admin,
                                       body: #"{"customer": "\#(customer)", "price": "\#(priceID)", "tokens": ["USDC"]}"#)
        #expect(named.status == 400 && named.text.contains("settle_tokens"), "\(named.text)")
    }
}
