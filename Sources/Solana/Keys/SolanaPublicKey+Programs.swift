extension SolanaPublicKey {
    /// The System Program, `11111111111111111111111111111111`.
    public static let systemProgram = SolanaPublicKey.zero
    /// SPL Token, `TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA`.
    public static let tokenProgram = known("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
    /// SPL Token-2022, `TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb`.
    public static let token2022Program = known("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
    /// The Associated Token Account program, `ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL`.
    public static let associatedTokenProgram = known("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
    /// The Compute Budget program, `ComputeBudget111111111111111111111111111111`.
    public static let computeBudgetProgram = known("ComputeBudget111111111111111111111111111111")

    /// A key from a literal known to be valid (traps otherwise; literals only).
    private static func known(_ text: StaticString) -> SolanaPublicKey {
        do {
            return try SolanaPublicKey(base58: text.description)
        } catch {
            fatalError("invalid base58 literal \(text)")
        }
    }
}
