import Billing
import EVM
import Foundation
import SettleCore
import Settlement
import TestSupport
import Testing
import Transport

/// Invoice to payment, end to end: localstripe (real HTTP, signed webhooks) → Settle's webhook server → ledger →
/// executor on the py-evm devnet → finality → Stripe marked paid → merchant webhooks, with an injected clock.
@Suite("Stripe billing end to end (localstripe, py-evm devnet, Hummingbird)", .serialized)
struct BillingEndToEndTests {
    @Test("invoice finalized → charged once → final → Stripe shows paid out of band with our metadata; merchant told, signed")
    func paidOutOfBand() async throws {
        let w = try await BillingWorld.make()
        let now = UInt64(Date().timeIntervalSince1970)
        let customer = try await w.customer()
        let invoice = try await w.openInvoice(customer: customer, cents: 2_500, dueDate: now + 3_600)
        try await w.awaitEvent("invoice.finalized", object: invoice)
        try await w.processor.runOnce(now: now)
        let charge = try #require(try await w.ledger.charge(invoice: invoice))
        #expect(charge.state == .ingested && charge.dueAt == now + 3_600 && charge.amount.minorUnits == 2_500)
        #expect(charge.tokenAmount == TokenAmount(baseUnits: 25_000_000, decimals: 6))

        // Not due yet: nothing moves. Due: pulled; mined but not final: Stripe is not told.
        try await w.loop.runOnce(now: now)
        #expect(try await w.treasuryTransfers().isEmpty)
        try await w.loop.runOnce(now: now + 3_600)
        try await w.loop.runOnce(now: now + 3_600)
        #expect(try await w.ledger.charge(invoice: invoice)?.state == .included)
        try await w.reporter.runOnce(now: now + 3_600)
        #expect(try await w.invoice(invoice)["status"] == "open")
        #expect(try await w.executedPosts(endingWith: "/pay") == 0)

        #expect(try await w.settle(invoice, now: now + 3_601) == .settled)
        try await w.reporter.runOnce(now: now + 3_602)
        try await w.reporter.runOnce(now: now + 3_603)  // again: nothing more
        let paid = try await w.invoice(invoice)
        let attempt = try #require(try await w.ledger.settlingAttempt(charge: charge.id))
        #expect(paid["status"] == "paid" && paid["paid_out_of_band"] == true)
        #expect(paid["metadata"]?["settle_tx_hash"] == .string(attempt.transactionID))
        #expect(paid["metadata"]?["settle_chain"] == "devnet" && paid["metadata"]?["settle_token"] == "USDC")
        #expect(paid["metadata"]?["settle_wallet"] == .string(w.payer.address.checksummed))
        #expect(paid["metadata"]?["settle_token_amount"] == "25")
        #expect(try await w.ledger.charge(invoice: invoice)?.state == .reported)
        #expect(try await w.executedPosts(endingWith: "/pay") == 1)
        #expect(try await w.treasuryTransfers() == [25_000_000])

        // invoice.paid comes back from Stripe: processed, changes nothing.
        try await w.awaitEvent("invoice.paid", object: invoice)
        try await w.processor.runOnce(now: now + 3_604)
        #expect(try await w.ledger.charge(invoice: invoice)?.state == .reported)

        try await w.dunning.runOnce(now: now + 3_605)
        #expect(try await w.deliverer.runOnce(now: now + 3_605).delivered == 1)
        let delivered = try #require(w.server.received.withLock { $0.first })
        let body = try JSON(parsing: delivered.body)
        #expect(body["type"] == "payment.succeeded" && body["data"]?["tx_hash"] == .string(attempt.transactionID))
        #expect(throws: Never.self) {
            try WebhookSignature.verify(payload: delivered.body, header: delivered.signature ?? "", secrets: [BillingWorld.merchantSecret], now: now + 3_605)
        }
    }

    @Test("Payment Records mode: report_payment + attach_payment, once, with the transaction as the payment reference")
    func paymentRecords() async throws {
        let w = try await BillingWorld.make(policy: BillingPolicy(markPaid: .paymentRecords))
        let now = UInt64(Date().timeIntervalSince1970)
        let invoice = try await w.openInvoice(customer: try await w.customer(), cents: 1_999, dueDate: now + 10)
        try await w.awaitEvent("invoice.finalized", object: invoice)
        try await w.processor.runOnce(now: now)
        #expect(try await w.settle(invoice, now: now + 10) == .settled)
        try await w.reporter.runOnce(now: now + 11)
        try await w.reporter.runOnce(now: now + 12)
        let paid = try await w.invoice(invoice)
        #expect(paid["status"] == "paid" && paid["paid_out_of_band"] != true)
        let records = paid["payments"]?["data"]?.arrayValue ?? []
        #expect(records.count == 1)
        #expect(try await w.executedPosts(endingWith: "/report_payment") == 1)
        #expect(try await w.executedPosts(endingWith: "/attach_payment") == 1)
        let charge = try #require(try await w.ledger.charge(invoice: invoice))
        let attempt = try #require(try await w.ledger.settlingAttempt(charge: charge.id))
        let recordID = try #require(records.first?["payment"]?["payment_record"]?.stringValue ?? records.first?["payment_record"]?.stringValue)
        let record = try await w.stripe.get("/v1/payment_records/\(recordID)")
        #expect(record["processor_details"]?["custom"]?["payment_reference"] == .string(attempt.transactionID))
        #expect(record["metadata"]?["settle_tx_hash"] == .string(attempt.transactionID))
    }

    @Test("low balance: missed at +5 min and late at +10 min (injected clock), each saying why; top-up → paid at the next check")
    func lowBalanceThenTopUp() async throws {
        let w = try await BillingWorld.make(balance: 1_000_000)  // $1 held, $25 due
        let now = UInt64(Date().timeIntervalSince1970)
        let invoice = try await w.openInvoice(customer: try await w.customer(), cents: 2_500, dueDate: now + 60)
        try await w.awaitEvent("invoice.finalized", object: invoice)
        try await w.processor.runOnce(now: now)
        let due = now + 60
        try await w.loop.runOnce(now: due)
        let waiting = try #require(try await w.ledger.charge(invoice: invoice))
        #expect(waiting.state == .awaitingFunds && waiting.reason == "low_balance" && waiting.nextAttemptAt == due + 600)
        for t in stride(from: due, through: due + 540, by: 60) { try await w.loop.runOnce(now: t) }
        for t in stride(from: due, through: due + 600, by: 30) { try await w.dunning.runOnce(now: t) }
        // Warned when Stripe finalized it (the wallet was already short), then missed and late on time.
        let notices = try await w.outbox.messages(invoice: invoice)
        #expect(notices.map(\.type) == ["allowance.at_risk", "payment.missed", "payment.late"])
        #expect(notices.dropFirst().map(\.createdAt) == [due + 300, due + 600])
        #expect(notices.allSatisfy { (try? JSON(parsing: $0.payload)["data"]?["reason"]) == "low_balance" })
        #expect(try await w.treasuryTransfers().isEmpty)

        try await w.devnet.mint(token: w.token, to: w.payer.address, amount: 100_000_000)
        try await w.loop.runOnce(now: due + 599)  // the re-check is every 10 minutes: not yet
        #expect(try await w.ledger.charge(invoice: invoice)?.state == .awaitingFunds)
        #expect(try await w.settle(invoice, now: due + 600) == .settled)
        try await w.reporter.runOnce(now: due + 601)
        #expect(try await w.invoice(invoice)["status"] == "paid")
        #expect(try await w.treasuryTransfers() == [25_000_000])
    }

    @Test("voided before due: the charge is cancelled and never pulled")
    func voidedBeforeDue() async throws {
        let w = try await BillingWorld.make()
        let now = UInt64(Date().timeIntervalSince1970)
        let invoice = try await w.openInvoice(customer: try await w.customer(), cents: 5_000, dueDate: now + 86_400)
        try await w.awaitEvent("invoice.finalized", object: invoice)
        try await w.processor.runOnce(now: now)
        #expect(try await w.ledger.charge(invoice: invoice)?.state == .ingested)
        _ = try await w.stripe.post("/v1/invoices/\(invoice)/void", idempotencyKey: "void-\(invoice)")
        try await w.awaitEvent("invoice.voided", object: invoice)
        try await w.processor.runOnce(now: now + 1)
        #expect(try await w.ledger.charge(invoice: invoice)?.state == .cancelled)
        try await w.loop.runOnce(now: now + 86_400)
        try await w.devnet.mine(3)
        try await w.loop.runOnce(now: now + 86_401)
        #expect(try await w.treasuryTransfers().isEmpty)
    }

    @Test("a webhook replayed 5 times is stored once and charges once; a bad or stale signature gets 400 and stores nothing")
    func replaysAndSignatures() async throws {
        let w = try await BillingWorld.make()
        let now = UInt64(Date().timeIntervalSince1970)
        let invoice = try await w.openInvoice(customer: try await w.customer(), cents: 1_500, dueDate: now + 5)
        let event = try await w.awaitEvent("invoice.finalized", object: invoice)
        for _ in 0..<5 {
            let t = UInt64(Date().timeIntervalSince1970)
            let response = try await w.devnet.http.execute(HTTPRequest(url: w.server.url("/webhooks/stripe"), method: .post, headers: [
                ("Content-Type", "application/json"),
                ("Stripe-Signature", WebhookSignature.header(payload: event.payload, secret: BillingWorld.webhookSecret, timestamp: t)),
            ], body: event.payload))
            #expect(response.status == 200)
            #expect(try JSON(parsing: response.body)["duplicate"] == true)
        }
        #expect(try await w.store.allEvents().filter { $0.id == event.id }.count == 1)  // (localstripe's own later events may still arrive)
        for _ in 0..<3 { try await w.processor.runOnce(now: now) }
        #expect(try await w.settle(invoice, now: now + 5) == .settled)
        #expect(try await w.treasuryTransfers() == [15_000_000])

        // A new event id, refused for its signature: wrong secret, stale, in the future, missing, and garbage.
        var forged = String(decoding: event.payload, as: UTF8.self)
        forged = forged.replacingOccurrences(of: event.id, with: "evt_forged_1")
        let body = Array(forged.utf8)
        let t = UInt64(Date().timeIntervalSince1970)
        let headers: [String?] = [
            WebhookSignature.header(payload: body, secret: "whsec_wrong", timestamp: t),
            WebhookSignature.header(payload: body, secret: BillingWorld.webhookSecret, timestamp: t - 301),
            WebhookSignature.header(payload: body, secret: BillingWorld.webhookSecret, timestamp: t + 400),
            nil, "t=abc,v1=zz",
        ]
        for header in headers {
            var list: [(name: String, value: String)] = [("Content-Type", "application/json")]
            if let header { list.append(("Stripe-Signature", header)) }
            let response = try await w.devnet.http.execute(HTTPRequest(url: w.server.url("/webhooks/stripe"), method: .post, headers: list, body: body))
            #expect(response.status == 400)
        }
        #expect(try await w.store.allEvents().contains { $0.id == "evt_forged_1" } == false)
        // A valid signature over a body that is not an event: 400, nothing stored.
        let junk = Array(#"{"id": "evt_junk_1", "hello": "world"}"#.utf8)
        let response = try await w.devnet.http.execute(HTTPRequest(url: w.server.url("/webhooks/stripe"), method: .post, headers: [
            ("Stripe-Signature", WebhookSignature.header(payload: junk, secret: BillingWorld.webhookSecret, timestamp: t)),
        ], body: junk))
        #expect(response.status == 400)
        #expect(try await w.store.allEvents().contains { $0.id == "evt_junk_1" } == false)
    }

    @Test("Stripe down for a while: events wait in the inbox, marking paid waits; nothing lost, paid once when it returns")
    func stripeDown() async throws {
        let w = try await BillingWorld.make()
        let now = UInt64(Date().timeIntervalSince1970)
        let invoice = try await w.openInvoice(customer: try await w.customer(), cents: 3_000, dueDate: now + 5)
        try await w.awaitEvent("invoice.finalized", object: invoice)
        try await w.failStripe(count: 1_000)
        let down = try await w.processor.runOnce(now: now)
        #expect(down.failed >= 1)  // customer.* and invoiceitem.* events need no Stripe call and are processed
        #expect(try await w.ledger.charge(invoice: invoice) == nil)
        try await w.failStripe(count: 0)
        try await w.processor.runOnce(now: now + 1)
        #expect(try await w.ledger.charge(invoice: invoice)?.state == .ingested)
        #expect(try await w.settle(invoice, now: now + 5) == .settled)
        try await w.failStripe(count: 1_000)
        #expect(try await w.reporter.runOnce(now: now + 6).failed == 1)
        #expect(try await w.ledger.charge(invoice: invoice)?.state == .settled)
        try await w.failStripe(count: 0)
        #expect(try await w.reporter.runOnce(now: now + 7).marked == 1)
        #expect(try await w.invoice(invoice)["status"] == "paid")
        #expect(try await w.executedPosts(endingWith: "/pay") == 1)
        #expect(try await w.store.pendingEvents().filter { $0.objectID == invoice && $0.type == "invoice.finalized" }.isEmpty)
    }

    @Test("lost webhooks: the poll alone creates the charge, and cancels it when the invoice is voided")
    func pollSafetyNet() async throws {
        let w = try await BillingWorld.make(webhooks: false)
        let now = UInt64(Date().timeIntervalSince1970)
        let customer = try await w.customer()
        let invoice = try await w.openInvoice(customer: customer, cents: 4_200, dueDate: now + 600)
        let noAgreement = try await w.openInvoice(customer: try await w.customer(agreement: false), cents: 1_000, dueDate: now + 600)
        let tiny = try await w.openInvoice(customer: customer, cents: 99, dueDate: now + 600)
        let report = try await w.poller.runOnce(now: now)
        #expect(report.created == 1)
        #expect(try await w.ledger.charge(invoice: invoice)?.state == .ingested)
        #expect(try await w.ledger.charge(invoice: noAgreement) == nil)
        #expect(try await w.ledger.charge(invoice: tiny) == nil)
        let findings = try await w.store.findings()
        #expect(findings.contains { $0.invoice == noAgreement && $0.kind == .noAgreement })
        #expect(findings.contains { $0.invoice == tiny && $0.kind == .belowMinimum })
        #expect(try await w.outbox.messages(invoice: noAgreement).map(\.type) == ["action.required"])
        _ = try await w.stripe.post("/v1/invoices/\(invoice)/void", idempotencyKey: "void-\(invoice)")
        #expect(try await w.poller.runOnce(now: now + 1).cancelled == 1)
        #expect(try await w.ledger.charge(invoice: invoice)?.state == .cancelled)
    }

    @Test("7 days past due without funds: uncollectible in Settle and in Stripe, merchant told")
    func uncollectibleAfterWindow() async throws {
        let w = try await BillingWorld.make(allowance: 0)
        let now = UInt64(Date().timeIntervalSince1970)
        let invoice = try await w.openInvoice(customer: try await w.customer(), cents: 2_000, dueDate: now + 5)
        try await w.awaitEvent("invoice.finalized", object: invoice)
        try await w.processor.runOnce(now: now)
        try await w.loop.runOnce(now: now + 5)
        #expect(try await w.ledger.charge(invoice: invoice)?.reason == "low_allowance")
        try await w.dunning.runOnce(now: now + 5 + 7 * 86_400)
        #expect(try await w.ledger.charge(invoice: invoice)?.state == .uncollectible)
        #expect(try await w.reporter.runOnce(now: now + 6 + 7 * 86_400).markedUncollectible == 1)
        #expect(try await w.invoice(invoice)["status"] == "uncollectible")
        #expect(try await w.outbox.messages(invoice: invoice).map(\.type)
                == ["allowance.at_risk", "payment.missed", "payment.late", "invoice.uncollectible"])
        try await w.reporter.runOnce(now: now + 7 + 7 * 86_400)
        #expect(try await w.executedPosts(endingWith: "/mark_uncollectible") == 1)
    }

    @Test("collect-now: a draft (prorated upgrade) is due in 2 s, finalized without auto-collection, and charged at once")
    func collectNow() async throws {
        let w = try await BillingWorld.make()
        let now = UInt64(Date().timeIntervalSince1970)
        let draft = try await w.draftInvoice(customer: try await w.customer(), cents: 1_234, dueDate: nil)
        let outcome = try await w.ingestor.collectNow(invoiceID: draft, now: now)
        guard case .created = outcome else { Issue.record("collect-now gave \(outcome)"); return }
        let stripeSide = try await w.invoice(draft)
        #expect(stripeSide["status"] == "open" && stripeSide["auto_advance"] == false && stripeSide["collection_method"] == "send_invoice")
        #expect(stripeSide["due_date"]?.uint64Value == now + 2)
        let charge = try #require(try await w.ledger.charge(invoice: draft))
        #expect(charge.dueAt == now + 2)
        #expect(try await w.settle(draft, now: now + 2) == .settled)
        try await w.reporter.runOnce(now: now + 3)
        #expect(try await w.invoice(draft)["status"] == "paid")
    }

    @Test("allowance at risk: an upcoming invoice the wallet could not pay is reported once when Stripe creates it")
    func allowanceAtRisk() async throws {
        let w = try await BillingWorld.make(allowance: 1_000_000)
        let now = UInt64(Date().timeIntervalSince1970)
        let invoice = try await w.draftInvoice(customer: try await w.customer(), cents: 2_500, dueDate: now + 86_400)
        try await w.awaitEvent("invoice.created", object: invoice)
        try await w.processor.runOnce(now: now)
        let messages = try await w.outbox.messages(invoice: invoice)
        #expect(messages.map(\.type) == ["allowance.at_risk"])
        #expect(try JSON(parsing: messages[0].payload)["data"]?["reason"] == "low_allowance")
        _ = try await w.poller.runOnce(now: now + 1)
        #expect(try await w.outbox.messages(invoice: invoice).count == 1)
    }
}
