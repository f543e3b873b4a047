import Settlement
import Solana

/// What the token accounts and the mint allow, decided without I/O before a Solana pull is signed: a reason to
/// wait (nothing is sent, no fee is paid), or what the transaction needs besides the transfer.
public enum SolanaPreflight {
    public enum Outcome: Hashable, Sendable {
        /// Sign the transfer; `createTreasuryAccount`: the treasury's token account is missing (created in the same
        /// transaction, idempotently); `memo`: the treasury's account requires a memo before incoming transfers.
        case proceed(createTreasuryAccount: Bool, memo: Bool)
        /// Wait on the retry schedule with this reason.
        case stop(StopReason, String)
    }

    /// - Parameters:
    ///   - source: the payer's token account (already known to exist and to hold enough).
    ///   - treasury: the treasury's token account and its extensions, nil when it does not exist.
    ///   - mint: the mint's extensions.
    public static func decide(source: TokenAccount, treasury: (account: TokenAccount, extensions: TokenExtensions)?,
                              mint: TokenExtensions) -> Outcome {
        if mint.has(.nonTransferable) { return .stop(.tokenUnsupported, "the mint is non-transferable") }
        if let hook = mint.transferHookProgram {
            return .stop(.tokenUnsupported, "the mint runs transfer hook program \(hook), which Settle does not call")
        }
        if mint.transferFeeBasisPoints > 0 {
            return .stop(.tokenUnsupported, "the mint charges a \(mint.transferFeeBasisPoints) basis-point transfer fee: the treasury would receive less than the invoice")
        }
        if source.state == .frozen { return .stop(.accountFrozen, "the payer's token account is frozen") }
        guard let treasury else { return .proceed(createTreasuryAccount: true, memo: false) }
        if treasury.account.state == .frozen { return .stop(.accountFrozen, "the treasury's token account is frozen") }
        return .proceed(createTreasuryAccount: false, memo: treasury.extensions.requiresIncomingMemo)
    }
}
