import EVM

/// A transaction the daemon sent and follows to its fate.
public struct WatchedTransaction: Hashable, Sendable {
    /// Where it stands.
    public enum Status: String, Hashable, Sendable {
        /// Not (or no longer) in a canonical block.
        case pending
        /// In a canonical block, succeeded.
        case mined
        /// In a canonical block, reverted (status 0).
        case reverted
        /// The node no longer knows it, past the grace period: it will not be mined as sent.
        case dropped
    }

    public var hash: Hash32
    public var status: Status
    public var block: UInt64?
    public var blockHash: Hash32?
    public var gasUsed: UInt64?
    /// How many times it was mined and then reorged out.
    public var reorgCount: Int
    /// Unix seconds when watching began.
    public var firstSeen: UInt64
}
