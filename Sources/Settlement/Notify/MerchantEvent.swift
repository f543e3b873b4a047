/// The events Settle sends to the merchant's webhook URL (the `type` of each delivered JSON body).
public enum MerchantEvent: String, Hashable, Sendable, CaseIterable {
    /// The transfer is final and matched the charge exactly (`data.tx_hash`, `data.chain`, `data.wallet`, …).
    case paymentSucceeded = "payment.succeeded"
    /// Not collectable at due time + 5 minutes (`data.reason`: `low_balance`, `low_allowance` or both).
    case paymentMissed = "payment.missed"
    /// Still not collectable at due time + 10 minutes.
    case paymentLate = "payment.late"
    /// The final transfer did not deliver exactly the charge's amount to the treasury (`data.reason` says what
    /// arrived, `data.tx_hash`); the charge is `mismatch` and the Stripe invoice is left unpaid.
    case paymentMismatch = "payment.mismatch"
    /// A settled payment's transfer is gone from the chain (a reorg deeper than the confirmation policy; `data.tx_hash`
    /// is the transfer that vanished). Stripe may still show the invoice paid; Settle collects again only when an
    /// operator says so.
    case paymentReversed = "payment.reversed"
    /// A pull was mined but reverted (funds or allowance moved after the pre-check); Settle retries on schedule.
    case paymentFailed = "payment.failed"
    /// A subscription was cancelled while the customer's allowance to our spender (or delegation to our delegate) is
    /// still above zero: `data.allowance`, and `data.revoke`, an unsigned transaction (approve 0 / SPL Revoke) the
    /// merchant can hand to the customer.
    case allowanceOrphaned = "allowance.orphaned"
    /// An upcoming invoice would not be collectable today (checked when Stripe creates it, ahead of the due date).
    case allowanceAtRisk = "allowance.at_risk"
    /// Past the auto-cancel window without funds: Settle stopped trying.
    case invoiceUncollectible = "invoice.uncollectible"
    /// Something needs a person: money moved for an invoice Stripe already closed, or an invoice has no agreement.
    case actionRequired = "action.required"
}
