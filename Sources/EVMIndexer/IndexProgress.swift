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
    /// Where the step's time went.
    public var timings = StepTimings()

    /// Fraction of this run's range done, 0…1.
    public var fraction: Double {
        guard headBlock > startBlock else { return 1 }
        return min(1, Double(toBlock &- startBlock &+ 1) / Double(headBlock - startBlock + 1))
    }
}

/// Seconds one step spent fetching (RPC and JSON parsing), decoding and verifying, and writing to SQLite.
public struct StepTimings: Sendable {
    public var fetch: Double = 0
    public var decode: Double = 0
    public var store: Double = 0

    public init() {}
}

extension ContinuousClock.Instant {
    /// Seconds from this instant until now.
    var secondsUntilNow: Double {
        let elapsed = ContinuousClock.now - self
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
