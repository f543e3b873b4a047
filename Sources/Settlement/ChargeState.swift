/// Where a charge (one Stripe invoice) stands: DESIGN.md's payment state machine.
///
/// ```
/// ingested ─(due)─▶ due ─preflight─▶ awaiting_funds ─retry─▶ due
///                    └─ok─▶ signed ─▶ broadcast ─▶ included ─(final)─▶ settled ─(Stripe marked)─▶ reported
/// included ─(reorged out)─▶ broadcast        broadcast ─(provably dead)─▶ due
/// broadcast ─(mined but reverted: allowance or funds moved after preflight)─▶ awaiting_funds
/// any open state ─▶ cancelled;   awaiting_funds ─(past the window)─▶ uncollectible
/// ```
public enum ChargeState: String, Hashable, Sendable, CaseIterable {
    case ingested, due
    case awaitingFunds = "awaiting_funds"
    case signed, broadcast, included, settled, reported, cancelled, uncollectible

    /// The states a charge may move to from this one. Anything else is a bug, refused by the ledger.
    public var successors: Set<ChargeState> {
        switch self {
        case .ingested: [.due, .cancelled]
        case .due: [.awaitingFunds, .signed, .cancelled]
        case .awaitingFunds: [.due, .cancelled, .uncollectible]
        case .signed: [.broadcast, .due, .cancelled]
        case .broadcast: [.included, .due, .awaitingFunds, .cancelled]  // awaiting_funds: mined but reverted
        case .included: [.settled, .broadcast]
        case .settled: [.reported]
        case .reported, .cancelled, .uncollectible: []
        }
    }

    /// True once nothing more will happen to the charge.
    public var isTerminal: Bool { successors.isEmpty }

    /// True while money may still move: a transaction exists that could land.
    public var hasLiveAttempt: Bool { self == .signed || self == .broadcast || self == .included }
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
