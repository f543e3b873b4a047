/// Why a charge cannot be pulled now, beside short funds (`FundsShortfall`): what a node's refusal to run the pull
/// (EVM `eth_estimateGas` reverting, a Solana account state) means. Each waits on the retry schedule like
/// `low_balance`, gets the missed and late notices with its reason, and becomes uncollectible after the window —
/// costing no transaction fee while the cause holds.
public enum StopReason: String, Hashable, Sendable, CaseIterable {
    case lowBalance = "low_balance"
    case lowAllowance = "low_allowance"
    /// The token is paused (USDC-style `pause()`).
    case tokenPaused = "token_paused"
    /// The token refuses the payer (blocklisted).
    case payerBlocked = "payer_blocked"
    /// The token refuses the treasury.
    case treasuryBlocked = "treasury_blocked"
    /// The token refuses our spender.
    case spenderBlocked = "spender_blocked"
    /// A token account involved is frozen (Solana, or a token with per-account freezing).
    case accountFrozen = "account_frozen"
    /// The token cannot be pulled by a delegate at all (non-transferable, a transfer hook Settle does not run).
    case tokenUnsupported = "token_unsupported"
    /// The pull reverts for another reason.
    case reverted

    /// Classifies an EVM revert reason (the text after "execution reverted: ", lowercased or not). `blocked` answers,
    /// for a blocklist refusal, which party the token lists (nil when the token cannot be asked).
    public static func classify(revert message: String, blocked: (payer: Bool?, treasury: Bool?, spender: Bool?) = (nil, nil, nil)) -> StopReason {
        let text = message.lowercased()
        if text.contains("paused") { return .tokenPaused }
        if text.contains("blocklist") || text.contains("blacklist") || text.contains("blocked") {
            if blocked.payer == true { return .payerBlocked }
            if blocked.treasury == true { return .treasuryBlocked }
            if blocked.spender == true { return .spenderBlocked }
            return .reverted
        }
        if text.contains("frozen") { return .accountFrozen }
        if text.contains("allowance") { return .lowAllowance }
        if text.contains("balance") { return .lowBalance }
        return .reverted
    }
}
