import Logging
import Settlement

/// An operator's "try again now" for one invoice (`POST /v1/charges/{invoice}/retry`, `settled retry`): the
/// invoice is read again from Stripe (its amount or terms may have changed), and a charge waiting for funds becomes
/// due at once. If Stripe cannot be read, nothing is retried: the invoice may have been paid or voided meanwhile.
public struct ManualRetry: Sendable {
    public let ledger: Ledger
    public let store: BillingStore
    public let ingestor: InvoiceIngestor
    public let logger: Logger

    public init(ledger: Ledger, store: BillingStore, ingestor: InvoiceIngestor, logger: Logger) {
        self.ledger = ledger
        self.store = store
        self.ingestor = ingestor
        self.logger = logger
    }

    /// The charge afterwards (nil when the invoice has none), with what billing found instead when there is none.
    public func retry(invoice: String, now: UInt64) async throws -> (charge: Charge?, findings: [String]) {
        _ = try StripeID.checked(invoice)  // before it reaches a Stripe URL path
        do {
            try await ingestor.reconcile(invoiceID: invoice, now: now)
        } catch let error as StripeError where error.status == 404 {
            if try await ledger.charge(invoice: invoice) == nil { return (nil, ["Stripe has no invoice \(invoice)"]) }
        } catch let error as StripeError {
            logger.warning("retry refused: the invoice could not be read from Stripe", metadata: ["invoice.id": "\(invoice)", "error": "\(error)"])
            throw BillingError(.unavailable, "not retried: Stripe could not be read (\(error)); the invoice may have been paid or voided meanwhile. Try again when Stripe answers.")
        } catch let error as BillingError {
            logger.warning("retry refused: the invoice could not be read from Stripe", metadata: ["invoice.id": "\(invoice)", "error": "\(error)"])
            if try await ledger.charge(invoice: invoice) == nil { return (nil, ["\(error)"]) }
            throw BillingError(.unavailable, "not retried: the invoice could not be read from Stripe (\(error))")
        }
        guard let charge = try await ledger.charge(invoice: invoice) else {
            return (nil, try await store.findings(invoice: invoice).map { "\($0.kind.rawValue): \($0.detail)" })
        }
        try await ledger.retryNow(charge.id, now: now)
        return (try await ledger.charge(id: charge.id), [])
    }
}
