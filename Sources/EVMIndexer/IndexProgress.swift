/// What one indexing step did; passed to the progress callback.
public struct IndexProgress: Sendable {
    /// First block of the step.
    public var fromBlock: UInt64
    /// Last block of the step (inclusive).
    public var toBlock: UInt64
    /// The chain head when the step started.
    public var headBlock: UInt64
    /// Where indexing started this run.
    public var startBlock: UInt64
    public var approvals: Int
    public var transfers: Int
    /// Non-nil when the step rolled back a reorg.
    public var reorg: RollbackSummary?
    public var reorgAncestor: UInt64?

    /// Fraction of this run's range done, 0…1.
    public var fraction: Double {
        guard headBlock > startBlock else { return 1 }
        return min(1, Double(toBlock &- startBlock &+ 1) / Double(headBlock - startBlock + 1))
    }
}
