import Leases
import SettleCore
import Solana
import Store

/// The Solana index in SQLite (`SolanaIndexStore`): tracked token accounts with their signature cursors,
/// transactions (confirmed or finalized), decoded token events, and token account state read from the chain. A
/// write under a lease checks it (`SQLiteLeaseStore.fence`) in its own transaction, so the `leases` table must be in
/// the same database (`SQLiteLeaseStore` creates it).
public final class SQLiteSolanaIndexStore: SolanaIndexStore {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    public func migrate() async throws {
        try await database.migrate(module: SQLiteSolanaIndexSchema.module, SQLiteSolanaIndexSchema.migrations)
    }

    /// The schema this build migrates to: module name and latest version (for `settled doctor`).
    public static var schema: (module: String, version: Int) { (SQLiteSolanaIndexSchema.module, SQLiteSolanaIndexSchema.migrations.count) }

    public func register(name: String) async throws -> Int64 {
        try await database.write { db in
            try db.statement("INSERT INTO sol_chains(name) VALUES (?) ON CONFLICT(name) DO NOTHING").run([.text(name)])
            let select = try db.statement("SELECT id FROM sol_chains WHERE name = ?")
            select.bind(name, at: 1)
            guard try select.step() else { throw StoreError(.corruptValue, "chain \(name) vanished") }
            return select.int64(0)
        }
    }

    public func chainID(named name: String) async throws -> Int64? {
        try await database.read { db in
            let select = try db.statement("SELECT id FROM sol_chains WHERE name = ?")
            select.bind(name, at: 1)
            return try select.step() ? select.int64(0) : nil
        }
    }

    public func track(chain: Int64, _ account: TrackedTokenAccount, lease: Lease?) async throws {
        try await database.write { db in
            if let lease { try SQLiteLeaseStore.fence(db, lease) }
            var keys = KeyIDs(db: db)
            let insert = try db.statement("""
                INSERT INTO sol_token_accounts(chain, account, owner, mint, program) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(chain, account) DO NOTHING
                """)
            try insert.run([.integer(chain), .integer(try keys.id(account.account)), .integer(try keys.id(account.owner)),
                        .integer(try keys.id(account.mint)), .integer(try keys.id(account.program.programID))])
        }
    }

    public func trackedAccounts(chain: Int64) async throws -> [TrackedTokenAccount] {
        try await database.read { db in
            let select = try db.statement("""
                SELECT a.key, o.key, m.key, p.key, t.newest_signature FROM sol_token_accounts t
                JOIN sol_keys a ON a.id = t.account JOIN sol_keys o ON o.id = t.owner
                JOIN sol_keys m ON m.id = t.mint JOIN sol_keys p ON p.id = t.program
                WHERE t.chain = ? ORDER BY a.key
                """)
            select.bind(chain, at: 1)
            var out: [TrackedTokenAccount] = []
            while try select.step() {
                out.append(TrackedTokenAccount(
                    account: try Value.key(select.blob(0)), owner: try Value.key(select.blob(1)), mint: try Value.key(select.blob(2)),
                    program: try Value.program(select.blob(3)), newestSignature: select.isNull(4) ? nil : try Value.signature(select.blob(4))))
            }
            return out
        }
    }

    public func known(chain: Int64, _ signatures: [SolanaSignature]) async throws -> Set<SolanaSignature> {
        try await database.read { db in
            let select = try db.statement("SELECT 1 FROM sol_transactions WHERE chain = ? AND signature = ?")
            var out = Set<SolanaSignature>()
            for signature in signatures {
                select.reset()
                select.bind(chain, at: 1)
                select.bind(signature.rawValue.bytes, at: 2)
                if try select.step() { out.insert(signature) }
            }
            return out
        }
    }

    public func commit(chain: Int64, _ transactions: [(transaction: FetchedSolanaTransaction, events: [TokenEvent])],
                       owners: [SolanaPublicKey: SolanaPublicKey], removing: [SolanaSignature],
                       cursor: (account: SolanaPublicKey, newest: SolanaSignature)?, lease: Lease?) async throws {
        try await database.write { db in
            if let lease { try SQLiteLeaseStore.fence(db, lease) }
            if !removing.isEmpty {
                let delete = try db.statement("DELETE FROM sol_transactions WHERE chain = ? AND signature = ?")
                for signature in removing { try delete.run([.integer(chain), .blob(signature.rawValue.bytes)]) }
            }
            var keys = KeyIDs(db: db)
            let insertTransaction = try db.statement("""
                INSERT INTO sol_transactions(chain, signature, slot, block_time, failed, status) VALUES (?, ?, ?, ?, ?, 'confirmed')
                ON CONFLICT DO NOTHING
                """)
            let insertEvent = try db.statement("""
                INSERT INTO sol_events(chain, signature, outer_index, inner_index, slot, block_time, kind, program, source,
                counterparty, authority, owner, mint, amount, decimals) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for (transaction, events) in transactions {
                let signature = transaction.signature.rawValue.bytes
                let slot = try Value.stored(transaction.slot, "slot")
                let blockTime = try transaction.blockTime.map { time throws(StoreError) in try Value.stored(time, "block time") }
                try insertTransaction.run([
                    .integer(chain), .blob(signature), .integer(slot), blockTime.map { .integer($0) } ?? .null, .integer(transaction.failed ? 1 : 0),
                ])
                guard db.changes == 1 else { continue }  // indexed before
                for event in events {
                    let owner = owners[event.source]
                    try insertEvent.run([
                        .integer(chain), .blob(signature), .integer(Int64(event.outerIndex)), .integer(Value.inner(event.innerIndex)),
                        .integer(slot), blockTime.map { .integer($0) } ?? .null,
                        .text(event.kind.rawValue), .integer(try keys.id(event.program.programID)), .integer(try keys.id(event.source)),
                        try event.counterparty.map { .integer(try keys.id($0)) } ?? .null, .integer(try keys.id(event.authority)),
                        try owner.map { .integer(try keys.id($0)) } ?? .null, try event.mint.map { .integer(try keys.id($0)) } ?? .null,
                        .blob(Value.u64(event.amount)), event.decimals.map { .integer(Int64($0)) } ?? .null,
                    ])
                }
            }
            if let cursor {
                let update = try db.statement("""
                    UPDATE sol_token_accounts SET newest_signature = ? WHERE chain = ? AND account = (SELECT id FROM sol_keys WHERE key = ?)
                    """)
                try update.run([.blob(cursor.newest.rawValue.bytes), .integer(chain), .blob(cursor.account.bytes)])
            }
        }
    }

    public func unfinalized(chain: Int64) async throws -> [(signature: SolanaSignature, slot: UInt64)] {
        try await database.read { db in
            let select = try db.statement("SELECT signature, slot FROM sol_transactions WHERE chain = ? AND status = 'confirmed' ORDER BY slot")
            select.bind(chain, at: 1)
            var out: [(SolanaSignature, UInt64)] = []
            while try select.step() { out.append((try Value.signature(select.blob(0)), try select.uint64(1))) }
            return out
        }
    }

    public func settle(chain: Int64, finalized: [SolanaSignature], dropped: [SolanaSignature], finalizedSlot: UInt64, lease: Lease?) async throws {
        let finalizedSlot = try Value.stored(finalizedSlot, "finalized slot")
        try await database.write { db in
            if let lease { try SQLiteLeaseStore.fence(db, lease) }
            let mark = try db.statement("UPDATE sol_transactions SET status = 'finalized' WHERE chain = ? AND signature = ?")
            for signature in finalized { try mark.run([.integer(chain), .blob(signature.rawValue.bytes)]) }
            let drop = try db.statement("DELETE FROM sol_transactions WHERE chain = ? AND signature = ? AND status = 'confirmed'")
            for signature in dropped { try drop.run([.integer(chain), .blob(signature.rawValue.bytes)]) }
            let slot = try db.statement("UPDATE sol_chains SET finalized_slot = max(coalesce(finalized_slot, 0), ?) WHERE id = ?")
            try slot.run([.integer(finalizedSlot), .integer(chain)])
        }
    }

    public func saveStates(chain: Int64, _ states: [SolanaAccountState], lease: Lease?) async throws {
        try await database.write { db in
            if let lease { try SQLiteLeaseStore.fence(db, lease) }
            var keys = KeyIDs(db: db)
            let upsert = try db.statement("""
                INSERT INTO sol_account_state(chain, account, amount, delegate, delegated_amount, slot) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(chain, account) DO UPDATE SET amount = excluded.amount, delegate = excluded.delegate,
                delegated_amount = excluded.delegated_amount, slot = excluded.slot WHERE excluded.slot >= sol_account_state.slot
                """)
            for state in states {
                try upsert.run([.integer(chain), .integer(try keys.id(state.account)), .blob(Value.u64(state.amount)),
                            try state.delegate.map { .integer(try keys.id($0)) } ?? .null, .blob(Value.u64(state.delegatedAmount)),
                            .integer(try Value.stored(state.slot, "slot"))])
            }
        }
    }

    typealias Value = SolanaStoredValue
}

/// Interns public keys to row ids inside one write transaction.
struct KeyIDs {
    let db: SQLiteConnection
    var cache: [SolanaPublicKey: Int64] = [:]

    init(db: SQLiteConnection) { self.db = db }

    mutating func id(_ key: SolanaPublicKey) throws -> Int64 {
        if let id = cache[key] { return id }
        try db.statement("INSERT INTO sol_keys(key) VALUES (?) ON CONFLICT(key) DO NOTHING").run([.blob(key.bytes)])
        let select = try db.statement("SELECT id FROM sol_keys WHERE key = ?")
        select.bind(key.bytes, at: 1)
        guard try select.step() else { throw StoreError(.corruptValue, "key vanished") }
        let id = select.int64(0)
        select.reset()
        cache[key] = id
        return id
    }
}
