import SettleCore

/// Where a checkout stands. The page drives it forward, but every step rests on evidence the server read itself: the
/// approval from the chain, the invoices from Stripe, the payment from the ledger.
public enum CheckoutStep: String, Sendable, CaseIterable {
    /// Waiting for the customer's approval transaction.
    case open
    /// An approval transaction was sent; waiting to read it in a block.
    case approving
    /// The chain shows the approval: the agreement is recorded with the wallet it proves.
    case approved
    /// Stripe's subscription is switched to Settle (send_invoice, settle_* metadata, the new price).
    case switched
    /// `pay_invoice_immediately`: the subscription's invoices are finalized due now and being charged.
    case charging
    /// Done: the subscription is paid by Settle (and, when asked, its invoices are paid).
    case complete
}

/// What a checkout found so far, stored with its session (JSON) and shown by its page.
public struct CheckoutProgress: Hashable, Sendable {
    public var step: CheckoutStep = .open
    public var chain: String?
    public var token: String?
    /// The approval transaction the page reported (hash or signature).
    public var transaction: String?
    /// What the chain proved: the paying wallet and the amount approved.
    public var wallet: String?
    public var approved: String?
    /// The subscription Settle collects (given, or created by the checkout).
    public var subscription: String?
    /// Invoices charged within the checkout.
    public var invoices: [String] = []
    /// The last refusal, for the customer (an approval that proves nothing usable).
    public var problem: String?

    public init() {}

    public var json: JSON {
        func text(_ value: String?) -> JSON { value.map { .string($0) } ?? .null }
        return ["step": .string(step.rawValue), "chain": text(chain), "token": text(token), "transaction": text(transaction),
                "wallet": text(wallet), "approved": text(approved), "subscription": text(subscription),
                "invoices": .array(invoices.map { .string($0) }), "problem": text(problem)]
    }

    /// Reads stored progress; anything unreadable is a corrupt row, never a guess.
    public init(json: JSON) throws(BillingError) {
        guard let step = json["step"]?.stringValue.flatMap(CheckoutStep.init(rawValue:)) else {
            throw BillingError(.malformed, "checkout progress without a known step")
        }
        self.step = step
        chain = json["chain"]?.stringValue
        token = json["token"]?.stringValue
        transaction = json["transaction"]?.stringValue
        wallet = json["wallet"]?.stringValue
        approved = json["approved"]?.stringValue
        subscription = json["subscription"]?.stringValue
        invoices = (json["invoices"]?.arrayValue ?? []).compactMap(\.stringValue)
        problem = json["problem"]?.stringValue
    }
}

/// The next thing a checkout's server does, decided from its progress alone (pure; `CheckoutService` carries it out).
public enum CheckoutAction: Hashable, Sendable {
    /// Nothing until the customer acts (connects a wallet, approves).
    case awaitApproval
    /// The session expired before an approval was proven: nothing more happens.
    case expired
    /// Read the approval transaction from the chain.
    case verifyApproval(chain: String, token: String, transaction: String)
    /// Record the agreement for the proven wallet, then switch the Stripe subscription.
    case switchSubscription
    /// Finalize the subscription's draft invoices due now, so they are charged.
    case chargeInvoices
    /// Read the charged invoices' state.
    case watchInvoices
    /// Nothing left to do but to say so (switched, and nothing to pay now).
    case finish
    case done
}

public enum CheckoutFlow {
    /// The action for `progress` at `now`. A session that expires before the approval is proven stops; once the chain
    /// shows the customer's approval, the checkout is finished whatever the clock says (the customer has signed).
    public static func action(_ progress: CheckoutProgress, expiresAt: UInt64, now: UInt64, payNow: Bool) -> CheckoutAction {
        switch progress.step {
        case .open:
            return now >= expiresAt ? .expired : .awaitApproval
        case .approving:
            guard now < expiresAt, let chain = progress.chain, let token = progress.token, let transaction = progress.transaction else {
                return now >= expiresAt ? .expired : .awaitApproval
            }
            return .verifyApproval(chain: chain, token: token, transaction: transaction)
        case .approved:
            return .switchSubscription
        case .switched:
            return payNow ? .chargeInvoices : .finish
        case .charging:
            return .watchInvoices
        case .complete:
            return .done
        }
    }

    /// The page reports an approval transaction: accepted while open or approving (a new one replaces one that
    /// proved nothing), refused once an approval is proven or the session expired.
    public static func report(_ progress: CheckoutProgress, chain: String, token: String, transaction: String, expiresAt: UInt64,
                              now: UInt64) -> CheckoutProgress? {
        guard now < expiresAt, progress.step == .open || progress.step == .approving else { return nil }
        var next = progress
        next.step = .approving
        next.chain = chain
        next.token = token
        next.transaction = transaction
        next.problem = nil
        return next
    }

    /// The approval's verdict applied: proven moves on with the chain's wallet; refused goes back to open with the
    /// reason; pending stays.
    public static func verified(_ progress: CheckoutProgress, wallet: String?, amount: String?, refusal: String?) -> CheckoutProgress {
        var next = progress
        if let wallet, let amount {
            next.step = .approved
            next.wallet = wallet
            next.approved = amount
            next.problem = nil
        } else if let refusal {
            next.step = .open
            next.problem = refusal
        }
        return next
    }
}

/// Whether a wallet can pay the next invoice, in the merchant guide's three cases (pure).
public enum PaymentReadiness: String, Sendable, CaseIterable {
    /// Balance and allowance both cover the amount.
    case allSet = "all_set"
    /// The allowance covers it; the balance does not.
    case topUp = "top_up"
    /// The allowance does not cover it (and the balance may not either).
    case raiseAllowance = "raise_allowance"

    public static func decide(balance: UInt256, allowance: UInt256, amount: UInt256) -> PaymentReadiness {
        if allowance < amount { return .raiseAllowance }
        return balance < amount ? .topUp : .allSet
    }

    /// What the customer does, in words.
    public func advice(balanceShort: Bool) -> String {
        switch self {
        case .allSet: "All set: the next payment will be taken from this wallet when it is due."
        case .topUp: "Top up the balance: the allowance covers the next payment, the wallet does not hold enough."
        case .raiseAllowance: balanceShort ? "Raise the allowance and top up the balance before the next payment."
            : "Raise the allowance: the merchant may not take the next payment yet."
        }
    }
}
