import EVM

/// A (token, owner, spender) allowance or (token, owner) balance whose chain value may have changed.
struct StateKey: Hashable, Sendable {
    var token: EVMAddress
    var owner: EVMAddress
    /// Nil for a balance.
    var spender: EVMAddress?
}

/// What one `eth_getLogs` range yielded, verified against the block headers.
struct FetchedRange: Sendable {
    var from: UInt64
    var to: UInt64
    var headers: [UInt64: BlockHeader] = [:]
    var approvals: [ApprovalRecord] = []
    var transfers: [TransferRecord] = []
    var newOwners: [(owner: EVMAddress, firstBlock: UInt64)] = []
    var affected: Set<StateKey> = []
    var timings = StepTimings()

    /// Headers worth storing: the unfinalized ones (reorg detection) and the range's last block (continuity).
    func headersToKeep(finalized: UInt64, window: UInt64) -> [BlockHeader] {
        let keepFrom = finalized > window ? finalized - window : 0
        return headers.values.filter { $0.number >= keepFrom || $0.number == to }.sorted { $0.number < $1.number }
    }
}

/// A range's node answers fetched ahead of `fetch` (full mode, finalized history): parsed, not yet verified.
struct PrefetchedRange: Sendable {
    var logs: [EVMLog]
    var headers: [UInt64: BlockHeader]
    /// Wall time the node answers took.
    var seconds: Double
}
