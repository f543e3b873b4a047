/// A condition that stops a chain's signing until an operator acts (`settled nonce adopt`): someone else signs with
/// the key, or this database lost attempts. Shown by `/healthz`,
/// `/metrics`, `settled doctor`, and sent to the merchant as `action.required`.
public struct ChainAlert: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        /// EVM: the chain counts more transactions from the signer than the ledger ever signed.
        case nonceDivergence = "nonce_divergence"
        /// Solana: the delegate signed a token transfer the ledger has no attempt for.
        case signatureDivergence = "signature_divergence"
    }

    public var id: Int64
    public var chain: String
    /// The signing address, as the ledger stores it.
    public var signer: String
    public var kind: Kind
    public var detail: String
    public var ledgerNext: UInt64?
    public var chainCount: UInt64?
    public var raisedAt: UInt64
}
