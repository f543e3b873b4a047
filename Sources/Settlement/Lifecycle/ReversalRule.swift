/// Whether a settled charge's transfer is still on the chain, from positive evidence only: the canonical block at
/// the recorded height, read whole, no longer holding the transaction, and no canonical receipt for it elsewhere.
public enum ReversalRule {
    public enum Verdict: Hashable, Sendable {
        /// Still in the block it was settled in.
        case intact
        /// In another canonical block (reorged and mined again): still paid.
        case moved(block: UInt64)
        /// Gone: the charge is `reversed`.
        case reversed
        /// The node does not show the block: nothing is concluded.
        case noEvidence
    }

    /// - Parameters:
    ///   - blockHolds: whether the canonical block at the recorded height holds the transaction; nil when the node
    ///     does not return that block.
    ///   - canonicalElsewhere: the block of a receipt for it whose block hash is canonical, if any.
    public static func decide(blockHolds: Bool?, canonicalElsewhere: UInt64?) -> Verdict {
        if blockHolds == true { return .intact }
        if let block = canonicalElsewhere { return .moved(block: block) }
        guard blockHolds == false else { return .noEvidence }
        return .reversed
    }
}
