import EVM
import Foundation
import Leases
import SettleCore

/// The EVM index: event history, current allowance and balance state, block headers inside the reorg window,
/// watched transactions and one cursor per chain. The cursor moves in the same transaction as the rows it covers, so
/// a crash leaves neither a gap nor a duplicate.
///
/// Two implementations: `SQLiteEVMIndexStore` (embedded, one daemon) and `PostgresEVMIndexStore` (several daemons on
/// one database). Every write that moves the index takes an optional `Lease`: with one, the write commits only while
/// that lease is still the stored one, checked in the write's own transaction (fencing); a write refused so throws
/// `StoreError` with code `.fenced` and changes nothing. Without one (nil), no check is made.
public protocol EVMIndexStore: Sendable {
    /// Applies the schema migrations and makes sure the query indexes exist.
    func migrate() async throws

    // MARK: Chains and cursors

    /// The chain's cursor, registering the chain on first use.
    /// - Throws: `EVMIndexError.chainMismatch` when the stored chain id or mode differ from the configuration.
    func register(name: String, chainID: UInt64, mode: String, startBlock: UInt64) async throws -> ChainCursor
    /// The store's id of the chain named `name`, or nil when it was never indexed.
    func chainID(named name: String) async throws -> Int64?
    /// The chain's cursor.
    func cursor(chain: Int64) async throws -> ChainCursor

    // MARK: Writes

    /// Commits one indexing step and moves the cursor to `batch.toBlock + 1`, all in one transaction.
    /// - Throws: `EVMIndexError.cursorMismatch` when `batch.fromBlock` is not where the cursor stands (a concurrent
    ///   writer or a bug), `StoreError(.fenced)` when `lease` is no longer current: nothing is written.
    func commit(_ batch: IndexBatch, chain: Int64, lease: Lease?) async throws
    /// Saves chain-read states without moving the cursor (a state older than the stored one is ignored).
    func saveStates(chain: Int64, allowances: [AllowanceState], balances: [BalanceState], lease: Lease?) async throws
    /// Removes every indexed row above `ancestor` and moves the cursor back to `ancestor + 1` in one transaction
    /// (the undo half of reorg handling and of replay).
    func rollback(chain: Int64, above ancestor: UInt64, lease: Lease?) async throws -> RollbackSummary
    /// Replaces every indexed row of `from...to` with `approvals` and `transfers` (replay's repair), adds newly
    /// found owners and refreshes stored headers, in one transaction. The cursor does not move.
    /// - Throws: `EVMIndexError.cursorMismatch` when `to` is not below the cursor.
    func replaceRange(chain: Int64, from: UInt64, to: UInt64, approvals: [ApprovalRecord], transfers: [TransferRecord],
                      headers: [BlockHeader], newOwners: [(owner: EVMAddress, firstBlock: UInt64)], lease: Lease?) async throws

    // MARK: Bulk loading

    /// Prepares an initial backfill: a backend may defer work until it ends (SQLite drops its secondary indexes and
    /// enlarges its caches while the chain holds few rows). Returns whether it did; then `endBulkLoad` must follow.
    func beginBulkLoad(chain: Int64) async throws -> Bool
    /// Ends what `beginBulkLoad` began; `completed` false (after a failure) leaves rebuilding to
    /// `ensureSecondaryIndexes`. Queries stay correct meanwhile, only slower.
    func endBulkLoad(completed: Bool) async throws
    /// Creates any missing query index (one a crash during a bulk load left out).
    func ensureSecondaryIndexes() async throws

    // MARK: Reads

    /// The stored header of block `number`, if inside the kept window.
    func header(chain: Int64, number: UInt64) async throws -> BlockHeader?
    /// Stored headers from `number` downwards (newest first), at most `limit`.
    func headers(chain: Int64, atOrBelow number: UInt64, limit: Int) async throws -> [BlockHeader]
    /// Owners tracked in scoped mode (wallets that approved one of our spenders), with the block of their first
    /// approval: their transfers are indexed from that block on.
    func trackedOwners(chain: Int64) async throws -> [EVMAddress: UInt64]
    /// Indexed `Approval`s by `owner`, oldest first, optionally for one token and/or spender; a page of at most
    /// `limit` of them after the event at (`block`, `logIndex`) when `after` is given. A page reads about `limit` rows.
    func allowanceHistory(chain: Int64, owner: EVMAddress, token: EVMAddress?, spender: EVMAddress?,
                          after: (block: UInt64, logIndex: UInt64)?, limit: Int?) async throws -> [ApprovalRecord]
    /// What the API shows for a wallet in one answer, read in one snapshot: the chain's current allowances of
    /// `owner` and a page of its approvals (as `allowanceHistory`), both optionally for one token and/or spender.
    /// Nil when the chain named `chain` was never indexed.
    func allowancePage(chain name: String, owner: EVMAddress, token: EVMAddress?, spender: EVMAddress?,
                       after: (block: UInt64, logIndex: UInt64)?, limit: Int) async throws -> AllowancePageRows?
    /// Indexed approvals in `from...to`, in chain order (for replay and tests).
    func approvals(chain: Int64, from: UInt64, to: UInt64) async throws -> [ApprovalRecord]
    /// Indexed transfers in `from...to`, in chain order (for replay and tests).
    func transfers(chain: Int64, from: UInt64, to: UInt64) async throws -> [TransferRecord]
    /// Current allowances of `owner` as last read from the chain, by token and spender.
    func currentAllowances(chain: Int64, owner: EVMAddress, token: EVMAddress?, spender: EVMAddress?) async throws -> [AllowanceState]
    /// Current balances of `owner` as last read from the chain, by token.
    func balances(chain: Int64, owner: EVMAddress, token: EVMAddress?) async throws -> [BalanceState]

    // MARK: Watched transactions

    /// Starts following a transaction the daemon sent (idempotent). `now` in Unix seconds.
    func watch(chain: Int64, hash: Hash32, now: UInt64, lease: Lease?) async throws
    /// One watched transaction, or nil.
    func watched(chain: Int64, hash: Hash32) async throws -> WatchedTransaction?
    /// Watched transactions whose fate can still change: pending ones, and mined or reverted ones in blocks above
    /// `finalized`.
    func unsettledTransactions(chain: Int64, finalized: UInt64) async throws -> [WatchedTransaction]
    /// Records what the chain says about a watched transaction. `now` in Unix seconds.
    func update(chain: Int64, _ transaction: WatchedTransaction, now: UInt64, lease: Lease?) async throws
}

extension EVMIndexStore {
    /// Commits one indexing step without a lease (one daemon per database).
    public func commit(_ batch: IndexBatch, chain: Int64) async throws {
        try await commit(batch, chain: chain, lease: nil)
    }

    /// Saves chain-read states without a lease.
    public func saveStates(chain: Int64, allowances: [AllowanceState], balances: [BalanceState]) async throws {
        try await saveStates(chain: chain, allowances: allowances, balances: balances, lease: nil)
    }

    /// Rolls back above `ancestor` without a lease.
    public func rollback(chain: Int64, above ancestor: UInt64) async throws -> RollbackSummary {
        try await rollback(chain: chain, above: ancestor, lease: nil)
    }

    /// `allowancePage` from three reads (chain id, current allowances, history); a backend that can read them in one
    /// snapshot does so instead.
    public func allowancePage(chain name: String, owner: EVMAddress, token: EVMAddress?, spender: EVMAddress?,
                              after: (block: UInt64, logIndex: UInt64)?, limit: Int) async throws -> AllowancePageRows? {
        guard let chain = try await chainID(named: name) else { return nil }
        return AllowancePageRows(
            current: try await currentAllowances(chain: chain, owner: owner, token: token, spender: spender),
            history: try await allowanceHistory(chain: chain, owner: owner, token: token, spender: spender, after: after, limit: limit))
    }

    /// Indexed `Approval`s by `owner`, oldest first, all of them (optionally for one token and/or spender).
    public func allowanceHistory(chain: Int64, owner: EVMAddress, token: EVMAddress? = nil, spender: EVMAddress? = nil) async throws -> [ApprovalRecord] {
        try await allowanceHistory(chain: chain, owner: owner, token: token, spender: spender, after: nil, limit: nil)
    }

    /// Current allowances of `owner` to every spender in every token.
    public func currentAllowances(chain: Int64, owner: EVMAddress) async throws -> [AllowanceState] {
        try await currentAllowances(chain: chain, owner: owner, token: nil, spender: nil)
    }

    /// Current balances of `owner` in every token.
    public func balances(chain: Int64, owner: EVMAddress) async throws -> [BalanceState] {
        try await balances(chain: chain, owner: owner, token: nil)
    }

    /// Starts following a transaction the daemon sent, now, without a lease.
    public func watch(chain: Int64, hash: Hash32) async throws {
        try await watch(chain: chain, hash: hash, now: UInt64(Date().timeIntervalSince1970), lease: nil)
    }

    /// Records what the chain says about a watched transaction, without a lease.
    public func update(chain: Int64, _ transaction: WatchedTransaction, now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws {
        try await update(chain: chain, transaction, now: now, lease: nil)
    }
}

/// A wallet's current allowances and one page of its approval history, as `EVMIndexStore.allowancePage` reads them.
public struct AllowancePageRows: Sendable, Equatable {
    public var current: [AllowanceState]
    public var history: [ApprovalRecord]

    public init(current: [AllowanceState], history: [ApprovalRecord]) {
        self.current = current
        self.history = history
    }
}
