import EVM
import SettleCore

/// An indexed ERC-20 `Approval`.
public struct ApprovalRecord: Hashable, Sendable {
    public var block: UInt64
    public var logIndex: UInt64
    public var blockTime: UInt64
    public var transactionHash: Hash32
    public var token: EVMAddress
    public var owner: EVMAddress
    public var spender: EVMAddress
    public var value: UInt256

    public init(block: UInt64, logIndex: UInt64, blockTime: UInt64, transactionHash: Hash32, token: EVMAddress,
                owner: EVMAddress, spender: EVMAddress, value: UInt256) {
        self.block = block
        self.logIndex = logIndex
        self.blockTime = blockTime
        self.transactionHash = transactionHash
        self.token = token
        self.owner = owner
        self.spender = spender
        self.value = value
    }
}

/// An indexed ERC-20 `Transfer`.
public struct TransferRecord: Hashable, Sendable {
    public var block: UInt64
    public var logIndex: UInt64
    public var blockTime: UInt64
    public var transactionHash: Hash32
    public var token: EVMAddress
    public var from: EVMAddress
    public var to: EVMAddress
    public var value: UInt256

    public init(block: UInt64, logIndex: UInt64, blockTime: UInt64, transactionHash: Hash32, token: EVMAddress,
                from: EVMAddress, to: EVMAddress, value: UInt256) {
        self.block = block
        self.logIndex = logIndex
        self.blockTime = blockTime
        self.transactionHash = transactionHash
        self.token = token
        self.from = from
        self.to = to
        self.value = value
    }
}

/// A current allowance read from the chain (`allowance()` at `asOfBlock`).
public struct AllowanceState: Hashable, Sendable {
    public var token: EVMAddress
    public var owner: EVMAddress
    public var spender: EVMAddress
    public var value: UInt256
    public var asOfBlock: UInt64

    public init(token: EVMAddress, owner: EVMAddress, spender: EVMAddress, value: UInt256, asOfBlock: UInt64) {
        self.token = token
        self.owner = owner
        self.spender = spender
        self.value = value
        self.asOfBlock = asOfBlock
    }
}

/// A current balance read from the chain (`balanceOf()` at `asOfBlock`).
public struct BalanceState: Hashable, Sendable {
    public var token: EVMAddress
    public var owner: EVMAddress
    public var value: UInt256
    public var asOfBlock: UInt64

    public init(token: EVMAddress, owner: EVMAddress, value: UInt256, asOfBlock: UInt64) {
        self.token = token
        self.owner = owner
        self.value = value
        self.asOfBlock = asOfBlock
    }
}

/// Where a chain's index stands.
public struct ChainCursor: Hashable, Sendable {
    /// Row id of the chain in the store.
    public var id: Int64
    /// First block not yet indexed.
    public var nextBlock: UInt64
    /// Highest head seen.
    public var headBlock: UInt64?
    /// Highest block known final.
    public var finalizedBlock: UInt64?

    /// The last block the index covers (0 before any is).
    public var lastIndexedBlock: UInt64 { nextBlock == 0 ? 0 : nextBlock - 1 }
}

/// Everything one indexing step writes, committed in one transaction with the cursor move.
public struct IndexBatch: Sendable {
    /// First block covered; must equal the cursor's `nextBlock` (so nothing is skipped or written twice).
    public var fromBlock: UInt64
    /// Last block covered (inclusive); the cursor moves to `toBlock + 1`.
    public var toBlock: UInt64
    /// Headers to keep for reorg detection.
    public var headers: [BlockHeader] = []
    public var approvals: [ApprovalRecord] = []
    public var transfers: [TransferRecord] = []
    /// Owners that approved one of our spenders (scoped mode), with the block of their first approval.
    public var newOwners: [(owner: EVMAddress, firstBlock: UInt64)] = []
    public var allowances: [AllowanceState] = []
    public var balances: [BalanceState] = []
    public var headBlock: UInt64?
    public var finalizedBlock: UInt64?
    /// Headers below this block are pruned (outside the reorg window).
    public var pruneHeadersBelow: UInt64?

    public init(fromBlock: UInt64, toBlock: UInt64) {
        self.fromBlock = fromBlock
        self.toBlock = toBlock
    }
}

/// What a rollback removed: the rows above the common ancestor.
public struct RollbackSummary: Hashable, Sendable {
    public var approvalsRemoved: Int
    public var transfersRemoved: Int
    public var headersRemoved: Int

    public init(approvalsRemoved: Int, transfersRemoved: Int, headersRemoved: Int) {
        self.approvalsRemoved = approvalsRemoved
        self.transfersRemoved = transfersRemoved
        self.headersRemoved = headersRemoved
    }
}
