import Logging
import SettleCore
import Settlement

/// Tells Stripe what happened on chain, once it is final: marks each settled charge's invoice paid (by
/// `paid_out_of_band` or a Payment Record, as configured) with the chain, transaction hash, wallet, token and token
/// amount as metadata, then moves the charge to `reported`. Also marks invoices uncollectible when Settle gave up.
///
/// Exactly once: only `settled` charges are considered (never before finality); the invoice is read first and an
/// invoice Stripe already shows paid is not touched; every POST carries an idempotency key derived from the invoice,
/// so a retry or a crash between the POST and the ledger move repeats the same request, never a second payment.
public struct StripeReporter: Sendable {
    public let ledger: Ledger
    public let store: BillingStore
    public let stripe: StripeClient
    public let policy: BillingPolicy
    public let logger: Logger

    public init(ledger: Ledger, store: BillingStore, stripe: StripeClient, policy: BillingPolicy = BillingPolicy(), logger: Logger) {
        self.ledger = ledger
        self.store = store
        self.stripe = stripe
        self.policy = policy
        self.logger = logger
    }

    public struct Report: Hashable, Sendable {
        public var marked = 0
        public var alreadyPaid = 0
        public var markedUncollectible = 0
        public var failed = 0
    }

    @discardableResult
    public func runOnce(now: UInt64) async throws -> Report {
        var report = Report()
        for charge in try await ledger.charges(in: [.settled]) where !NativeInvoice.isNative(charge.invoice) {  // Settle's own: `NativeReporter`
            do {
                switch try await markPaid(charge, now: now) {
                case true: report.marked += 1
                case false: report.alreadyPaid += 1
                }
            } catch {
                report.failed += 1
                logger.warning("invoice not marked paid yet; retried next pass", metadata: ["invoice.id": "\(charge.invoice)", "error": "\(error)"])
            }
        }
        // A transfer gone after "paid": a finding (once per reversal) naming the vanished transaction and what to do.
        for charge in try await ledger.charges(in: [.reversed]) where !NativeInvoice.isNative(charge.invoice) {
            guard let attempt = try await ledger.settlingAttempt(charge: charge.id),
                  !(try await store.marked(charge.invoice, action: "reversed \(attempt.transactionID)")) else { continue }
            let marked = try await store.marked(charge.invoice, action: "paid")
            // Payment Records mode: the record of our payment is reported refunded (the reorg took the money back).
            var told = false
            if let recordID = try await store.markDetail(charge.invoice, action: "payment_record") {
                let reversedAt = try await ledger.lastMove(charge.id, to: .reversed) ?? now
                _ = try await stripe.post("/v1/payment_records/\(recordID)/report_refund", [
                    "outcome": "refunded", "refunded": ["refunded_at": .number(String(reversedAt))],
                    "processor_details": ["type": "custom", "custom": ["refund_reference": .string("settle-reversal-\(attempt.transactionID)")]],
                ], idempotencyKey: "settle-\(charge.invoice)-reversal-\(attempt.transactionID)")
                told = true
            }
            try await store.record(.paymentReversed, invoice: charge.invoice,
                                   detail: "transfer \(attempt.transactionID) is gone from \(charge.terms.chain) (a reorg)"
                                       + (told ? "; its Payment Record is reported refunded in Stripe" : "")
                                       + (marked ? "; Stripe shows the invoice paid: re-open it there, then run `settled charge recollect --invoice \(charge.invoice)`"
                                               : "; run `settled charge recollect --invoice \(charge.invoice)` to send the same transaction again"),
                                   data: ["tx_hash": .string(attempt.transactionID), "chain": .string(charge.terms.chain)], now: now)
            try await store.mark(charge.invoice, action: "reversed \(attempt.transactionID)", detail: charge.reason, now: now)
            logger.critical("a paid invoice's transfer was reversed on chain", metadata: ["invoice.id": "\(charge.invoice)", "tx.hash": "\(attempt.transactionID)"])
        }
        // A final transfer that delivered something else: a finding (once), Stripe left unpaid.
        for charge in try await ledger.charges(in: [.mismatch]) where !(try await store.marked(charge.invoice, action: "mismatch")) {
            let attempt = try await ledger.settlingAttempt(charge: charge.id)
            try await store.record(.paymentMismatch, invoice: charge.invoice,
                                   detail: "\(charge.reason ?? "the final transfer does not match the charge"); Stripe left unpaid",
                                   data: attempt.map { ["tx_hash": .string($0.transactionID)] } ?? [:], now: now)
            try await store.mark(charge.invoice, action: "mismatch", detail: charge.reason, now: now)
            logger.error("payment mismatch: the invoice is left unpaid in Stripe", metadata: ["invoice.id": "\(charge.invoice)"])
        }
        if policy.markUncollectible {
            for charge in try await ledger.charges(in: [.uncollectible]) where !(try await store.marked(charge.invoice, action: "uncollectible")) {
                do {
                    let invoice = try StripeInvoice(json: try await stripe.get("/v1/invoices/\(charge.invoice)"))
                    if invoice.status == .open {
                        _ = try await stripe.post("/v1/invoices/\(charge.invoice)/mark_uncollectible", idempotencyKey: "settle-\(charge.invoice)-uncollectible")
                        report.markedUncollectible += 1
                    }
                    try await store.mark(charge.invoice, action: "uncollectible", detail: invoice.status.rawValue, now: now)
                } catch {
                    report.failed += 1
                    logger.warning("invoice not marked uncollectible yet", metadata: ["invoice.id": "\(charge.invoice)", "error": "\(error)"])
                }
            }
        }
        return report
    }

    /// Marks one settled charge's invoice paid.
    /// - Returns: true when Settle marked it now, false when Stripe already showed it paid.
    public func markPaid(_ charge: Charge, now: UInt64) async throws -> Bool {
        guard charge.state == .settled else { throw BillingError(.invalidInput, "charge of \(charge.invoice) is \(charge.state.rawValue), not settled") }
        guard let attempt = try await ledger.settlingAttempt(charge: charge.id), let agreement = try await ledger.agreement(id: charge.agreement) else {
            throw BillingError(.invalidInput, "settled charge of \(charge.invoice) has no included attempt")
        }
        let json = try await stripe.get("/v1/invoices/\(charge.invoice)")
        let invoice = try StripeInvoice(json: json)
        var log = logger
        log[metadataKey: "invoice.id"] = "\(charge.invoice)"
        log[metadataKey: "tx.hash"] = "\(attempt.transactionID)"
        switch invoice.status {
        case .paid:
            // A crash between attaching our Payment Record and noting it: take its id from the invoice's payments.
            if policy.markPaid == .paymentRecords, try await store.markDetail(charge.invoice, action: "payment_record") == nil,
               let record = json["payments"]?["data"]?.arrayValue?.compactMap({ $0["payment"]?["payment_record"]?.stringValue }).first {
                try await store.mark(charge.invoice, action: "payment_record", detail: record, now: now)
            }
            let markedByUs = try await store.marked(charge.invoice, action: "paid")
            let ours = markedByUs || invoice.metadata["settle_tx_hash"] == attempt.transactionID
            if !ours {
                try await store.record(.doublePayment, invoice: charge.invoice,
                                       detail: "Stripe shows the invoice paid by other means; Settle's transfer \(attempt.transactionID) also settled: refund one",
                                       data: ["tx_hash": .string(attempt.transactionID), "chain": .string(agreement.chain)], now: now)
                log.error("invoice paid twice: in Stripe and on chain")
            }
            try await ledger.transition(charge.id, from: .settled, to: .reported, reason: ours ? "already marked paid" : "paid elsewhere in Stripe too", now: now)
            return false
        case .void, .uncollectible:
            try await store.record(.paidAfterClose, invoice: charge.invoice,
                                   detail: "Settle's transfer \(attempt.transactionID) settled an invoice Stripe shows \(invoice.status.rawValue): refund or re-open it",
                                   data: ["tx_hash": .string(attempt.transactionID), "chain": .string(agreement.chain)], now: now)
            log.error("transfer settled an invoice closed in Stripe")
            try await ledger.transition(charge.id, from: .settled, to: .reported, reason: "invoice \(invoice.status.rawValue) in Stripe", now: now)
            return false
        case .draft:
            throw BillingError(.invalidInput, "invoice \(charge.invoice) is a draft in Stripe")
        case .open:
            break
        }
        guard invoice.amountRemaining == charge.amount.minorUnits, invoice.currency == charge.amount.currency else {
            try await store.record(.amountMismatch, invoice: charge.invoice,
                                   detail: "Stripe asks \(invoice.amountRemaining) \(invoice.currency); Settle collected \(charge.amount.minorUnits) \(charge.amount.currency)",
                                   now: now)
            throw BillingError(.invalidInput, "invoice \(charge.invoice): amount remaining differs from the settled charge")
        }
        let metadata: JSON = [
            "settle_chain": .string(charge.terms.chain), "settle_tx_hash": .string(attempt.transactionID), "settle_wallet": .string(charge.terms.wallet),
            "settle_token": .string(charge.terms.token), "settle_token_amount": .string(Self.decimal(charge.tokenAmount)),
            "settle_block": attempt.block.map { .string(String($0)) } ?? .null,
        ]
        // Metadata first (the invoice is still open, so it can be edited), then the payment; each with its own key.
        _ = try await stripe.post("/v1/invoices/\(charge.invoice)", ["metadata": metadata], idempotencyKey: "settle-\(charge.invoice)-metadata-\(attempt.transactionID)")
        switch policy.markPaid {
        case .paidOutOfBand:
            _ = try await stripe.post("/v1/invoices/\(charge.invoice)/pay", ["paid_out_of_band": true], idempotencyKey: "settle-\(charge.invoice)-pay")
        case .paymentRecords:
            // Every parameter comes from the ledger, never the clock: a retry after a crash must send the very same
            // request, or Stripe refuses the reused idempotency key.
            let settledAt = try await ledger.lastMove(charge.id, to: .settled) ?? charge.dueAt
            let initiatedAt = try await ledger.lastMove(charge.id, to: .signed) ?? settledAt
            let record = try await stripe.post("/v1/payment_records/report_payment", [
                "amount_requested": ["value": .number(String(charge.amount.minorUnits)), "currency": .string(charge.amount.currency.code.lowercased())],
                "initiated_at": .number(String(initiatedAt)),
                "customer_details": ["customer": .string(invoice.customer)],
                "payment_method_details": ["custom": ["display_name": .string("\(charge.terms.token) on \(charge.terms.chain)")]],
                "processor_details": ["type": "custom", "custom": ["payment_reference": .string(attempt.transactionID)]],
                "outcome": "guaranteed",
                "guaranteed": ["guaranteed_at": .number(String(settledAt))],
                "metadata": metadata,
            ], idempotencyKey: "settle-\(charge.invoice)-record")
            guard let recordID = record["id"]?.stringValue else { throw BillingError(.malformed, "report_payment answered without an id") }
            _ = try await stripe.post("/v1/invoices/\(charge.invoice)/attach_payment", ["payment_record": .string(recordID)],
                                      idempotencyKey: "settle-\(charge.invoice)-attach")
            try await store.mark(charge.invoice, action: "payment_record", detail: recordID, now: now)
        }
        CrashPoint.reach(.afterReport)
        try await store.mark(charge.invoice, action: "paid", detail: "\(policy.markPaid.rawValue) \(attempt.transactionID)", now: now)
        try await ledger.transition(charge.id, from: .settled, to: .reported, reason: policy.markPaid.rawValue, now: now)
        log.info("invoice marked paid", metadata: ["mode": "\(policy.markPaid.rawValue)"])
        return true
    }

    /// `1234500` with 6 decimals → `1.2345`.
    static func decimal(_ amount: TokenAmount) -> String {
        var digits = amount.baseUnits.description
        guard amount.decimals > 0 else { return digits }
        if digits.count <= amount.decimals { digits = String(repeating: "0", count: amount.decimals - digits.count + 1) + digits }
        var whole = String(digits.dropLast(amount.decimals))
        var fraction = String(digits.suffix(amount.decimals))
        while fraction.last == "0" { fraction.removeLast() }
        if whole.isEmpty { whole = "0" }
        return fraction.isEmpty ? whole : "\(whole).\(fraction)"
    }
}
