/// Whether an EVM signer may sign its next transaction: nonces come from the ledger alone, and a chain that counts
/// more transactions than the ledger ever signed means someone else signs with the key (another daemon, a restored
/// database that lost its last attempts, a person with a wallet). Then signing stops until an operator inspects
/// and adopts the chain's count (`settled nonce adopt`).
public enum NonceGuard {
    public enum Verdict: Hashable, Sendable {
        /// Sign with this nonce.
        case sign(nonce: UInt64)
        /// Stop signing on the chain: the chain's pending count is above what the ledger can explain.
        case diverged(ledgerNext: UInt64, chainPending: UInt64)
        /// An open divergence alert blocks signing until an operator adopts.
        case blocked
    }

    /// - Parameters:
    ///   - ledgerNext: the ledger's next nonce for the signer (0 when it never signed).
    ///   - chainPending: the node's pending transaction count for the signer.
    ///   - openAlert: an unresolved `nonce_divergence` alert exists for the signer.
    public static func check(ledgerNext: UInt64, chainPending: UInt64, openAlert: Bool) -> Verdict {
        if openAlert { return .blocked }
        // Below is normal: our attempts not yet mined, or a lagging node. Above cannot be explained by the ledger.
        if chainPending > ledgerNext { return .diverged(ledgerNext: ledgerNext, chainPending: chainPending) }
        return .sign(nonce: ledgerNext)
    }
}
