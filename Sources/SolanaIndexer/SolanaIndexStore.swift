import SettleCore
import Solana
import Store

/// The Solana index in SQLite: tracked token accounts with their signature cursors, transactions (confirmed or
/// finalized), decoded token events, and token account state read from the chain.
public final class SolanaIndexStore: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    public func migrate() async throws {
        try await database.migrate(module: SolanaIndexSchema.module, SolanaIndexSchema.migrations)
    }

    /// The chain's id, registering it on first use.
    public func register(name: String) async throws -> Int64 {
        try await database.write { db in
            try db.statement("INSERT INTO sol_chains(name) VALUES (?) ON CONFLICT(name) DO NOTHING").run([.text(name)])
            let select = try db.statement("SELECT id FROM sol_chains WHERE name = ?")
            select.bind(name, at: 1)
            guard try select.step() else { throw StoreError(.corruptValue, "chain \(name) vanished") }
            return select.int64(0)
        }
    }

    /// The id of an already registered chain, or nil.
    public func chainID(named name: String) async throws -> Int64? {
        try await database.read { db in
            let select = try db.statement("SELECT id FROM sol_chains WHERE name = ?")
            select.bind(name, at: 1)
            return try select.step() ? select.int64(0) : nil
        }
    }

    /// Starts following a token account (idempotent; its cursor is kept).
    public func track(chain: Int64, _ account: TrackedTokenAccount) async throws {
        try await database.write { db in
            var keys = KeyIDs(db: db)
            let insert = try db.statement("""
                INSERT INTO sol_token_accounts(chain, account, owner, mint, program) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(chain, account) DO NOTHING
                """)
            try insert.run([.integer(chain), .integer(try keys.id(account.account)), .integer(try keys.id(account.owner)),
                        .integer(try keys.id(account.mint)), .integer(try keys.id(account.program.programID))])
        }
    }

    /// Every followed token account.
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
                guard let program = TokenProgram(programID: try Self.key(select.blob(3))) else {
                    throw StoreError(.corruptValue, "tracked account with an unknown token program")
                }
                out.append(TrackedTokenAccount(
                    account: try Self.key(select.blob(0)), owner: try Self.key(select.blob(1)), mint: try Self.key(select.blob(2)),
                    program: program, newestSignature: select.isNull(4) ? nil : try Self.signature(select.blob(4))))
            }
            return out
        }
    }

    /// Which of `signatures` are already indexed.
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

    /// Stores fetched transactions (confirmed) with their events, in one transaction; already known ones are skipped.
    public func commit(chain: Int64, _ transactions: [(transaction: FetchedSolanaTransaction, events: [TokenEvent])],
                       owners: [SolanaPublicKey: SolanaPublicKey]) async throws {
        try await database.write { db in
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
                try insertTransaction.run([
                    .integer(chain), .blob(signature), .integer(Int64(transaction.slot)),
                    transaction.blockTime.map { .integer(Int64($0)) } ?? .null, .integer(transaction.failed ? 1 : 0),
                ])
                guard db.changes == 1 else { continue }  // indexed before
                for event in events {
                    let owner = owners[event.source]
                    try insertEvent.run([
                        .integer(chain), .blob(signature), .integer(Int64(event.outerIndex)), .integer(Int64(event.innerIndex ?? -1)),
                        .integer(Int64(transaction.slot)), transaction.blockTime.map { .integer(Int64($0)) } ?? .null,
                        .text(event.kind.rawValue), .integer(try keys.id(event.program.programID)), .integer(try keys.id(event.source)),
                        try event.counterparty.map { .integer(try keys.id($0)) } ?? .null, .integer(try keys.id(event.authority)),
                        try owner.map { .integer(try keys.id($0)) } ?? .null, try event.mint.map { .integer(try keys.id($0)) } ?? .null,
                        .blob(Self.u64(event.amount)), event.decimals.map { .integer(Int64($0)) } ?? .null,
                    ])
                }
            }
        }
    }

    /// Moves an account's cursor to the newest signature indexed for it.
    public func setNewest(chain: Int64, account: SolanaPublicKey, signature: SolanaSignature) async throws {
        try await database.write { db in
            let update = try db.statement("""
                UPDATE sol_token_accounts SET newest_signature = ? WHERE chain = ? AND account = (SELECT id FROM sol_keys WHERE key = ?)
                """)
            try update.run([.blob(signature.rawValue.bytes), .integer(chain), .blob(account.bytes)])
        }
    }

    /// Confirmed (not yet finalized) transactions.
    public func unfinalized(chain: Int64) async throws -> [(signature: SolanaSignature, slot: UInt64)] {
        try await database.read { db in
            let select = try db.statement("SELECT signature, slot FROM sol_transactions WHERE chain = ? AND status = 'confirmed' ORDER BY slot")
            select.bind(chain, at: 1)
            var out: [(SolanaSignature, UInt64)] = []
            while try select.step() { out.append((try Self.signature(select.blob(0)), try select.uint64(1))) }
            return out
        }
    }

    /// Marks transactions finalized and deletes (with their events) confirmed ones that will never finalize.
    public func settle(chain: Int64, finalized: [SolanaSignature], dropped: [SolanaSignature], finalizedSlot: UInt64) async throws {
        try await database.write { db in
            let mark = try db.statement("UPDATE sol_transactions SET status = 'finalized' WHERE chain = ? AND signature = ?")
            for signature in finalized { try mark.run([.integer(chain), .blob(signature.rawValue.bytes)]) }
            let drop = try db.statement("DELETE FROM sol_transactions WHERE chain = ? AND signature = ? AND status = 'confirmed'")
            for signature in dropped { try drop.run([.integer(chain), .blob(signature.rawValue.bytes)]) }
            let slot = try db.statement("UPDATE sol_chains SET finalized_slot = max(coalesce(finalized_slot, 0), ?) WHERE id = ?")
            try slot.run([.integer(Int64(finalizedSlot)), .integer(chain)])
        }
    }

    /// Records token account state read from the chain.
    public func saveStates(chain: Int64, _ states: [SolanaAccountState]) async throws {
        try await database.write { db in
            var keys = KeyIDs(db: db)
            let upsert = try db.statement("""
                INSERT INTO sol_account_state(chain, account, amount, delegate, delegated_amount, slot) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(chain, account) DO UPDATE SET amount = excluded.amount, delegate = excluded.delegate,
                delegated_amount = excluded.delegated_amount, slot = excluded.slot WHERE excluded.slot >= sol_account_state.slot
                """)
            for state in states {
                try upsert.run([.integer(chain), .integer(try keys.id(state.account)), .blob(Self.u64(state.amount)),
                            try state.delegate.map { .integer(try keys.id($0)) } ?? .null, .blob(Self.u64(state.delegatedAmount)),
                            .integer(Int64(state.slot))])
            }
        }
    }

    // MARK: - Values

    /// The stored form of a u64 amount (8 bytes, big-endian).
    public static func u64Bytes(_ value: UInt64) -> [UInt8] { u64(value) }

    static func u64(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    static func u64(_ bytes: [UInt8]) throws -> UInt64 {
        guard bytes.count == 8 else { throw StoreError(.corruptValue, "stored u64 is \(bytes.count) bytes") }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    static func key(_ bytes: [UInt8]) throws -> SolanaPublicKey {
        do { return try SolanaPublicKey(bytes: bytes) } catch { throw StoreError(.corruptValue, "stored key is \(bytes.count) bytes") }
    }

    static func signature(_ bytes: [UInt8]) throws -> SolanaSignature {
        guard let value = try? Bytes64(bytes) else { throw StoreError(.corruptValue, "stored signature is \(bytes.count) bytes") }
        return SolanaSignature(rawValue: value)
    }
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

extension SolanaIndexStore {
    /// The schema this build migrates to: module name and latest version (for `settled doctor`).
    public static var schema: (module: String, version: Int) { (SolanaIndexSchema.module, SolanaIndexSchema.migrations.count) }
}
