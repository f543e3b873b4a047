import Leases
import Logging
import SettleConfiguration
import Solana
import Transport

/// What one `indexOnce` pass did.
public struct SolanaIndexReport: Sendable, Codable, Hashable {
    public var accountsTracked = 0
    public var transactionsIndexed = 0
    public var eventsIndexed = 0
    public var finalized = 0
    public var dropped = 0
    /// Token accounts whose chain state disagreed with what their indexed transactions imply (logged, repaired).
    public var stateMismatches = 0
    /// Signatures listed but not (yet) returned by getTransaction; retried on the next pass.
    public var missingTransactions = 0
    /// RPC calls spent.
    public var rpcCalls = 0
}

/// Follows, on one Solana cluster, every token account that delegated to our delegate keys (and the accounts of
/// configured owners): signatures newest-first with `before` paging down to the last indexed one (`until`), each
/// transaction fetched once at `confirmed`, SPL Token / Token-2022 events decoded from outer and inner instructions
/// of legacy and v0 transactions, rows marked final at `finalized` and dropped if their transaction never
/// finalizes; token account state read from the chain and checked against what the transactions imply.
public actor SolanaChainIndexer {
    public nonisolated let config: SolanaChainConfig
    public nonisolated let node: SolanaNode
    public nonisolated let store: any SolanaIndexStore
    let delegates: [SolanaPublicKey]
    let logger: Logger
    private var chain: Int64?

    public init(config: SolanaChainConfig, node: SolanaNode, store: any SolanaIndexStore, delegates: [SolanaPublicKey], logger: Logger) {
        self.config = config
        self.node = node
        self.store = store
        self.delegates = Array(Set(delegates + config.delegates)).sorted()
        self.logger = logger
    }

    /// The chain's id in the store.
    public func prepare() async throws -> Int64 {
        if let chain { return chain }
        let id = try await store.register(name: config.name)
        chain = id
        return id
    }

    /// One full pass: discover accounts, index new transactions, settle finality, refresh and check state.
    ///
    /// With a `lease`, every write of the pass checks it in its own transaction: once another daemon holds the work
    /// (a later epoch), the pass stops at its next write with `StoreError.Code.fenced` and commits nothing more.
    @discardableResult
    public func indexOnce(lease: Lease? = nil) async throws -> SolanaIndexReport {
        let chain = try await prepare()
        var report = SolanaIndexReport()
        try await discover(chain: chain, lease: lease, report: &report)
        let accounts = try await store.trackedAccounts(chain: chain)
        report.accountsTracked = accounts.count
        let owners = Dictionary(accounts.map { ($0.account, $0.owner) }, uniquingKeysWith: { a, _ in a })
        for account in accounts {
            try Task.checkCancellation()
            try await sync(chain: chain, account: account, owners: owners, lease: lease, report: &report)
        }
        try await settleFinality(chain: chain, lease: lease, report: &report)
        try await refreshStates(chain: chain, accounts: accounts, lease: lease, report: &report)
        return report
    }

    /// Follows forever (until cancelled), one pass every `pollInterval`, every commit fenced by `lease` when given.
    public func run(lease: Lease? = nil, report: (@Sendable (SolanaIndexReport) -> Void)? = nil) async throws {
        while !Task.isCancelled {
            do {
                report?(try await indexOnce(lease: lease))
            } catch let error as RPCError {
                logger.warning("Solana pass failed; will retry", metadata: ["chain": "\(config.name)", "error": "\(error)"])
            }
            try await Task.sleep(for: config.pollInterval)
        }
    }

    // MARK: - Discovery

    /// Token accounts delegated to one of our delegates, and every token account (of a configured mint) of their
    /// owners and of configured owners.
    func discover(chain: Int64, lease: Lease?, report: inout SolanaIndexReport) async throws {
        let mints = Dictionary(config.tokens.map { ($0.mint, $0) }, uniquingKeysWith: { a, _ in a })
        let programs = Set(config.tokens.map(\.program))
        var owners = Set(config.owners)
        for delegate in delegates {
            for program in programs {
                report.rpcCalls += 1
                for (address, account) in try await node.tokenAccounts(by: .delegate, delegate, program: program) {
                    guard let state = try? TokenAccount(data: account.data), mints[state.mint] != nil else { continue }
                    owners.insert(state.owner)
                    try await store.track(chain: chain, TrackedTokenAccount(account: address, owner: state.owner, mint: state.mint, program: program), lease: lease)
                }
            }
        }
        for tracked in try await store.trackedAccounts(chain: chain) { owners.insert(tracked.owner) }
        for owner in owners.sorted() {
            for program in programs {
                report.rpcCalls += 1
                for (address, account) in try await node.tokenAccounts(by: .owner, owner, program: program) {
                    guard let state = try? TokenAccount(data: account.data), mints[state.mint] != nil else { continue }
                    try await store.track(chain: chain, TrackedTokenAccount(account: address, owner: state.owner, mint: state.mint, program: program), lease: lease)
                }
            }
        }
    }

    // MARK: - Transactions

    /// Indexes the account's signatures newer than its cursor, oldest first, moving the cursor only past what was
    /// indexed: a transaction the node cannot return yet stops the account's pass (retried next time).
    func sync(chain: Int64, account: TrackedTokenAccount, owners: [SolanaPublicKey: SolanaPublicKey], lease: Lease?,
              report: inout SolanaIndexReport) async throws {
        var newer: [SignatureInfo] = []
        var before: SolanaSignature?
        while true {
            report.rpcCalls += 1
            let page = try await node.signatures(for: account.account, before: before, until: account.newestSignature, limit: 1000)
            newer += page
            guard page.count == 1000, let last = page.last else { break }
            before = last.signature
        }
        guard !newer.isEmpty else { return }
        let known = try await store.known(chain: chain, newer.map(\.signature))
        var batch: [(transaction: FetchedSolanaTransaction, events: [TokenEvent])] = []
        var newest: SolanaSignature?
        // Commits every `Self.transactionsPerCommit` transactions, oldest first, so a long backfill keeps its
        // progress across a crash: the cursor only ever names a signature all of whose predecessors are indexed.
        for info in newer.reversed() {  // oldest first
            if known.contains(info.signature) {
                newest = info.signature
                continue
            }
            report.rpcCalls += 1
            guard let transaction = try await node.transaction(info.signature) else {
                report.missingTransactions += 1
                logger.warning("signature listed but getTransaction returned nothing; will retry", metadata: [
                    "chain": "\(config.name)", "tx.signature": "\(info.signature)",
                ])
                break
            }
            let events = TokenEvent.decode(transaction) { instruction in
                self.logger.error("token instruction too short for its layout; not indexed", metadata: [
                    "tx.signature": "\(info.signature)", "instruction": "\(instruction.outerIndex)",
                ])
            }
            batch.append((transaction, events))
            report.transactionsIndexed += 1
            report.eventsIndexed += events.count
            newest = info.signature
            if batch.count >= Self.transactionsPerCommit {
                try await commit(chain: chain, account: account.account, batch, newest: newest, owners: owners, lease: lease)
                batch.removeAll()
            }
        }
        try await commit(chain: chain, account: account.account, batch, newest: newest, owners: owners, lease: lease)
    }

    /// Transactions written per commit during a sync.
    static let transactionsPerCommit = 50

    /// Stores a batch (owners of the accounts it touches filled in from the transactions' token balances) and moves
    /// the account's cursor to `newest`, in one transaction.
    private func commit(chain: Int64, account: SolanaPublicKey, _ batch: [(transaction: FetchedSolanaTransaction, events: [TokenEvent])],
                        newest: SolanaSignature?, owners: [SolanaPublicKey: SolanaPublicKey], lease: Lease?) async throws {
        var eventOwners = owners
        for (transaction, _) in batch {
            for entry in transaction.preTokenBalances + transaction.postTokenBalances where entry.accountIndex < transaction.accountKeys.count {
                let key = transaction.accountKeys[entry.accountIndex]
                if eventOwners[key] == nil, let owner = entry.owner { eventOwners[key] = owner }
            }
        }
        guard !batch.isEmpty || newest != nil else { return }
        try await store.commit(chain: chain, batch, owners: eventOwners, removing: [], cursor: newest.map { (account, $0) }, lease: lease)
    }

    // MARK: - Finality

    /// Marks confirmed transactions finalized; drops the ones the cluster no longer has once their slot is final.
    func settleFinality(chain: Int64, lease: Lease?, report: inout SolanaIndexReport) async throws {
        let pending = try await store.unfinalized(chain: chain)
        guard !pending.isEmpty else { return }
        report.rpcCalls += 1
        let finalizedSlot = try await node.slot(.finalized)
        var finalized: [SolanaSignature] = []
        var dropped: [SolanaSignature] = []
        var offset = 0
        while offset < pending.count {
            let chunk = Array(pending[offset..<min(offset + 256, pending.count)])
            offset += chunk.count
            report.rpcCalls += 1
            let statuses = try await node.statuses(chunk.map(\.signature))
            for (entry, status) in zip(chunk, statuses) {
                if let status, status.status == .finalized {
                    finalized.append(entry.signature)
                } else if status == nil, entry.slot <= finalizedSlot {
                    dropped.append(entry.signature)
                }
            }
        }
        if !dropped.isEmpty {
            logger.warning("confirmed transactions that never finalized; their rows are dropped", metadata: [
                "chain": "\(config.name)", "count": "\(dropped.count)",
            ])
        }
        try await store.settle(chain: chain, finalized: finalized, dropped: dropped, finalizedSlot: finalizedSlot, lease: lease)
        report.finalized += finalized.count
        report.dropped += dropped.count
    }

    // MARK: - State

    /// Reads every tracked account and checks delegate and delegated amount against the indexed events.
    func refreshStates(chain: Int64, accounts: [TrackedTokenAccount], lease: Lease?, report: inout SolanaIndexReport) async throws {
        guard !accounts.isEmpty else { return }
        report.rpcCalls += 2
        let slot = try await node.slot(.confirmed)
        var states: [SolanaAccountState] = []
        var offset = 0
        while offset < accounts.count {
            let chunk = Array(accounts[offset..<min(offset + 100, accounts.count)])
            offset += chunk.count
            for (tracked, fetched) in zip(chunk, try await node.accounts(chunk.map(\.account))) {
                guard let fetched, let state = try? TokenAccount(data: fetched.data) else { continue }
                states.append(SolanaAccountState(account: tracked.account, amount: state.amount, delegate: state.delegate,
                                                 delegatedAmount: state.delegatedAmount, slot: slot))
            }
        }
        for state in states {
            let implied = try await store.impliedDelegation(chain: chain, account: state.account)
            if implied.delegate != state.delegate || implied.amount != state.delegatedAmount {
                report.stateMismatches += 1
                logger.warning("token account state differs from its indexed transactions; stored state repaired from the chain", metadata: [
                    "chain": "\(config.name)", "account": "\(state.account)",
                    "implied.delegate": "\(implied.delegate?.description ?? "none")", "implied.amount": "\(implied.amount)",
                    "chain.delegate": "\(state.delegate?.description ?? "none")", "chain.amount": "\(state.delegatedAmount)",
                ])
            }
        }
        try await store.saveStates(chain: chain, states, lease: lease)
    }
}
