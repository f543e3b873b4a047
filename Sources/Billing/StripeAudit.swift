import SettleCore
import Settlement

/// Finds what would make Stripe and Settle disagree about who collects: subscriptions with an agreement that Stripe
/// would charge to a card (`charge_automatically`), and open `send_invoice` invoices without an agreement.
public struct StripeAudit: Sendable {
    public let ingestor: InvoiceIngestor

    public init(ingestor: InvoiceIngestor) {
        self.ingestor = ingestor
    }

    public struct Report: Hashable, Sendable {
        /// Subscriptions (id, customer) with an agreement whose invoices Stripe would charge to a card.
        public var chargeAutomatically: [(subscription: String, customer: String)] = []
        /// Open `send_invoice` invoices (id, customer, why) that name no usable agreement.
        public var withoutAgreement: [(invoice: String, customer: String, problem: String)] = []

        public static func == (lhs: Report, rhs: Report) -> Bool {
            lhs.chargeAutomatically.map { "\($0)" } == rhs.chargeAutomatically.map { "\($0)" }
                && lhs.withoutAgreement.map { "\($0)" } == rhs.withoutAgreement.map { "\($0)" }
        }

        public func hash(into hasher: inout Hasher) { hasher.combine(chargeAutomatically.count + withoutAgreement.count) }
    }

    /// Reads subscriptions and open invoices from Stripe.
    public func run() async throws -> Report {
        var report = Report()
        let known = Set(try await ingestor.ledger.agreements().compactMap(\.subscription))
        var customerTerms: [String: Bool] = [:]
        for subscription in try await ingestor.stripe.listAll("/v1/subscriptions", ["status": "all"]) {
            // Ids go into request paths below: only Stripe ids (letters, digits, _) are followed.
            guard let id = subscription["id"]?.stringValue, let customer = subscription["customer"]?.stringValue,
                  (try? StripeID.checked(id, "subscription id")) != nil, (try? StripeID.checked(customer, "customer id")) != nil,
                  subscription["status"]?.stringValue != "canceled",
                  subscription["collection_method"]?.stringValue ?? "charge_automatically" == "charge_automatically" else { continue }
            var hasAgreement = known.contains(id)
            if !hasAgreement, case .terms = AgreementTerms.read(StripeInvoice.strings(subscription["metadata"]), catalog: ingestor.catalog) {
                hasAgreement = true
            }
            if !hasAgreement {
                if customerTerms[customer] == nil {
                    let metadata = StripeInvoice.strings(try await ingestor.stripe.get("/v1/customers/\(customer)")["metadata"])
                    if case .terms = AgreementTerms.read(metadata, catalog: ingestor.catalog) { customerTerms[customer] = true } else { customerTerms[customer] = false }
                }
                hasAgreement = customerTerms[customer] == true
            }
            if hasAgreement { report.chargeAutomatically.append((id, customer)) }
        }
        for object in try await ingestor.stripe.listAll("/v1/invoices", ["status": "open", "collection_method": "send_invoice"]) {
            let invoice = try StripeInvoice(json: object)
            switch try await ingestor.agreementTerms(for: invoice) {
            case .terms: continue
            case .absent: report.withoutAgreement.append((invoice.id, invoice.customer, "no settle_chain/settle_token/settle_wallet metadata"))
            case .invalid(let problem): report.withoutAgreement.append((invoice.id, invoice.customer, problem))
            }
        }
        return report
    }

    /// Switches each subscription in `report.chargeAutomatically` to `send_invoice` (due `daysUntilDue` days after
    /// each invoice is finalized).
    /// - Returns: the subscriptions switched.
    public func fix(_ report: Report, daysUntilDue: Int = 0) async throws -> [String] {
        var fixed: [String] = []
        for item in report.chargeAutomatically {
            _ = try await ingestor.stripe.post("/v1/subscriptions/\(item.subscription)", [
                "collection_method": "send_invoice", "days_until_due": .number(String(daysUntilDue)),
            ], idempotencyKey: "settle-\(item.subscription)-send-invoice")
            fixed.append(item.subscription)
        }
        return fixed
    }
}
