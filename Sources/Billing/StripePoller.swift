import Logging
import SettleCore
import Settlement

/// The safety net under the webhooks: lists every open `send_invoice` invoice and reconciles it, then looks up each
/// charge still open in the ledger that the list did not include (voided or paid while a webhook was lost). A lost
/// webhook costs one poll interval, not money. Also pre-checks charges coming due within the warning window.
public struct StripePoller: Sendable {
    public let ingestor: InvoiceIngestor

    public init(ingestor: InvoiceIngestor) {
        self.ingestor = ingestor
    }

    public struct Report: Hashable, Sendable {
        public var listed = 0
        public var created = 0
        public var cancelled = 0
        public var failed = 0
    }

    @discardableResult
    public func runOnce(now: UInt64) async throws -> Report {
        var report = Report()
        let open = try await ingestor.stripe.listAll("/v1/invoices", ["status": "open", "collection_method": "send_invoice"])
        var seen: Set<String> = []
        for object in open {
            report.listed += 1
            do {
                let invoice = try StripeInvoice(json: object)
                seen.insert(invoice.id)
                // Within the warning window the agreement is read once for the pre-check and the reconcile.
                let inWindow = invoice.dueAt > now && invoice.dueAt - now <= ingestor.policy.warnAhead && InvoiceIngestor.mayPrecheck(invoice)
                let terms = inWindow ? try await ingestor.agreementTerms(for: invoice) : nil
                switch try await ingestor.reconcile(invoice, terms: terms, now: now) {
                case .created: report.created += 1
                case .cancelled: report.cancelled += 1
                default: break
                }
                if inWindow { try await ingestor.precheck(invoice, terms: terms, now: now) }
            } catch {
                report.failed += 1
                ingestor.logger.warning("invoice not reconciled", metadata: ["invoice.id": "\(object["id"]?.stringValue ?? "?")", "error": "\(error)"])
            }
        }
        for charge in try await ingestor.ledger.charges(in: Ledger.quiescentStates) where !seen.contains(charge.invoice) {
            do {
                if case .cancelled = try await ingestor.reconcile(invoiceID: charge.invoice, now: now) { report.cancelled += 1 }
            } catch {
                report.failed += 1
                ingestor.logger.warning("invoice not reconciled", metadata: ["invoice.id": "\(charge.invoice)", "error": "\(error)"])
            }
        }
        return report
    }
}
