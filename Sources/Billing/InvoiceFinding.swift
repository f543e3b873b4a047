/// Something Settle noticed about an invoice that keeps it from being collected as it stands.
public struct InvoiceFinding: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        /// $0 due: nothing to collect (info).
        case zeroAmount = "zero_amount"
        /// Under the minimum (default 1.00 of the currency): not collected; Stripe rolls it into the next (info).
        case belowMinimum = "below_minimum"
        /// No wallet, chain and token in the subscription's or customer's metadata (action).
        case noAgreement = "no_agreement"
        /// Agreement metadata that names an unknown chain or token, or an invalid wallet (action).
        case badAgreement = "bad_agreement"
        /// A subscription with an agreement that Stripe would charge to a card (action: `settled audit stripe --fix`).
        case chargeAutomatically = "charge_automatically"
        /// The invoice was voided, marked uncollectible or paid elsewhere while Settle's transfer was in flight (action).
        case closedWhileInFlight = "closed_while_in_flight"
        /// Settle's transfer settled an invoice that Stripe shows paid by other means (action: refund one).
        case doublePayment = "double_payment"
        /// Settle's transfer settled an invoice that Stripe shows void or uncollectible (action: refund or re-open).
        case paidAfterClose = "paid_after_close"
        /// Stripe's amount no longer matches the settled transfer (action).
        case amountMismatch = "amount_mismatch"
        /// Settle's final transfer delivered something else than the charge's amount (fee-on-transfer token, a
        /// token whose logs lie): the charge is `mismatch`, the invoice left unpaid (action: collect the rest or
        /// refund, and look at the token).
        case paymentMismatch = "payment_mismatch"
        /// A settled payment's transfer is gone from the chain (reorg): Stripe may show the invoice paid (action:
        /// re-open it in Stripe, then `settled charge recollect`).
        case paymentReversed = "payment_reversed"
        /// The invoice is not `send_invoice`: Stripe collects it itself (info).
        case notSendInvoice = "not_send_invoice"

        /// True when a person must act (the merchant is told by an `action.required` webhook).
        public var needsAction: Bool {
            switch self {
            case .zeroAmount, .belowMinimum, .notSendInvoice: false
            default: true
            }
        }
    }

    public var invoice: String
    public var kind: Kind
    public var detail: String
    public var firstSeen: UInt64
    public var lastSeen: UInt64
    public var resolvedAt: UInt64?
}
