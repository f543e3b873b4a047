import Settlement
import Solana
import SolanaIndexer

/// What the token accounts and the mint allow, decided without I/O before a Solana pull is signed: a reason to
/// wait (nothing is sent, no fee is paid), or what the transaction needs besides the transfer.
public enum SolanaPreflight {
    /// A Token-2022 mint's transfer fee (the newer epoch fee), rounded up by the program and capped at `maximum`.
    public struct TransferFee: Hashable, Sendable {
        public var basisPoints: UInt16
        public var maximum: UInt64
    }

    public enum Outcome: Hashable, Sendable {
        /// Sign the transfer; `createTreasuryAccount`: the treasury's token account is missing (created in the same
        /// transaction, idempotently); `memo`: the treasury's account requires a memo before incoming transfers;
        /// `fee`: the mint's transfer fee, to gross up for (the merchant opted in).
        case proceed(createTreasuryAccount: Bool, memo: Bool, fee: TransferFee? = nil)
        /// Wait on the retry schedule with this reason.
        case stop(StopReason, String)
    }

    /// - Parameters:
    ///   - source: the payer's token account (already known to exist and to hold enough).
    ///   - treasury: the treasury's token account and its extensions, nil when it does not exist.
    ///   - mint: the mint's extensions.
    public static func decide(source: TokenAccount, treasury: (account: TokenAccount, extensions: TokenExtensions)?,
                              mint: TokenExtensions, grossUpTransferFee: Bool = false) -> Outcome {
        if mint.has(.nonTransferable) { return .stop(.tokenUnsupported, "the mint is non-transferable") }
        if let hook = mint.transferHookProgram {
            return .stop(.tokenUnsupported, "the mint runs transfer hook program \(hook), which Settle does not call")
        }
        var fee: TransferFee?
        if mint.transferFeeBasisPoints > 0 {
            guard grossUpTransferFee else {
                return .stop(.tokenUnsupported, "the mint charges a \(mint.transferFeeBasisPoints) basis-point transfer fee: the treasury would receive less than the invoice (set gross_up_transfer_fee to pull it on top)")
            }
            fee = TransferFee(basisPoints: mint.transferFeeBasisPoints, maximum: mint.transferFeeMaximum ?? .max)
        }
        if source.state == .frozen { return .stop(.accountFrozen, "the payer's token account is frozen") }
        guard let treasury else { return .proceed(createTreasuryAccount: true, memo: false, fee: fee) }
        if treasury.account.state == .frozen { return .stop(.accountFrozen, "the treasury's token account is frozen") }
        return .proceed(createTreasuryAccount: false, memo: treasury.extensions.requiresIncomingMemo, fee: fee)
    }

    /// Reads the payer's and the treasury's token accounts and the mint, and decides. Shared by the executor (before
    /// signing) and the readiness route (before the due date).
    public static func read(node: SolanaNode, source: SolanaPublicKey, destination: SolanaPublicKey, mint: SolanaPublicKey,
                            grossUpTransferFee: Bool = false) async throws -> Outcome {
        guard let sourceAccount = try await node.account(source) else { return .stop(.lowBalance, "the payer has no token account") }
        let payerAccount = try TokenAccount(data: sourceAccount.data)
        var treasuryState: (TokenAccount, TokenExtensions)?
        if let account = try await node.account(destination) {
            treasuryState = (try TokenAccount(data: account.data), try TokenExtensions(data: account.data, accountType: 2))
        }
        guard let mintAccount = try await node.account(mint) else { return .stop(.tokenUnsupported, "the mint \(mint) does not exist") }
        return decide(source: payerAccount, treasury: treasuryState, mint: try TokenExtensions(data: mintAccount.data, accountType: 1),
                      grossUpTransferFee: grossUpTransferFee)
    }
}
