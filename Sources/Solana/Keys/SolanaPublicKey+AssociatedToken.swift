extension SolanaPublicKey {
    /// The associated token account of `wallet` for `mint` under `tokenProgram`: the program-derived address
    /// of seeds [wallet, token program id, mint] under the Associated Token Account program.
    /// - Throws: `SolanaError.noViableBump` only if all 256 bumps land on the curve (probability 2^-256).
    public static func associatedTokenAddress(
        wallet: SolanaPublicKey, mint: SolanaPublicKey, tokenProgram: TokenProgram = .token
    ) throws(SolanaError) -> SolanaPublicKey {
        try associatedTokenAddressAndBump(wallet: wallet, mint: mint, tokenProgram: tokenProgram).address
    }

    /// The associated token account address and its bump seed.
    /// - Throws: `SolanaError.noViableBump` only if all 256 bumps land on the curve (probability 2^-256).
    public static func associatedTokenAddressAndBump(
        wallet: SolanaPublicKey, mint: SolanaPublicKey, tokenProgram: TokenProgram = .token
    ) throws(SolanaError) -> (address: SolanaPublicKey, bump: UInt8) {
        // Three 32-byte seeds are within the limits.
        try findProgramAddress(
            seeds: [wallet.bytes, tokenProgram.programID.bytes, mint.bytes], programID: .associatedTokenProgram)
    }
}
