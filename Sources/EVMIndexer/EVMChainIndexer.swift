import SettleConfiguration
import EVM
import Leases
import Logging
import SettleCore
import Transport

/// Follows one EVM chain into the index: backfills from the configured start block in adaptive `eth_getLogs`
/// ranges, then follows the head; detects reorgs by parent hash, rolls back to the common ancestor and
/// re-indexes; keeps current allowances and balances of tracked wallets as the chain reports them.
///
/// One instance per chain, driven by one task (`run` or repeated `step`).
public actor EVMChainIndexer {
    public nonisolated let config: ChainConfig
    public nonisolated let node: EVMNode
    public nonisolated let store: any EVMIndexStore
    let logger: Logger
    /// The lease this indexer works under (nil: no fencing): every index write commits only while it is current.
    private(set) var lease: Lease?
    private var chain: ChainCursor?
    let spenders: [EVMAddress]
    var rangeSize: LogRangeSize
    /// How many `eth_getLogs` requests a full-mode backfill keeps in flight; kept across backfills, so a provider
    /// that throttled one does not get a full burst again when the next begins.
    var requestWindow: RequestWindow
    /// Set after start and after a reorg: refresh every tracked state once caught up.
    private var needsFullRefresh = true
    private var runStart: UInt64?

    /// Owners per `eth_getLogs` topic list (providers cap OR-lists; chunks stay well under common limits).
    static let ownerChunk = 500

    public init(config: ChainConfig, node: EVMNode, store: any EVMIndexStore, spenders: [EVMAddress], logger: Logger, lease: Lease? = nil) {
        self.config = config
        self.node = node
        self.store = store
        self.lease = lease
        self.spenders = Array(Set(spenders + config.spenders)).sorted()
        self.logger = logger
        self.rangeSize = LogRangeSize(maximum: config.maxLogRange)
        self.requestWindow = RequestWindow(maximum: config.requestsInFlight)
    }

    /// Works under `lease` from now on (after it was taken again with a new epoch), or unfenced with nil. A write
    /// under a lease that is no longer current throws `StoreError(.fenced)` and changes nothing.
    public func hold(_ lease: Lease?) {
        self.lease = lease
    }

    /// Checks the node's chain id and registers the chain in the store.
    public func prepare() async throws -> ChainCursor {
        if let chain { return chain }
        let reported = try await node.chainID()
        guard reported == config.chainID else {
            throw EVMIndexError(.wrongChain, "\(node.rpc.currentEndpoint) answers for chain id \(reported), but \(config.file) says \(config.chainID)")
        }
        if config.indexMode == .scoped && spenders.isEmpty {
            throw EVMIndexError(.nothingToIndex, "scoped indexing of \(config.name) needs a spender: set [signer] key or [index] spenders in \(config.file)")
        }
        let cursor = try await store.register(name: config.name, chainID: config.chainID, mode: config.indexMode.rawValue, startBlock: config.startBlock)
        chain = cursor
        runStart = cursor.nextBlock
        return cursor
    }

    /// The block the chain's finality policy calls final, given the head.
    func finalizedBlock(head: UInt64) async throws -> UInt64 {
        switch config.finality {
        case .finalizedTag:
            guard let header = try await node.header(.finalized) else {
                throw EVMIndexError(.inconsistentNode, "\(node.rpc.currentEndpoint) has no 'finalized' block; use [finality] mode = \"confirmations\"")
            }
            return min(header.number, head)
        case .confirmations(let n):
            return head >= n ? head - n : 0
        }
    }

    /// Indexes until the cursor passes the current head, then returns (`settled index --once`).
    public func indexToHead(progress: (@Sendable (IndexProgress) -> Void)? = nil) async throws {
        let head = try await node.blockNumber()
        try await backfillFinalized(head: head, progress: progress)
        while true {
            try Task.checkCancellation()
            guard let result = try await step(head: head) else { break }
            progress?(result)
            if result.toBlock >= head && result.reorg == nil { break }
        }
        try await checkWatchedTransactions(head: head)
    }

    /// Follows the chain forever (until cancelled), sleeping `pollInterval` when caught up.
    public func run(progress: (@Sendable (IndexProgress) -> Void)? = nil) async throws {
        while !Task.isCancelled {
            do {
                let head = try await node.blockNumber()
                try await backfillFinalized(head: head, progress: progress)
                if let result = try await step(head: head) {
                    progress?(result)
                    if result.toBlock < head || result.reorg != nil { continue }
                }
                try await checkWatchedTransactions(head: head)
            } catch let error as RPCError {
                logger.warning("indexing step failed; will retry", metadata: ["chain": "\(config.name)", "error": "\(error)"])
            } catch let error as EVMIndexError where error.code == .inconsistentNode {
                logger.warning("node answers contradict each other; will retry", metadata: ["chain": "\(config.name)", "error": "\(error)"])
            }
            try await Task.sleep(for: config.pollInterval)
        }
    }

    /// One step: reorg check, then the next range up to `head`. Nil when there is nothing to do.
    public func step(head: UInt64) async throws -> IndexProgress? {
        var cursor = try await prepare()
        cursor = try await store.cursor(chain: cursor.id)
        let start = runStart ?? cursor.nextBlock

        // Reorg check: does the node still have the last block we indexed?
        if cursor.nextBlock > 0, let stored = try await store.header(chain: cursor.id, number: cursor.nextBlock - 1) {
            let current = try await node.header(.number(stored.number))
            if current?.hash != stored.hash {
                return try await handleReorg(cursor: cursor, head: head, start: start)
            }
        }
        let finalized = try await finalizedBlock(head: head)
        if cursor.nextBlock > head {
            if needsFullRefresh { try await refreshAllStates(cursor: cursor, at: head) }
            return nil
        }
        let from = cursor.nextBlock
        let fetched = try await fetchAdaptive(from: from, limit: head, cursor: cursor, headers: .all)
        let to = fetched.to

        var batch = IndexBatch(fromBlock: from, toBlock: to)
        batch.headers = fetched.headersToKeep(finalized: finalized, window: config.reorgWindow)
        batch.approvals = fetched.approvals
        batch.transfers = fetched.transfers
        batch.newOwners = fetched.newOwners
        batch.headBlock = head
        batch.finalizedBlock = finalized
        if finalized > config.reorgWindow { batch.pruneHeadersBelow = min(finalized - config.reorgWindow, to) }
        if to == head {
            // Caught up: read the chain's current view of what changed (or everything, after start or a reorg).
            let (allowances, balances) = try await readStates(
                keys: needsFullRefresh ? nil : fetched.affected, newOwners: fetched.newOwners.map(\.owner), cursor: cursor, at: to)
            batch.allowances = allowances
            batch.balances = balances
        } else {
            needsFullRefresh = needsFullRefresh || !fetched.affected.isEmpty
        }
        let storeStarted = ContinuousClock.now
        try await store.commit(batch, chain: cursor.id, lease: lease)
        if to == head { needsFullRefresh = false }
        var timings = fetched.timings
        timings.store = storeStarted.secondsUntilNow
        return IndexProgress(fromBlock: from, toBlock: to, headBlock: head, startBlock: start,
                             approvals: fetched.approvals.count, transfers: fetched.transfers.count, timings: timings)
    }

    func markRefreshed() { needsFullRefresh = false }

    func markNeedsRefresh() { needsFullRefresh = true }

    /// Fetches `from…` up to `limit`, as many blocks as the adaptive range allows, shrinking on "too many results",
    /// response-size and timeout errors (to the provider's suggested range when it names one).
    func fetchAdaptive(from: UInt64, limit: UInt64, cursor: ChainCursor, headers: HeaderPolicy,
                       pendingOwners: [EVMAddress: UInt64] = [:], knownOwners: [EVMAddress: UInt64]? = nil) async throws -> FetchedRange {
        var to = min(limit, from + rangeSize.current - 1)
        while true {
            do {
                let fetched = try await fetch(from: from, to: to, cursor: cursor, headers: headers, pendingOwners: pendingOwners,
                                              knownOwners: knownOwners)
                rangeSize.answered(size: to - from + 1)
                return fetched
            } catch let error as RPCError {
                guard let size = Self.sizeAfterRefusal(error, from: from, to: to) else { throw error }
                rangeSize.refused(size: to - from + 1, next: size)
                to = from + size - 1
                logger.debug("shrinking eth_getLogs range", metadata: ["chain": "\(config.name)", "to": "\(to)", "error": "\(error)"])
            }
        }
    }

    // MARK: - Reorgs

    private func handleReorg(cursor: ChainCursor, head: UInt64, start: UInt64) async throws -> IndexProgress {
        let stored = try await store.headers(chain: cursor.id, atOrBelow: cursor.nextBlock - 1, limit: Int(config.reorgWindow))
        let current = try await node.headers(stored.map(\.number).filter { $0 <= head })
        let currentByNumber = Dictionary(current.map { ($0.number, $0.hash) }, uniquingKeysWith: { a, _ in a })
        guard let ancestor = stored.first(where: { currentByNumber[$0.number] == $0.hash }) else {
            throw EVMIndexError(.reorgTooDeep, "no common ancestor among the last \(stored.count) stored headers of \(config.name); run `settled replay` from an earlier block")
        }
        let summary = try await store.rollback(chain: cursor.id, above: ancestor.number, lease: lease)
        needsFullRefresh = true
        logger.warning("reorg: rolled back to common ancestor", metadata: [
            "chain": "\(config.name)", "block.number": "\(ancestor.number)",
            "approvals.removed": "\(summary.approvalsRemoved)", "transfers.removed": "\(summary.transfersRemoved)",
        ])
        return IndexProgress(fromBlock: ancestor.number + 1, toBlock: ancestor.number, headBlock: head, startBlock: start,
                             approvals: 0, transfers: 0, reorg: summary, reorgAncestor: ancestor.number)
    }
}
