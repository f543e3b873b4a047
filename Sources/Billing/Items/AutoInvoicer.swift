import Logging
import SettleCore
import Settlement

/// Issues the renewals of agreements on subscription items: each pass asks `AutoInvoicing.due` for every agreement
/// and issues what is owed through `ItemBilling.issue` and `Ledger.issueInvoice`, which makes an invoice and its charge once per agreement and
/// period (so passes may repeat, overlap, crash or run on several daemons). The charges then go the way of every
/// charge: due at the period's boundary, pulled by the chain's executor.
public struct AutoInvoicer: Sendable {
    public let ledger: Ledger
    /// How an item's price becomes a token amount on a chain (decimals and today's rate).
    public let pricing: @Sendable (_ chain: String) -> Ledger.Pricing
    public let logger: Logger
    var billing: ItemBilling { ItemBilling(ledger: ledger, pricing: pricing) }

    public init(ledger: Ledger, pricing: @escaping @Sendable (_ chain: String) -> Ledger.Pricing, logger: Logger) {
        self.ledger = ledger
        self.pricing = pricing
        self.logger = logger
    }

    public struct Report: Hashable, Sendable {
        /// Invoices this pass issued.
        public var issued = 0
        /// Agreements skipped, with why (an interval or a token the configuration no longer knows).
        public var problems: [String] = []
    }

    /// One pass at `now`; at most `limit` periods per agreement (the rest next pass).
    public func runOnce(now: UInt64, limit: Int = 100) async throws -> Report {
        var report = Report()
        for (subscription, item) in try await ledger.itemSubscriptions() {
            guard let interval = item.billingInterval else {
                report.problems.append("item \(item.id): no usable interval")
                continue
            }
            // The off/on rule counts from a renewal turned on again; an item whose renewals were never off (on since
            // it was made) renews every period of a subscription dated before it was made (`starts_at`).
            let reenabled = item.autoInvoicingSince > item.createdAt
            let schedule = AutoInvoicing.Schedule(anchor: subscription.anchor, interval: interval, lastInvoiced: subscription.lastPeriod,
                                                  enabled: item.autoInvoicing,
                                                  enabledAt: reenabled ? max(item.autoInvoicingSince, subscription.anchor) : subscription.anchor)
            let due = AutoInvoicing.due(schedule, now: now, limit: limit)
            guard !due.isEmpty else { continue }
            guard let agreement = try await ledger.agreement(id: subscription.agreement) else { continue }
            for period in due {
                guard let at = BillingCalendar.boundary(anchor: subscription.anchor, interval: interval, index: period) else { break }
                let invoice: NativeInvoice, created: Bool
                do { (invoice, created) = try await billing.issue(agreement, item: item, period: period, dueAt: at, now: now) } catch let error as LedgerError
                    where error.code == .invalidInput {
                    report.problems.append("agreement \(agreement.id): \(error.message)")  // not priceable: the next agreement
                    break
                }
                if created {
                    report.issued += 1
                    logger.info("renewal invoiced", metadata: ["invoice.id": "\(invoice.id)", "item": "\(item.id)", "period": "\(period)",
                                                               "agreement": "\(agreement.id)", "due_at": "\(at)"])
                }
            }
        }
        return report
    }
}
