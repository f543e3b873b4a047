/// One signed transaction for a charge. Written with its raw bytes and its nonce (EVM) or blockhash (Solana) before
/// it is first broadcast, so a crash can always find and follow every transaction that might land.
public struct Attempt: Hashable, Sendable {
    public enum Outcome: String, Hashable, Sendable {
        /// Persisted, not yet handed to a node.
        case signed
        /// Handed to a node at least once.
        case sent
        /// In a canonical block, succeeded.
        case included
        /// In a canonical block, reverted: nothing moved.
        case reverted
        /// Provably never landing (its nonce was used by another transaction, or its blockhash expired and it is
        /// absent at finalized).
        case dead
        /// Superseded by a same-nonce replacement with higher fees.
        case replaced
    }

    public var id: Int64
    public var charge: Int64
    /// 1 for the first attempt of a charge.
    public var sequence: Int
    public var chain: String
    /// The signing address or public key, as text.
    public var signer: String
    /// Transaction hash (EVM, 0x hex) or signature (Solana, base58).
    public var transactionID: String
    /// The signed bytes, re-sendable as they are.
    public var raw: [UInt8]
    public var nonce: UInt64?
    public var blockhash: String?
    public var lastValidHeight: UInt64?
    public var outcome: Outcome
    public var block: UInt64?
    /// The chain's head when it was first sent (EVM: for "not mined after N blocks").
    public var sentBlock: UInt64?
    /// The chain's head read before signing (EVM block number, Solana slot): the transaction cannot be in a block at
    /// or below it. Bounds the search for the transaction that used a nonce, and the history a node must hold to
    /// prove a Solana signature absent. Nil for attempts stored before it was recorded.
    public var headAtSigning: UInt64?
    /// Fees it was signed with (EVM, wei), as decimal text.
    public var maxFee: String?
    public var priorityFee: String?
}

/// What the signer produces for an attempt, given the nonce the ledger allocated.
public struct SignedPayload: Sendable {
    public var transactionID: String
    public var raw: [UInt8]
    public var maxFee: String?
    public var priorityFee: String?

    public init(transactionID: String, raw: [UInt8], maxFee: String? = nil, priorityFee: String? = nil) {
        self.transactionID = transactionID
        self.raw = raw
        self.maxFee = maxFee
        self.priorityFee = priorityFee
    }
}
