/// A legacy (unversioned) transaction message: header, account keys, recent blockhash and compiled
/// instructions.
///
/// Build one from instructions with `init(instructions:payer:recentBlockhash:)`, which orders accounts exactly
/// as the Rust SDK's `Message::new_with_blockhash` does; parse one with `init(wireBytes:)`.
public struct LegacyMessage: Hashable, Sendable {
    /// Signer and read-only counts.
    public var header: MessageHeader
    /// Every account the message touches, in Solana's order (the fee payer first).
    public var accountKeys: [SolanaPublicKey]
    /// The recent blockhash (or durable nonce) the message is valid against.
    public var recentBlockhash: Blockhash
    /// The instructions, with keys replaced by indexes into `accountKeys`.
    public var instructions: [CompiledInstruction]

    /// Creates a message from its parts as they are; `sanitize()` checks them.
    public init(
        header: MessageHeader, accountKeys: [SolanaPublicKey], recentBlockhash: Blockhash,
        instructions: [CompiledInstruction]
    ) {
        self.header = header
        self.accountKeys = accountKeys
        self.recentBlockhash = recentBlockhash
        self.instructions = instructions
    }

    /// Compiles `instructions`: merges each account's roles, puts `payer` (when given) first as a writable
    /// signer, then writable signers, read-only signers, writable and read-only non-signers, each run sorted by
    /// key bytes, and replaces keys by indexes.
    /// - Throws: `SolanaError.tooManyAccounts` past 256 accounts; `.invalidLength` for an instruction with more
    ///   than 65535 accounts or data bytes.
    public init(instructions: [SolanaInstruction], payer: SolanaPublicKey?, recentBlockhash: Blockhash)
        throws(SolanaError)
    {
        try MessageCodec.checkSizes(instructions)
        let keys = CompiledKeys(instructions: instructions, payer: payer)
        let (header, accountKeys) = try keys.messageComponents()
        self.init(
            header: header, accountKeys: accountKeys, recentBlockhash: recentBlockhash,
            instructions: try MessageCodec.compile(instructions, keys: accountKeys))
    }

    /// The fee payer (the first key), if there is one.
    public var feePayer: SolanaPublicKey? { accountKeys.first }

    /// The keys that must sign, in signature order.
    public var signerKeys: ArraySlice<SolanaPublicKey> {
        accountKeys.prefix(Int(header.numRequiredSignatures))
    }

    /// True when the account at `index` may be written, by the header's rules.
    public func isWritable(index: Int) -> Bool {
        let signers = Int(header.numRequiredSignatures)
        if index < signers { return index < signers - Int(header.numReadonlySignedAccounts) }
        return index < accountKeys.count - Int(header.numReadonlyUnsignedAccounts)
    }
}
