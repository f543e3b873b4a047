import API
import Billing
import Foundation
import Logging
import SettleCore
import Settlement
import Store
import TestSupport
import Testing
import Transport

/// Issue 14: numbers in Stripe's objects that do not fit what the ledger stores (SQLite's signed 64-bit integers)
/// are refused as malformed, never a trap. The invoice is a real one from localstripe, rewritten on its way by
/// `fault_proxy.py` (mode `replace`); the webhook goes through Settle's real route over HTTP. Before the fix each
/// stopped the test process (`Int64(x)` of a value past 2^63).
@Suite("Stripe numbers past 64-bit storage: malformed, never a trap", .serialized)
struct HostileStripeNumberTests {
    static let huge = "18446744073709551615"  // 2^64 - 1

    /// localstripe behind a fault proxy, and an ingestor over a fresh ledger.
    struct Setup {
        let proxy: Peer
        let stripe: StripeClient
        let direct: StripeClient
        let ledger: Ledger
        let ingestor: InvoiceIngestor

        static func make() async throws -> Setup {
            let upstream = try await sharedStripe.value
            let proxy = try await Peer.start(script: "fault_proxy.py", arguments: ["--upstream", upstream.url("/")])
            let http = HTTPClient()
            let retry = RetryPolicy(maximumAttempts: 1)
            let stripe = StripeClient(baseURL: proxy.url(""), apiKey: "sk_test_settle", http: http, retry: retry)
            let direct = StripeClient(baseURL: upstream.url(""), apiKey: "sk_test_settle", http: http, retry: retry)
            let database = try Database(path: try temporaryDirectory("settle-hostile-stripe").appendingPathComponent("db").path)
            let ledger = Ledger(database: database)
            try await ledger.migrate()
            try await Outbox(database: database).migrate()
            let store = BillingStore(database: database)
            try await store.migrate()
            var logger = Logger(label: "hostile-stripe")
            logger.logLevel = .critical
            let catalog = ChainCatalog(tokens: ["devnet": ["USDC": 6]]) { chain, wallet in chain == "devnet" ? wallet : nil }
            let ingestor = InvoiceIngestor(ledger: ledger, store: store, stripe: stripe, catalog: catalog, rates: StaticRateProvider(rates: []),
                                           logger: logger)
            return Setup(proxy: proxy, stripe: stripe, direct: direct, ledger: ledger, ingestor: ingestor)
        }

        /// An open `send_invoice` invoice of 12.34 USD due in a day, whose customer has an agreement.
        func openInvoice() async throws -> String {
            let customer = try await direct.post("/v1/customers", [
                "email": "hostile@example.com",
                "metadata": ["settle_chain": "devnet", "settle_token": "usdc", "settle_wallet": "0x1111111111111111111111111111111111111111"],
            ], idempotencyKey: "cus-\(UUID())")
            let id = try #require(customer["id"]?.stringValue)
            _ = try await direct.post("/v1/invoiceitems", ["customer": .string(id), "amount": 1234, "currency": "usd", "description": "Pro"],
                                      idempotencyKey: "ii-\(UUID())")
            let due = UInt64(Date().timeIntervalSince1970) + 86_400
            let invoice = try await direct.post("/v1/invoices", [
                "customer": .string(id), "collection_method": "send_invoice", "auto_advance": false, "due_date": .number(String(due)),
            ], idempotencyKey: "in-\(UUID())")
            let invoiceID = try #require(invoice["id"]?.stringValue)
            _ = try await direct.post("/v1/invoices/\(invoiceID)/finalize", idempotencyKey: "fin-\(invoiceID)")
            return invoiceID
        }

        func arm(_ fault: JSON) async throws {
            let response = try await HTTPClient().execute(HTTPRequest(url: proxy.url("/_fault"), method: .post, body: fault.serialized))
            #expect(response.status == 200)
        }
    }

    static let rewrites: [(name: String, members: JSON)] = [
        ("amount_remaining", ["amount_remaining": .string(huge)]),
        ("amount_due without amount_remaining", ["amount_due": .string(huge), "amount_remaining": "null"]),
        ("due_date", ["due_date": .string(huge)]),
        ("created, with no due date and not finalized", ["created": .string(huge), "due_date": "null", "finalized_at": "null"]),
        ("finalized_at, with no due date", ["finalized_at": .string(huge), "due_date": "null"]),
        ("amount_remaining of 2^63", ["amount_remaining": "9223372036854775808"]),
    ]

    @Test("an invoice with a number past 2^63 - 1 is refused as malformed and no charge is made", arguments: 0..<6)
    func invoice(index: Int) async throws {
        let (name, members) = Self.rewrites[index]
        let s = try await Setup.make()
        let invoice = try await s.openInvoice()
        try await s.arm(["mode": "replace", "path": "/v1/invoices/", "members": members, "count": -1])
        let error = await #expect(throws: BillingError.self, "\(name)") {
            try await s.ingestor.reconcile(invoiceID: invoice, now: UInt64(Date().timeIntervalSince1970))
        }
        #expect(error?.code == .malformed, "\(name)")
        #expect(try await s.ledger.charge(invoice: invoice) == nil, "\(name)")
        try await s.arm(["mode": "none"])
        let outcome = try await s.ingestor.reconcile(invoiceID: invoice, now: UInt64(Date().timeIntervalSince1970))
        guard case .created = outcome else { Issue.record("\(name): \(outcome)"); return }
        #expect(try await s.ledger.charge(invoice: invoice)?.amount.minorUnits == 1234)
    }

    @Test("a signed webhook whose event created is 2^64 - 1 gets a 400 over HTTP and is not stored")
    func webhookCreated() async throws {
        let directory = try temporaryDirectory("settle-hostile-webhook")
        let database = try Database(path: directory.appendingPathComponent("db").path)
        let store = BillingStore(database: database)
        try await store.migrate()
        var logger = Logger(label: "hostile-webhook")
        logger.logLevel = .critical
        let secret = "whsec_hostile"
        let server = try await TestServer.start(inbox: StripeInbox(store: store, secrets: [secret]), logger: logger)
        defer { server.stop() }
        let now = UInt64(Date().timeIntervalSince1970)
        let payload = Array(#"{"id": "evt_hostile", "object": "event", "type": "invoice.created", "created": \#(Self.huge), "data": {"object": {"id": "in_hostile", "object": "invoice"}}}"#.utf8)
        let response = try await HTTPClient().execute(HTTPRequest(
            url: server.url("/webhooks/stripe"), method: .post,
            headers: [("Content-Type", "application/json"), ("Stripe-Signature", WebhookSignature.header(payload: payload, secret: secret, timestamp: now))],
            body: payload))
        #expect(response.status == 400)
        #expect(try await store.allEvents().isEmpty)
    }
}
