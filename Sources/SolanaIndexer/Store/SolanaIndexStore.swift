import Leases
import Solana

/// The Solana index as the indexer, the API and the CLI see it, in domain terms: tracked token accounts with their
/// signature cursors, transactions (confirmed or finalized), decoded token events, and token account state read from
/// the chain. `SQLiteSolanaIndexStore` (one daemon, embedded) and `PostgresSolanaIndexStore` (several daemons on one
/// database) keep it; nothing above this protocol writes SQL.
///
/// Writes that go together commit together: a batch's transactions, their events, the transactions it replaces
/// and the account's cursor in one transaction. Every write takes an optional `Lease`: given one, the write checks
/// in its own transaction that the lease is still current (`StoreError.Code.fenced` otherwise, nothing written), so
/// an indexer that lost its lease while paused cannot commit. Without one it writes as a lone daemon does.
public protocol SolanaIndexStore: Sendable {
    /// Creates or upgrades the schema (idempotent).
    func migrate() async throws

    /// The chain's id, registering it on first use.
    func register(name: String) async throws -> Int64

    /// The id of an already registered chain, or nil.
    func chainID(named name: String) async throws -> Int64?

    /// Starts following a token account (idempotent; its cursor is kept).
    func track(chain: Int64, _ account: TrackedTokenAccount, lease: Lease?) async throws

    /// Every followed token account, by account key.
    func trackedAccounts(chain: Int64) async throws -> [TrackedTokenAccount]

    /// Which of `signatures` are already indexed.
    func known(chain: Int64, _ signatures: [SolanaSignature]) async throws -> Set<SolanaSignature>

    /// In one transaction: deletes the transactions `removing` (with their events), stores `transactions` at
    /// `confirmed` with their events (already known ones, and repeats within the batch, are skipped with their
    /// events), and moves `cursor.account`'s cursor to `cursor.newest`. `owners` maps token accounts to their owners
    /// for the events' owner column.
    func commit(chain: Int64, _ transactions: [(transaction: FetchedSolanaTransaction, events: [TokenEvent])],
                owners: [SolanaPublicKey: SolanaPublicKey], removing: [SolanaSignature],
                cursor: (account: SolanaPublicKey, newest: SolanaSignature)?, lease: Lease?) async throws

    /// Confirmed (not yet finalized) transactions, by slot.
    func unfinalized(chain: Int64) async throws -> [(signature: SolanaSignature, slot: UInt64)]

    /// Marks transactions finalized, deletes (with their events) confirmed ones that will never finalize, and raises
    /// the chain's finalized slot to `finalizedSlot`, in one transaction.
    func settle(chain: Int64, finalized: [SolanaSignature], dropped: [SolanaSignature], finalizedSlot: UInt64, lease: Lease?) async throws

    /// Records token account state read from the chain (a state older than the stored one is ignored).
    func saveStates(chain: Int64, _ states: [SolanaAccountState], lease: Lease?) async throws

    /// Indexed events, oldest first (slot, signature, instruction): of the token accounts of `owner` (optionally one
    /// mint, and some kinds only), or all.
    func events(chain: Int64, owner: SolanaPublicKey?, mint: SolanaPublicKey?, kinds: Set<TokenEvent.Kind>?) async throws -> [SolanaEventRecord]

    /// Token account states of `owner` (optionally one mint) as last read from the chain, by account key.
    func states(chain: Int64, owner: SolanaPublicKey, mint: SolanaPublicKey?) async throws -> [SolanaAccountState]

    /// The delegate and delegated amount the indexed events of `account` imply (`SolanaDelegationRule`).
    func impliedDelegation(chain: Int64, account: SolanaPublicKey) async throws -> (delegate: SolanaPublicKey?, amount: UInt64)

    /// A page of a wallet's allowance history to `delegate`: approvals to the delegate, transfers the delegate signed
    /// (each spends from the delegation) and every revoke, on `owner`'s token accounts (only those of `mint` when
    /// given), oldest first, starting after `after`; at most `limit` events. Reads about `limit` rows however long
    /// the wallet's history is (keyset pagination on `sol_events_by_party`).
    func delegateHistory(chain: Int64, owner: SolanaPublicKey, delegate: SolanaPublicKey, mint: SolanaPublicKey?,
                         after: SolanaHistoryPosition?, limit: Int) async throws -> [SolanaEventRecord]

    /// Stored transactions in a slot range with their events (in instruction order).
    func eventsBySignature(chain: Int64, fromSlot: UInt64, toSlot: UInt64) async throws -> [SolanaSignature: [TokenEvent]]
}

extension SolanaIndexStore {
    /// Starts following a token account, as a lone daemon.
    public func track(chain: Int64, _ account: TrackedTokenAccount) async throws {
        try await track(chain: chain, account, lease: nil)
    }

    /// Stores fetched transactions (confirmed) with their events in one transaction; already known ones are skipped.
    public func commit(chain: Int64, _ transactions: [(transaction: FetchedSolanaTransaction, events: [TokenEvent])],
                       owners: [SolanaPublicKey: SolanaPublicKey], lease: Lease? = nil) async throws {
        try await commit(chain: chain, transactions, owners: owners, removing: [], cursor: nil, lease: lease)
    }

    /// Deletes transactions (and their events).
    public func remove(chain: Int64, _ signatures: [SolanaSignature], lease: Lease? = nil) async throws {
        guard !signatures.isEmpty else { return }
        try await commit(chain: chain, [], owners: [:], removing: signatures, cursor: nil, lease: lease)
    }

    /// Marks transactions finalized and drops confirmed ones that will never finalize, as a lone daemon.
    public func settle(chain: Int64, finalized: [SolanaSignature], dropped: [SolanaSignature], finalizedSlot: UInt64) async throws {
        try await settle(chain: chain, finalized: finalized, dropped: dropped, finalizedSlot: finalizedSlot, lease: nil)
    }

    /// Records token account state read from the chain, as a lone daemon.
    public func saveStates(chain: Int64, _ states: [SolanaAccountState]) async throws {
        try await saveStates(chain: chain, states, lease: nil)
    }

    /// Indexed events of every kind, oldest first: of the token accounts of `owner` (optionally one mint), or all.
    public func events(chain: Int64, owner: SolanaPublicKey? = nil, mint: SolanaPublicKey? = nil) async throws -> [SolanaEventRecord] {
        try await events(chain: chain, owner: owner, mint: mint, kinds: nil)
    }

    /// Token account states of `owner`, every mint.
    public func states(chain: Int64, owner: SolanaPublicKey) async throws -> [SolanaAccountState] {
        try await states(chain: chain, owner: owner, mint: nil)
    }
}

/// What the indexed events of one token account imply about its delegation, by SPL Token semantics: Approve sets the
/// delegate and amount, Revoke clears both, a transfer signed by the delegate spends from the delegation (which clears
/// at zero). Failed transactions' events are not moves.
public enum SolanaDelegationRule {
    /// One event of the account, in history order.
    public struct Move: Hashable, Sendable {
        public var kind: TokenEvent.Kind
        public var counterparty: SolanaPublicKey?
        public var authority: SolanaPublicKey
        public var amount: UInt64

        public init(kind: TokenEvent.Kind, counterparty: SolanaPublicKey?, authority: SolanaPublicKey, amount: UInt64) {
            self.kind = kind
            self.counterparty = counterparty
            self.authority = authority
            self.amount = amount
        }
    }

    /// The delegation after `moves`, from none.
    public static func implied(_ moves: [Move]) -> (delegate: SolanaPublicKey?, amount: UInt64) {
        var delegate: SolanaPublicKey?
        var amount: UInt64 = 0
        for move in moves {
            switch move.kind {
            case .approve:
                delegate = move.counterparty
                amount = move.amount
            case .revoke:
                delegate = nil
                amount = 0
            case .transfer where delegate != nil && move.authority == delegate:
                amount = amount >= move.amount ? amount - move.amount : 0
                if amount == 0 { delegate = nil }
            case .transfer:
                break
            }
        }
        return (delegate, amount)
    }
}
