import API
import Billing
import Logging
import EVM
import Foundation
import SettleCore
import Settlement
import TestSupport
import Testing
import Transport

/// What Stripe changes after an invoice is ingested: due dates, wallets, payments made elsewhere, collection methods.
@Suite("Stripe changes after ingestion (localstripe, py-evm devnet)", .serialized)
struct BillingChangesTests {
    @Test("invoice.updated moves the charge's due date; a charge already in flight keeps its terms")
    func dueDateUpdated() async throws {
        let w = try await BillingWorld.make()
        let now = UInt64(Date().timeIntervalSince1970)
        let invoice = try await w.openInvoice(customer: try await w.customer(), cents: 2_000, dueDate: now + 86_400)
        try await w.awaitEvent("invoice.finalized", object: invoice)
        try await w.processor.runOnce(now: now)
        _ = try await w.stripe.post("/v1/invoices/\(invoice)", ["due_date": .number(String(now + 3 * 86_400))], idempotencyKey: "due-\(invoice)")
        // Finalizing sent an invoice.updated too: wait for the one that carries the new due date.
        try await w.awaitEvent("invoice.updated", object: invoice) { $0["due_date"]?.uint64Value == now + 3 * 86_400 }
        let unprocessed = try await w.processEvents(now: now + 1)
        #expect(unprocessed == nil, "an event was not processed: \(unprocessed ?? "")")
        let charge = try #require(try await w.ledger.charge(invoice: invoice))
        #expect(charge.dueAt == now + 3 * 86_400 && charge.state == .ingested, "\(charge.dueAt) \(charge.state)")
        #expect(try await w.ledger.history(charge.id).contains { $0.reason?.hasPrefix("terms:") == true })
        try await w.loop.runOnce(now: now + 86_400)  // the old due date: nothing happens
        #expect(try await w.treasuryTransfers().isEmpty)
    }

    @Test("a due date moved later in Stripe, its webhook not processed yet: not pulled at the old due date, then paid at the new one")
    func dueDateMovedBeforeItsWebhook() async throws {
        let w = try await BillingWorld.make()
        let now = UInt64(Date().timeIntervalSince1970)
        let invoice = try await w.openInvoice(customer: try await w.customer(), cents: 2_100, dueDate: now + 86_400)
        try await w.awaitEvent("invoice.finalized", object: invoice)
        try await w.processor.runOnce(now: now)
        #expect(try await w.ledger.charge(invoice: invoice)?.dueAt == now + 86_400)
        // The merchant gives the customer two more days; Settle has not processed that event yet (a webhook late,
        // or the daemon down when Stripe sent it) when the old due date comes.
        _ = try await w.stripe.post("/v1/invoices/\(invoice)", ["due_date": .number(String(now + 3 * 86_400))], idempotencyKey: "later-\(invoice)")
        try await w.loop.runOnce(now: now + 86_400)
        try await w.devnet.mine(1)
        try await w.loop.runOnce(now: now + 86_400 + 60)
        #expect(try await w.treasuryTransfers().isEmpty, "pulled before the due date Stripe shows")
        let charge = try #require(try await w.ledger.charge(invoice: invoice))
        #expect(charge.dueAt == now + 3 * 86_400 && !charge.state.hasLiveAttempt, "\(charge.dueAt) \(charge.state)")
        // At the new due date it is collected, once.
        #expect(try await w.settle(invoice, now: now + 3 * 86_400) == .settled)
        #expect(try await w.treasuryTransfers().count == 1)
    }

    @Test("paid elsewhere before due: cancelled, never pulled; paid elsewhere after our transfer settled: Stripe not touched, double payment reported")
    func paidElsewhere() async throws {
        let w = try await BillingWorld.make()
        let now = UInt64(Date().timeIntervalSince1970)
        let customer = try await w.customer()
        let early = try await w.openInvoice(customer: customer, cents: 1_000, dueDate: now + 86_400)
        let late = try await w.openInvoice(customer: customer, cents: 1_100, dueDate: now + 10)
        try await w.awaitEvent("invoice.finalized", object: late)
        try await w.processor.runOnce(now: now)
        _ = try await w.stripe.post("/v1/invoices/\(early)/pay", ["paid_out_of_band": true], idempotencyKey: "elsewhere-\(early)")
        try await w.awaitEvent("invoice.paid", object: early)
        try await w.processor.runOnce(now: now + 1)
        #expect(try await w.ledger.charge(invoice: early)?.state == .cancelled)

        #expect(try await w.settle(late, now: now + 10) == .settled)
        _ = try await w.stripe.post("/v1/invoices/\(late)/pay", ["paid_out_of_band": true], idempotencyKey: "elsewhere-\(late)")
        try await w.stripe.post("/_settle/reset_requests", idempotencyKey: "reset")  // only count Settle's requests from here
        try await w.reporter.runOnce(now: now + 11)
        #expect(try await w.executedPosts(endingWith: "/pay") == 0)
        #expect(try await w.invoice(late)["metadata"]?["settle_tx_hash"] == nil)
        #expect(try await w.ledger.charge(invoice: late)?.state == .reported)
        #expect(try await w.store.findings(invoice: late).map(\.kind) == [.doublePayment])
        #expect(try await w.outbox.messages(invoice: late).map(\.type).contains("action.required"))
        #expect(try await w.treasuryTransfers() == [11_000_000])
    }

    @Test("Stripe is read again before signing: an invoice paid elsewhere (its webhook not seen yet) is cancelled, never pulled")
    func rereadBeforeSigning() async throws {
        let w = try await BillingWorld.make()
        let now = UInt64(Date().timeIntervalSince1970)
        let invoice = try await w.openInvoice(customer: try await w.customer(), cents: 1_200, dueDate: now)
        try await w.awaitEvent("invoice.finalized", object: invoice)
        try await w.processor.runOnce(now: now)
        #expect(try await w.ledger.charge(invoice: invoice)?.state == .ingested)
        // Paid by card in Stripe; Settle has not processed that event yet.
        _ = try await w.stripe.post("/v1/invoices/\(invoice)/pay", ["paid_out_of_band": true], idempotencyKey: "elsewhere-\(invoice)")
        #expect(try await w.settle(invoice, now: now + 1) == .cancelled)
        #expect(try await w.treasuryTransfers().isEmpty)
    }

    @Test("Stripe down: nothing is signed while the invoice cannot be read; a manual retry refuses; signed once Stripe answers")
    func stripeDownNoSignature() async throws {
        let w = try await BillingWorld.make()
        let now = UInt64(Date().timeIntervalSince1970)
        let invoice = try await w.openInvoice(customer: try await w.customer(), cents: 1_300, dueDate: now)
        try await w.awaitEvent("invoice.finalized", object: invoice)
        try await w.processor.runOnce(now: now)
        try await w.failStripe(count: 1_000)
        #expect(try await w.settle(invoice, now: now + 1, passes: 3) == .due)
        #expect(try await w.ledger.attempts(charge: try #require(try await w.ledger.charge(invoice: invoice)).id).isEmpty)
        let retry = ManualRetry(ledger: w.ledger, store: w.store, ingestor: w.ingestor, logger: Logger(label: "retry"))
        await #expect(throws: BillingError.self) { _ = try await retry.retry(invoice: invoice, now: now + 2) }
        try await w.failStripe(count: 0)
        #expect(try await w.settle(invoice, now: now + 3) == .settled)
        #expect(try await w.treasuryTransfers() == [13_000_000])
    }

    @Test("a paid invoice's transfer reversed by a deep reorg: payment.reversed to the merchant, a finding with the fix, Stripe untouched")
    func reversedAfterPaid() async throws {
        let w = try await BillingWorld.make()
        let now = UInt64(Date().timeIntervalSince1970)
        let invoice = try await w.openInvoice(customer: try await w.customer(), cents: 1_400, dueDate: now)
        try await w.awaitEvent("invoice.finalized", object: invoice)
        try await w.processor.runOnce(now: now)
        let snapshot = try await w.devnet.snapshot()
        #expect(try await w.settle(invoice, now: now + 1) == .settled)
        try await w.reporter.runOnce(now: now + 2)
        #expect(try await w.invoice(invoice)["status"] == "paid")
        try await w.devnet.revert(snapshot)
        try await w.devnet.mine(1)
        try await w.loop.runOnce(now: now + 3)
        #expect(try await w.ledger.charge(invoice: invoice)?.state == .reversed)
        try await w.reporter.runOnce(now: now + 4)
        try await w.reporter.runOnce(now: now + 5)
        let findings = try await w.store.findings(invoice: invoice)
        #expect(findings.map(\.kind) == [.paymentReversed])
        #expect(findings.first?.detail.contains("settled charge recollect --invoice \(invoice)") == true)
        try await w.dunning.runOnce(now: now + 6)
        #expect(try await w.outbox.messages(invoice: invoice).map(\.type).filter { $0 == "payment.reversed" }.count == 1)
        #expect(try await w.treasuryTransfers().isEmpty)
    }

    @Test("500 permanently failing Stripe events do not starve a newer one: it is processed on the next pass")
    func failingEventsDoNotStarve() async throws {
        let w = try await BillingWorld.make()
        let now = UInt64(Date().timeIntervalSince1970)
        for i in 0..<500 {  // malformed: an invoice event without an invoice id fails every time
            let bad: JSON = ["id": .string("evt_bad_\(i)"), "type": "invoice.finalized", "created": .number(String(i + 1)), "data": ["object": ["object": "invoice"]]]
            _ = try await w.store.insert(id: "evt_bad_\(i)", type: "invoice.finalized", objectID: "in_bad_\(i)", created: UInt64(i + 1),
                                         payload: Array(bad.text.utf8), now: now)
        }
        let invoice = try await w.openInvoice(customer: try await w.customer(), cents: 1_600, dueDate: now + 60)
        try await w.awaitEvent("invoice.finalized", object: invoice)
        for pass in 0..<3 { try await w.processor.runOnce(now: now + UInt64(pass) * 10) }
        #expect(try await w.ledger.charge(invoice: invoice) != nil, "the newer event was starved by the failing ones")
    }

    @Test("Payment Records mode: a reversed payment's record is reported refunded in Stripe, once")
    func reversedPaymentRecord() async throws {
        let w = try await BillingWorld.make(policy: BillingPolicy(markPaid: .paymentRecords))
        let now = UInt64(Date().timeIntervalSince1970)
        let invoice = try await w.openInvoice(customer: try await w.customer(), cents: 1_500, dueDate: now)
        try await w.awaitEvent("invoice.finalized", object: invoice)
        try await w.processor.runOnce(now: now)
        let snapshot = try await w.devnet.snapshot()
        #expect(try await w.settle(invoice, now: now + 1) == .settled)
        try await w.reporter.runOnce(now: now + 2)
        let record = try #require(try await w.store.markDetail(invoice, action: "payment_record"))
        try await w.devnet.revert(snapshot)
        try await w.devnet.mine(1)
        try await w.loop.runOnce(now: now + 3)
        #expect(try await w.ledger.charge(invoice: invoice)?.state == .reversed)
        try await w.reporter.runOnce(now: now + 4)
        try await w.reporter.runOnce(now: now + 5)
        let stored = try await w.stripe.get("/v1/payment_records/\(record)")
        #expect(stored["amount_refunded"]?["value"]?.int64Value == 1_500, "\(stored.text)")
        #expect(try await w.executedPosts(endingWith: "/report_refund") == 1)
        #expect(try await w.store.findings(invoice: invoice).first?.detail.contains("reported refunded") == true)
    }

    @Test("a subscription cancelled while the allowance stands: allowance.orphaned with an unsigned approve(spender, 0), once")
    func allowanceOrphaned() async throws {
        let w = try await BillingWorld.make()
        let customer = try await w.customer()
        let subscription: JSON = [
            "id": "sub_orphan", "object": "subscription", "customer": .string(customer), "status": "canceled",
            "metadata": ["settle_chain": "devnet", "settle_token": "usdc", "settle_wallet": .string(w.payer.address.checksummed)],
        ]
        let event: JSON = ["id": "evt_sub_deleted", "type": "customer.subscription.deleted", "created": 1, "data": ["object": subscription]]
        for _ in 0..<2 {  // delivered twice: told once
            _ = try await w.store.insert(id: "evt_sub_deleted", type: "customer.subscription.deleted", objectID: "sub_orphan", created: 1,
                                         payload: Array(event.text.utf8), now: 1)
            try await w.processor.runOnce(now: 2)
        }
        let messages = try await w.outbox.messages().filter { $0.type == "allowance.orphaned" }
        #expect(messages.count == 1)
        let message = try #require(messages.first)
        let data = try #require(try JSON(parsing: message.payload)["data"])
        #expect(data["allowance"]?["amount"]?.stringValue == "100000000")
        #expect(data["subscription"]?.stringValue == "sub_orphan")
        // The revoke is approve(spender, 0) from the customer's wallet to the token.
        let revoke = try #require(data["revoke"])
        let hex = try #require(revoke["transaction"]?["data"]?.stringValue)
        let calldata = try Hex.decode(hex)
        #expect(calldata == ERC20.approve(spender: w.spender.address, amount: .zero), "\(revoke.text)")
    }

    @Test("a new wallet in the subscription's metadata: the agreement follows, and the next pull comes from the new wallet")
    func walletChanged() async throws {
        let w = try await BillingWorld.make()
        let now = UInt64(Date().timeIntervalSince1970)
        let accounts = try await w.devnet.accounts()
        let newPayer = accounts[2]
        try await w.devnet.mint(token: w.token, to: newPayer.address, amount: 50_000_000)
        try await w.devnet.approve(token: w.token, owner: newPayer, spender: w.spender.address, amount: 50_000_000)
        let customer = try await w.customer(agreement: false)
        let product = try await w.stripe.post("/v1/products", ["name": "Pro"], idempotencyKey: "prod-\(customer)")
        let plan = try await w.stripe.post("/v1/plans", ["amount": 0, "currency": "usd", "interval": "month",
                                                         "product": .string(product["id"]?.stringValue ?? "")], idempotencyKey: "plan-\(customer)")
        let subscription = try await w.stripe.post("/v1/subscriptions", [
            "customer": .string(customer), "items": [["plan": .string(plan["id"]?.stringValue ?? "")]],
            "collection_method": "send_invoice", "days_until_due": 0,
            "metadata": ["settle_chain": "devnet", "settle_token": "USDC", "settle_wallet": .string(w.payer.address.checksummed)],
        ], idempotencyKey: "sub-\(customer)")
        let subscriptionID = try #require(subscription["id"]?.stringValue)
        _ = try await w.stripe.post("/v1/subscriptions/\(subscriptionID)", [
            "metadata": ["settle_wallet": .string(newPayer.address.checksummed)],
        ], idempotencyKey: "sub-update-\(subscriptionID)")
        try await w.awaitEvent("customer.subscription.updated", object: subscriptionID) {
            $0["metadata"]?["settle_wallet"]?.stringValue == newPayer.address.checksummed
        }
        try await w.processor.runOnce(now: now)
        let agreement = try #require(try await w.ledger.agreements().first { $0.subscription == subscriptionID })
        #expect(agreement.wallet == newPayer.address.checksummed)
        _ = try await w.stripe.post("/v1/invoiceitems", ["customer": .string(customer), "amount": 700, "currency": "usd",
                                                         "subscription": .string(subscriptionID)], idempotencyKey: "ii-\(subscriptionID)")
        let invoice = try await w.stripe.post("/v1/invoices", ["customer": .string(customer), "subscription": .string(subscriptionID),
                                                               "collection_method": "send_invoice", "due_date": .number(String(now + 5))],
                                              idempotencyKey: "in-\(subscriptionID)")
        let invoiceID = try #require(invoice["id"]?.stringValue)
        _ = try await w.stripe.post("/v1/invoices/\(invoiceID)/finalize", idempotencyKey: "fin-\(invoiceID)")
        try await w.poller.runOnce(now: now + 1)
        #expect(try await w.settle(invoiceID, now: now + 5) == .settled)
        #expect(try await w.devnet.balance(token: w.token, owner: newPayer.address) == 43_000_000)
    }

    @Test("audit: a subscription with an agreement left on charge_automatically is listed, and --fix switches it to send_invoice")
    func audit() async throws {
        let w = try await BillingWorld.make(webhooks: false)
        let customer = try await w.customer()
        let product = try await w.stripe.post("/v1/products", ["name": "Pro"], idempotencyKey: "prod-\(customer)")
        let plan = try await w.stripe.post("/v1/plans", ["amount": 0, "currency": "usd", "interval": "month",
                                                         "product": .string(product["id"]?.stringValue ?? "")], idempotencyKey: "plan-\(customer)")
        let subscription = try await w.stripe.post("/v1/subscriptions", [
            "customer": .string(customer), "items": [["plan": .string(plan["id"]?.stringValue ?? "")]],
        ], idempotencyKey: "sub-\(customer)")
        let id = try #require(subscription["id"]?.stringValue)
        let orphan = try await w.openInvoice(customer: try await w.customer(agreement: false), cents: 1_000,
                                             dueDate: UInt64(Date().timeIntervalSince1970) + 600)
        let audit = StripeAudit(ingestor: w.ingestor)
        let report = try await audit.run()
        #expect(report.chargeAutomatically.map(\.subscription) == [id])
        #expect(report.withoutAgreement.map(\.invoice) == [orphan])
        #expect(try await audit.fix(report) == [id])
        #expect(try await w.stripe.get("/v1/subscriptions/\(id)")["collection_method"] == "send_invoice")
        #expect(try await audit.run().chargeAutomatically.isEmpty)
    }

    @Test("a crash after Stripe was told but before the ledger moved: the next pass sees our payment and pays nothing twice")
    func crashAfterMarkingPaid() async throws {
        let w = try await BillingWorld.make()
        let now = UInt64(Date().timeIntervalSince1970)
        let invoice = try await w.openInvoice(customer: try await w.customer(), cents: 1_300, dueDate: now + 5)
        try await w.awaitEvent("invoice.finalized", object: invoice)
        try await w.processor.runOnce(now: now)
        #expect(try await w.settle(invoice, now: now + 5) == .settled)
        let charge = try #require(try await w.ledger.charge(invoice: invoice))
        let attempt = try #require(try await w.ledger.settlingAttempt(charge: charge.id))
        // What a killed process had already sent, with the keys the reporter derives:
        _ = try await w.stripe.post("/v1/invoices/\(invoice)", ["metadata": ["settle_tx_hash": .string(attempt.transactionID)]],
                                    idempotencyKey: "settle-\(invoice)-metadata-\(attempt.transactionID)")
        _ = try await w.stripe.post("/v1/invoices/\(invoice)/pay", ["paid_out_of_band": true], idempotencyKey: "settle-\(invoice)-pay")
        let report = try await w.reporter.runOnce(now: now + 6)
        #expect(report.alreadyPaid == 1 && report.marked == 0)
        #expect(try await w.executedPosts(endingWith: "/pay") == 1)
        #expect(try await w.ledger.charge(invoice: invoice)?.state == .reported)
        #expect(try await w.store.findings(invoice: invoice).isEmpty)  // ours, not a double payment
    }

    @Test("a crash between report_payment and attach_payment: the retry replays the same record and attaches it once")
    func crashBetweenRecordAndAttach() async throws {
        let w = try await BillingWorld.make(policy: BillingPolicy(markPaid: .paymentRecords))
        let now = UInt64(Date().timeIntervalSince1970)
        let invoice = try await w.openInvoice(customer: try await w.customer(), cents: 1_400, dueDate: now + 5)
        try await w.awaitEvent("invoice.finalized", object: invoice)
        try await w.processor.runOnce(now: now)
        #expect(try await w.settle(invoice, now: now + 5) == .settled)
        // Stripe goes down just as the record is to be attached (both tries of the client): the record exists, the
        // invoice is still open, the charge stays settled.
        try await w.failStripe(count: 2, path: "/v1/invoices/\(invoice)/attach_payment")
        #expect(try await w.reporter.runOnce(now: now + 6).failed == 1)
        #expect(try await w.ledger.charge(invoice: invoice)?.state == .settled)
        #expect(try await w.invoice(invoice)["status"] == "open")
        // Later, at another time: the same report_payment request is replayed (not a second record), then attached.
        #expect(try await w.reporter.runOnce(now: now + 600).marked == 1)
        #expect(try await w.executedPosts(endingWith: "/report_payment") == 1)
        #expect(try await w.executedPosts(endingWith: "/attach_payment") == 1)
        #expect(try await w.invoice(invoice)["status"] == "paid")
    }
}
