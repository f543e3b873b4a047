/// Where a charge (one invoice) stands: DESIGN.md's payment state machine. The moves among the in-flight states
/// (`signed` … `unknown`, `cancel_requested`) are decided by `ChargeLifecycle` from chain evidence.
///
/// ```
/// ingested ─(due)─▶ due ─preflight─▶ awaiting_funds ─retry─▶ due
///                    └─ok─▶ signed ─▶ broadcast ─▶ included ─(final, matching)─▶ settled ─(Stripe marked)─▶ reported
/// included ─(reorged out)─▶ broadcast
/// signed/broadcast/included ─(every attempt PROVEN dead)─▶ due
///                           ─(landed, reverted, final)─▶ awaiting_funds
///                           ─(window closed, nothing proven, past the bound)─▶ unknown (alert; never re-signed)
///                           ─(cancel)─▶ cancel_requested ─▶ cancelled (all proven dead) | settled (one landed)
///                           ─(final, but not exactly the pinned amount arrived)─▶ mismatch (terminal)
/// settled / reported ─(the transfer is gone: reorg deeper than the policy)─▶ reversed ─(operator: recollect)─▶ signed
/// ingested/due/awaiting_funds ─▶ cancelled;   awaiting_funds ─(past the window)─▶ uncollectible
/// ```
public enum ChargeState: String, Hashable, Sendable, CaseIterable {
    case ingested, due
    case awaitingFunds = "awaiting_funds"
    case signed, broadcast, included, settled, reported, cancelled, uncollectible
    /// A transaction's window closed and no node proves whether it landed: an operator must look.
    case unknown
    /// Billing closed the invoice while a transaction of it could still land.
    case cancelRequested = "cancel_requested"
    /// The charge's final transaction did not deliver exactly the pinned amount to the treasury (a fee-on-transfer
    /// token, a token whose logs lie): terminal, the merchant is told, Stripe is left unpaid.
    case mismatch
    /// The transfer of a settled (or reported) charge is gone from the chain (a reorg deeper than the confirmation
    /// policy): the merchant is told; only an operator collects it again (`settled charge recollect`).
    case reversed

    /// The states a charge may move to from this one. Anything else is a bug, refused by the ledger.
    public var successors: Set<ChargeState> {
        switch self {
        case .ingested: [.due, .cancelled]
        case .due: [.awaitingFunds, .signed, .cancelled]
        case .awaitingFunds: [.due, .cancelled, .uncollectible]
        case .signed: [.broadcast, .included, .settled, .mismatch, .awaitingFunds, .due, .unknown, .cancelRequested]
        case .broadcast: [.included, .settled, .mismatch, .awaitingFunds, .due, .unknown, .cancelRequested]
        case .included: [.settled, .mismatch, .broadcast, .awaitingFunds, .due, .unknown, .cancelRequested]
        case .unknown: [.included, .settled, .mismatch, .broadcast, .awaitingFunds, .due, .cancelRequested]
        case .cancelRequested: [.cancelled, .settled, .mismatch]
        case .settled: [.reported, .reversed]
        case .reported: [.reversed]
        case .reversed: [.signed]  // an operator's recollect: the same signed bytes, sent again
        case .cancelled, .uncollectible, .mismatch: []
        }
    }

    /// True once nothing more will happen to the charge by itself (`reported` and `reversed` move only on chain
    /// evidence of a reversal or by an operator).
    public var isTerminal: Bool { successors.isEmpty || self == .reported || self == .reversed }

    /// True while money may still move: a transaction exists that could land.
    public var hasLiveAttempt: Bool { ChargeLifecycle.followedStates.contains(self) }
}

/// Why a charge waits for funds.
public struct FundsShortfall: OptionSet, Hashable, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let lowBalance = FundsShortfall(rawValue: 1)
    public static let lowAllowance = FundsShortfall(rawValue: 2)

    /// `low_balance`, `low_allowance`, or both joined by `+`.
    public var reason: String {
        [contains(.lowBalance) ? "low_balance" : nil, contains(.lowAllowance) ? "low_allowance" : nil].compactMap { $0 }.joined(separator: "+")
    }
}
