/// What one look at the chain showed about one attempt. Only `landed` and `dead` are positive evidence; everything a
/// node does not say (no receipt, no transaction, no signature status, no history) is `unseen` or `pastValidity`,
/// and neither ever lets a new transaction be signed.
public enum Sighting: Hashable, Sendable {
    /// No evidence either way: not seen in a canonical block, and nothing proves it never will be.
    case unseen
    /// Its window to land has closed by the node's account (EVM: its nonce is used at a finalized block; Solana: its
    /// blockhash expired at `finalized`), yet nothing proves it did not land: the node cannot show the transaction
    /// that used the nonce, or lacks the history to search for the signature. `blocks` counts how long this has
    /// held (finalized blocks or heights past the window), for the bound after which the charge goes `unknown`.
    case pastValidity(blocks: UInt64)
    /// In a canonical block (the receipt's block hash equals the canonical header's; a Solana status with a slot).
    /// `final` once that block is final by the chain's policy. `matches` is read only when final and successful:
    /// whether exactly the charge's amount arrived in the treasury from the payer; nil while that cannot be read
    /// (no conclusion: treated as not final yet).
    case landed(block: UInt64, succeeded: Bool, final: Bool, matches: Bool?)
    /// Proven never to land, with the proof (EVM: the nonce is used at a finalized block by a transaction that is none
    /// of the charge's attempts; Solana: the blockhash expired at `finalized` and the signature is absent from a node
    /// whose ledger reaches back to the attempt's first possible slot).
    case dead(proof: String)
}

/// Everything one pass gathered about one charge's attempts.
public struct LifecycleEvidence: Hashable, Sendable {
    /// The chain's head (EVM block number; Solana block height) when the evidence was read.
    public var head: UInt64
    /// Per attempt id; an attempt missing here is `unseen`.
    public var sightings: [Int64: Sighting]
    /// For a final landing that does not match: what arrived instead, in words (the charge's recorded reason).
    public var received: [Int64: String]

    public init(head: UInt64, sightings: [Int64: Sighting] = [:], received: [Int64: String] = [:]) {
        self.head = head
        self.sightings = sightings
        self.received = received
    }

    func sighting(_ attempt: Int64) -> Sighting { sightings[attempt] ?? .unseen }
}

/// Pure rules that turn one family's raw observations into a `Sighting`. The executors read the chain; these decide
/// what it proves.
public enum SightingRules {
    /// EVM, for an attempt at `nonce` that no canonical receipt shows.
    /// - Parameters:
    ///   - finalizedCount: the signer's transaction count at the finalized block (every nonce below it is used there).
    ///   - transactionAtNonce: the hash of the signer's transaction with this nonce in finalized history, when found.
    ///   - ours: the hashes of every attempt of the charge at this nonce.
    ///   - blocksPast: how many finalized blocks the nonce has been used for, when known (for the `unknown` bound).
    public static func evm(nonce: UInt64, finalizedCount: UInt64?, transactionAtNonce: String?, ours: Set<String>,
                           blocksPast: UInt64) -> Sighting {
        guard let finalizedCount, finalizedCount > nonce else { return .unseen }  // the nonce may still be taken by ours
        guard let used = transactionAtNonce?.lowercased() else { return .pastValidity(blocks: blocksPast) }
        if ours.contains(where: { $0.lowercased() == used }) {
            // One of ours used the nonce; the caller reads its receipt. Without one, nothing is proven.
            return .pastValidity(blocks: blocksPast)
        }
        return .dead(proof: "nonce \(nonce) used at a finalized block by \(used), which is not one of this charge's transactions")
    }

    /// Solana, for an attempt no signature status shows.
    /// - Parameters:
    ///   - finalizedHeight: the block height at `finalized`, read BEFORE the status lookup.
    ///   - lastValidHeight: the attempt's blockhash's last valid block height.
    ///   - firstAvailableSlot: the oldest slot the node that answered the status lookup holds (`minimumLedgerSlot`).
    ///   - earliestSlot: a slot at or before which the attempt cannot have landed (read before its blockhash).
    public static func solana(finalizedHeight: UInt64, lastValidHeight: UInt64?, firstAvailableSlot: UInt64?, earliestSlot: UInt64?) -> Sighting {
        guard let lastValidHeight, finalizedHeight > lastValidHeight else { return .unseen }  // may still land
        let past = finalizedHeight - lastValidHeight
        guard let firstAvailableSlot, let earliestSlot, firstAvailableSlot <= earliestSlot else {
            return .pastValidity(blocks: past)  // the node cannot show the slots it might have landed in
        }
        return .dead(proof: "blockhash expired at finalized height \(finalizedHeight) and the signature is absent from a node holding every slot since \(firstAvailableSlot)")
    }
}
