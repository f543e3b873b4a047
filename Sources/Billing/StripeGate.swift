import Logging
import Settlement

/// The `CollectionGate` of Stripe invoices: before a charge is signed, its invoice is read again and reconciled
/// (voided, paid elsewhere or uncollectible → the charge is cancelled; a new amount or due date → re-priced; new
/// agreement metadata → re-pinned), and the charge is signed only if, after that, it is still due now (by the due
/// date Stripe shows) with the same amount and terms, and the invoice is open, `send_invoice`, asking exactly the
/// charge's amount (`mayCollect(_:after:invoice:now:)`). If Stripe cannot be read, nothing is signed: the charge is
/// tried again next pass.
public struct StripeGate: CollectionGate {
    public let ingestor: InvoiceIngestor
    public let logger: Logger

    public init(ingestor: InvoiceIngestor, logger: Logger) {
        self.ingestor = ingestor
        self.logger = logger
    }

    public func mayCollect(_ charge: Charge, now: UInt64) async -> Bool {
        var log = logger
        log[metadataKey: "invoice.id"] = "\(charge.invoice)"
        if NativeInvoice.isNative(charge.invoice) {
            // Settle's own invoice: nothing outside the ledger can have changed it. Collect while the charge is still
            // due on the terms it was read with.
            guard let after = try? await ingestor.ledger.charge(id: charge.id) else { return false }
            return after.state == .due && after.amount == charge.amount && after.terms == charge.terms && after.tokenAmount == charge.tokenAmount
        }
        do {
            let invoice = try StripeInvoice(json: try await ingestor.stripe.get("/v1/invoices/\(charge.invoice)"))
            try await ingestor.reconcile(invoice, now: now)
            if invoice.status == .open, invoice.collectionMethod != .sendInvoice {
                // Switched back to charging a card: Stripe collects it; pulling too would charge twice.
                try await ingestor.ledger.cancel(charge.id, reason: "the invoice is charge_automatically in Stripe: Stripe collects it", now: now)
            }
            guard let after = try await ingestor.ledger.charge(id: charge.id) else { return false }
            let verdict = Self.mayCollect(charge, after: after, invoice: invoice, now: now)
            if !verdict {
                log.info("not signed: the invoice changed in Stripe", metadata: [
                    "stripe.status": "\(invoice.status.rawValue)", "charge.state": "\(after.state.rawValue)",
                    "stripe.due_at": "\(invoice.dueAt)",
                ])
            }
            return verdict
        } catch {
            log.warning("not signed: the invoice could not be read from Stripe; tried again next pass", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// The gate's decision, without I/O: `charge` as it was picked to be collected, `after` as the ledger has it once
    /// the invoice Stripe shows now was reconciled. Signed only if the charge is still due now — a due date moved
    /// later in Stripe (its webhook not processed yet) waits for the new date — on the same amount and terms, and the
    /// invoice is open, `send_invoice`, and asks exactly the charge's amount in its currency.
    public static func mayCollect(_ charge: Charge, after: Charge, invoice: StripeInvoice, now: UInt64) -> Bool {
        let same = after.state == .due && after.amount == charge.amount && after.terms == charge.terms && after.tokenAmount == charge.tokenAmount
        let due = after.dueAt <= now && invoice.dueAt <= now
        let open = invoice.status == .open && invoice.collectionMethod == .sendInvoice && invoice.amountRemaining == charge.amount.minorUnits
            && invoice.currency == charge.amount.currency
        return same && due && open
    }
}
