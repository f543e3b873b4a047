import SettleCore

/// What a final, successful EVM pull delivered, decided from the receipt's Transfer logs and the treasury's
/// balance across the block. "Nothing moved" (a token that returns `false`; the charge may be pulled again) needs
/// positive evidence: the balances must be readable and agree with the logs. A node that keeps no state that old
/// leaves only the logs, and a transaction with no Transfer log then cannot be told from one whose token moved
/// money without logging it: that is a mismatch for a person to look at, never a reason to pull again.
public enum ArrivalRule {
    /// The treasury's `balanceOf` across the block against the block's Transfer logs into and out of it.
    public enum BalanceCheck: Hashable, Sendable {
        case agrees
        case disagrees(String)
        case unavailable
    }

    public enum Verdict: Hashable, Sendable {
        /// Exactly the amount (or, grossed up for a fee, at most one base unit more) from the payer to the treasury.
        case exact
        /// Provably nothing moved: a failed pull, like a revert.
        case nothingMoved
        /// Something else; the words become the charge's `mismatch` reason.
        case other(String)
    }

    /// - Parameters:
    ///   - tokenTransfers: Transfer logs of the charge's token in the receipt (any parties).
    ///   - received: their sum from the payer to the treasury.
    ///   - grossedUp: the pull was grossed up for a transfer fee (the fee's rounding may add one base unit).
    public static func decide(tokenTransfers: Int, received: UInt256, amount: UInt256, grossedUp: Bool, balances: BalanceCheck,
                              describe: (UInt256) -> String) -> Verdict {
        if tokenTransfers == 0 {
            switch balances {
            case .agrees: return .nothingMoved
            case .disagrees(let what): return .other(what)
            case .unavailable:
                return .other("the final transaction carries no Transfer of the token and the node keeps no state to show what moved")
            }
        }
        let exact = grossedUp ? received >= amount && received - amount <= .one : received == amount
        guard exact else { return .other(describe(received)) }
        if case .disagrees(let what) = balances { return .other(what) }
        return .exact
    }
}
