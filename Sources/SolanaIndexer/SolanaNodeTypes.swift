import Solana

/// A Solana commitment level.
public enum Commitment: String, Hashable, Sendable {
    case processed, confirmed, finalized
}

/// An account as `getAccountInfo` / `getMultipleAccounts` return it (base64 data decoded).
public struct SolanaAccount: Hashable, Sendable {
    public var lamports: UInt64
    /// The program that owns the account.
    public var owner: SolanaPublicKey
    public var data: [UInt8]
    public var executable: Bool
}

/// One entry of `getSignaturesForAddress`.
public struct SignatureInfo: Hashable, Sendable {
    public var signature: SolanaSignature
    public var slot: UInt64
    /// True when the transaction failed (`err` not null).
    public var failed: Bool
    public var blockTime: UInt64?
    public var confirmationStatus: Commitment?
}

/// A token balance entry of a transaction's `meta.preTokenBalances` / `postTokenBalances`.
public struct TokenBalanceEntry: Hashable, Sendable {
    public var accountIndex: Int
    public var mint: SolanaPublicKey
    public var owner: SolanaPublicKey?
    public var programID: SolanaPublicKey?
    /// Base units, exact.
    public var amount: UInt64
    public var decimals: UInt8
}

/// An instruction with its accounts resolved to keys (outer or inner).
public struct ResolvedInstruction: Hashable, Sendable {
    public var programID: SolanaPublicKey
    public var accounts: [SolanaPublicKey]
    public var data: [UInt8]
    /// Index of the outer instruction it belongs to.
    public var outerIndex: Int
    /// Position among that outer instruction's inner instructions (CPI), or nil for the outer one itself.
    public var innerIndex: Int?
}

/// A transaction as `getTransaction` returns it, decoded and with every account key resolved (static keys, then
/// the writable and read-only addresses loaded from lookup tables, in the order the runtime uses).
public struct FetchedSolanaTransaction: Hashable, Sendable {
    public var signature: SolanaSignature
    public var slot: UInt64
    public var blockTime: UInt64?
    /// True when `meta.err` is not null: a failed transaction changes no token state.
    public var failed: Bool
    public var accountKeys: [SolanaPublicKey]
    /// Outer instructions followed by their inner (CPI) instructions, in execution order.
    public var instructions: [ResolvedInstruction]
    public var preTokenBalances: [TokenBalanceEntry]
    public var postTokenBalances: [TokenBalanceEntry]
    public var fee: UInt64

    public init(signature: SolanaSignature, slot: UInt64, blockTime: UInt64?, failed: Bool, accountKeys: [SolanaPublicKey],
                instructions: [ResolvedInstruction], preTokenBalances: [TokenBalanceEntry], postTokenBalances: [TokenBalanceEntry], fee: UInt64) {
        self.signature = signature
        self.slot = slot
        self.blockTime = blockTime
        self.failed = failed
        self.accountKeys = accountKeys
        self.instructions = instructions
        self.preTokenBalances = preTokenBalances
        self.postTokenBalances = postTokenBalances
        self.fee = fee
    }
}
