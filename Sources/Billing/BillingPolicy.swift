/// How Settle deals with Stripe.
///
/// Keys (`[stripe]` in the main config): `mark_paid` (`paid_out_of_band` or `payment_records`), `minimum_amount`
/// (whole currency units, default 1), `mark_uncollectible` (default true), `warn_ahead` (seconds, default 48 h).
public struct BillingPolicy: Hashable, Sendable {
    /// How an invoice is marked paid once its transfer is final.
    public enum MarkPaid: String, Hashable, Sendable, CaseIterable {
        /// `POST /v1/invoices/{id}/pay` with `paid_out_of_band=true` (API versions before 2026-05-27).
        case paidOutOfBand = "paid_out_of_band"
        /// `POST /v1/payment_records/report_payment`, then `POST /v1/invoices/{id}/attach_payment` (newer versions).
        case paymentRecords = "payment_records"
    }

    public var markPaid: MarkPaid
    /// Invoices under this many whole units of their currency are not collected (Stripe rolls them into the next).
    public var minimumAmount: UInt64
    /// Whether a charge that became uncollectible in Settle is marked uncollectible in Stripe too.
    public var markUncollectible: Bool
    /// How long before the due date a short wallet is reported (`allowance.at_risk`).
    public var warnAhead: UInt64

    public init(markPaid: MarkPaid = .paidOutOfBand, minimumAmount: UInt64 = 1, markUncollectible: Bool = true, warnAhead: UInt64 = 48 * 3_600) {
        self.markPaid = markPaid
        self.minimumAmount = minimumAmount
        self.markUncollectible = markUncollectible
        self.warnAhead = warnAhead
    }
}
