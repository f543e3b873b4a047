/// One account an instruction touches, with whether it must sign and whether the program may write it.
public struct AccountMeta: Hashable, Sendable {
    /// The account.
    public var publicKey: SolanaPublicKey
    /// True when the transaction must carry this account's signature.
    public var isSigner: Bool
    /// True when the program may change the account.
    public var isWritable: Bool

    /// Creates an account reference.
    @inlinable
    public init(_ publicKey: SolanaPublicKey, isSigner: Bool, isWritable: Bool) {
        self.publicKey = publicKey
        self.isSigner = isSigner
        self.isWritable = isWritable
    }

    /// A writable account (signer or not).
    @inlinable
    public static func writable(_ key: SolanaPublicKey, signer: Bool = false) -> AccountMeta {
        AccountMeta(key, isSigner: signer, isWritable: true)
    }

    /// A read-only account (signer or not).
    @inlinable
    public static func readonly(_ key: SolanaPublicKey, signer: Bool = false) -> AccountMeta {
        AccountMeta(key, isSigner: signer, isWritable: false)
    }
}
