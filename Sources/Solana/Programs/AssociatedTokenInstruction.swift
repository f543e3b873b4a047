/// Instructions of the Associated Token Account program.
public enum AssociatedTokenInstruction {
    /// Creates `wallet`'s associated token account for `mint` if it does not exist, paid by `payer` (tag 1,
    /// CreateIdempotent: succeeds when the account already exists).
    /// Accounts: payer (writable, signer), the account (writable), wallet, mint, System Program, token program.
    public static func createIdempotent(payer: SolanaPublicKey, wallet: SolanaPublicKey, mint: SolanaPublicKey,
                                        program: TokenProgram) throws(SolanaError) -> SolanaInstruction {
        let account = try SolanaPublicKey.associatedTokenAddress(wallet: wallet, mint: mint, tokenProgram: program)
        return SolanaInstruction(
            programID: .associatedTokenProgram,
            accounts: [.writable(payer, signer: true), .writable(account), .readonly(wallet), .readonly(mint), .readonly(.systemProgram),
                       .readonly(program.programID)],
            data: [1])
    }
}

/// The SPL Memo program (v2): a UTF-8 note in the transaction, required before transfers into Token-2022 accounts
/// with MemoTransfer enabled.
public enum MemoInstruction {
    /// `MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr`.
    public static let programID: SolanaPublicKey = {
        // A literal known to be valid.
        (try? SolanaPublicKey(base58: "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")) ?? .zero
    }()

    /// A memo with no signer accounts.
    public static func memo(_ text: String) -> SolanaInstruction {
        SolanaInstruction(programID: programID, accounts: [], data: Array(text.utf8))
    }
}
