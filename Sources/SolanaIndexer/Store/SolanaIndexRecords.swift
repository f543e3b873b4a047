import Solana

/// A token account Settle follows, with the newest signature already indexed for it.
public struct TrackedTokenAccount: Hashable, Sendable {
    public var account: SolanaPublicKey
    public var owner: SolanaPublicKey
    public var mint: SolanaPublicKey
    public var program: TokenProgram
    public var newestSignature: SolanaSignature?

    public init(account: SolanaPublicKey, owner: SolanaPublicKey, mint: SolanaPublicKey, program: TokenProgram, newestSignature: SolanaSignature? = nil) {
        self.account = account
        self.owner = owner
        self.mint = mint
        self.program = program
        self.newestSignature = newestSignature
    }
}

/// An indexed token event with where and when it happened, and whose account it touched.
public struct SolanaEventRecord: Hashable, Sendable {
    public var signature: SolanaSignature
    public var slot: UInt64
    public var blockTime: UInt64?
    /// The owner of the source token account.
    public var owner: SolanaPublicKey?
    public var event: TokenEvent
    /// True once the transaction is finalized.
    public var final: Bool
}

/// A token account's state as last read from the chain.
public struct SolanaAccountState: Hashable, Sendable {
    public var account: SolanaPublicKey
    public var amount: UInt64
    public var delegate: SolanaPublicKey?
    public var delegatedAmount: UInt64
    public var slot: UInt64

    public init(account: SolanaPublicKey, amount: UInt64, delegate: SolanaPublicKey?, delegatedAmount: UInt64, slot: UInt64) {
        self.account = account
        self.amount = amount
        self.delegate = delegate
        self.delegatedAmount = delegatedAmount
        self.slot = slot
    }
}

/// A position in a wallet's allowance history, in the history's order: slot, transaction signature, instruction
/// (outer index, then inner index; an outer instruction has none).
public struct SolanaHistoryPosition: Hashable, Sendable {
    public var slot: UInt64
    public var signature: SolanaSignature
    public var outerIndex: Int
    public var innerIndex: Int?

    public init(slot: UInt64, signature: SolanaSignature, outerIndex: Int, innerIndex: Int?) {
        self.slot = slot
        self.signature = signature
        self.outerIndex = outerIndex
        self.innerIndex = innerIndex
    }
}
