import SettleCore
import Settlement

extension InvoiceIngestor {
    /// Collect-now for a draft invoice (a prorated upgrade, say): sets its due date to now + 2 s with
    /// `send_invoice`, finalizes it with automatic collection left off, and ingests it, so the charge is due at
    /// once. An invoice already open is ingested as it is (and made due now if it waits for funds).
    /// - Returns: the charge's id, or the reason it was not collected.
    public func collectNow(invoiceID: String, now: UInt64) async throws -> Outcome {
        let invoice = try StripeInvoice(json: try await stripe.get("/v1/invoices/\(try StripeID.checked(invoiceID))"))
        switch invoice.status {
        case .draft:
            _ = try await stripe.post("/v1/invoices/\(invoiceID)", [
                "collection_method": "send_invoice", "due_date": .number(String(now + 2)), "auto_advance": false,
            ], idempotencyKey: "settle-\(invoiceID)-collect-now-due")
            _ = try await stripe.post("/v1/invoices/\(invoiceID)/finalize", ["auto_advance": false],
                                      idempotencyKey: "settle-\(invoiceID)-collect-now-finalize")
            return try await reconcile(invoiceID: invoiceID, now: now)
        case .open:
            let outcome = try await reconcile(invoice, now: now)
            if let charge = try await ledger.charge(invoice: invoiceID) { try await ledger.retryNow(charge.id, now: now) }
            return outcome
        case .paid, .void, .uncollectible:
            throw BillingError(.invalidInput, "invoice \(invoiceID) is \(invoice.status.rawValue): nothing to collect")
        }
    }
}
