import Leases
import Logging
import PostgresNIO
import Solana
import Store

/// The Solana index in PostgreSQL (`SolanaIndexStore`), for several daemons on one database: the same tables as in
/// SQLite (`PostgresSolanaIndexSchema`). A write is one transaction, of a few statements whatever the batch size
/// (rows go in as arrays through `unnest`); under a lease it first checks and locks the lease's row
/// (`PostgresLeaseStore.fence`), so a hand-over waits for the write and a stale holder's write is refused whole.
public struct PostgresSolanaIndexStore: SolanaIndexStore {
    public let database: PostgresPool

    public init(database: PostgresPool) {
        self.database = database
    }

    /// The schema this build migrates to: module name and latest version.
    public static var schema: (module: String, version: Int) { (PostgresSolanaIndexSchema.module, PostgresSolanaIndexSchema.migrations.count) }

    var logger: Logger { database.logger }

    typealias Value = SolanaStoredValue

    public func migrate() async throws {
        try await database.migrate(module: PostgresSolanaIndexSchema.module, PostgresSolanaIndexSchema.migrations)
    }

    public func register(name: String) async throws -> Int64 {
        let logger = self.logger
        return try await transaction { connection in
            try await connection.query("INSERT INTO sol_chains(name) VALUES (\(name)) ON CONFLICT (name) DO NOTHING", logger: logger)
            for try await id in try await connection.query("SELECT id FROM sol_chains WHERE name = \(name)", logger: logger).decode(Int64.self) {
                return id
            }
            throw StoreError(.corruptValue, "chain \(name) vanished")
        }
    }

    public func chainID(named name: String) async throws -> Int64? {
        try await Self.mapped {
            for try await id in try await database.client.query("SELECT id FROM sol_chains WHERE name = \(name)", logger: logger).decode(Int64.self) {
                return id
            }
            return nil
        }
    }

    public func track(chain: Int64, _ account: TrackedTokenAccount, lease: Lease?) async throws {
        let logger = self.logger
        try await transaction { connection in
            if let lease { try await PostgresLeaseStore.fence(connection, lease, logger: logger) }
            let ids = try await Self.keyIDs(connection, [account.account, account.owner, account.mint, account.program.programID], logger: logger)
            try await connection.query("""
                INSERT INTO sol_token_accounts(chain, account, owner, mint, program)
                VALUES (\(chain), \(try Self.id(ids, account.account)), \(try Self.id(ids, account.owner)), \(try Self.id(ids, account.mint)),
                        \(try Self.id(ids, account.program.programID)))
                ON CONFLICT (chain, account) DO NOTHING
                """, logger: logger)
        }
    }

    public func commit(chain: Int64, _ transactions: [(transaction: FetchedSolanaTransaction, events: [TokenEvent])],
                       owners: [SolanaPublicKey: SolanaPublicKey], removing: [SolanaSignature],
                       cursor: (account: SolanaPublicKey, newest: SolanaSignature)?, lease: Lease?) async throws {
        // The batch as columns, checked before the transaction; a repeated signature keeps its first occurrence.
        var seen = Set<SolanaSignature>()
        var batch: [(transaction: FetchedSolanaTransaction, events: [TokenEvent], slot: Int64, blockTime: Int64)] = []
        for (transaction, events) in transactions where seen.insert(transaction.signature).inserted {
            let blockTime = try transaction.blockTime.map { time throws(StoreError) in try Value.stored(time, "block time") }
            batch.append((transaction, events, try Value.stored(transaction.slot, "slot"), blockTime ?? -1))
        }
        let logger = self.logger
        try await transaction { [batch] connection in
            if let lease { try await PostgresLeaseStore.fence(connection, lease, logger: logger) }
            if !removing.isEmpty {
                try await connection.query("""
                    DELETE FROM sol_transactions WHERE chain = \(chain) AND signature = ANY(\(removing.map { Self.buffer($0.rawValue.bytes) }))
                    """, logger: logger)
            }
            if !batch.isEmpty {
                let inserted = try await Self.insertTransactions(connection, chain: chain, batch, logger: logger)
                let fresh = batch.filter { inserted.contains($0.transaction.signature) }  // the others were indexed before
                try await Self.insertEvents(connection, chain: chain, fresh, owners: owners, logger: logger)
            }
            if let cursor {
                try await connection.query("""
                    UPDATE sol_token_accounts SET newest_signature = \(Self.buffer(cursor.newest.rawValue.bytes))
                    WHERE chain = \(chain) AND account = (SELECT id FROM sol_keys WHERE key = \(Self.buffer(cursor.account.bytes)))
                    """, logger: logger)
            }
        }
    }

    /// Inserts the batch's transactions at `confirmed`; the signatures that were new.
    static func insertTransactions(_ connection: PostgresConnection, chain: Int64,
                                   _ batch: [(transaction: FetchedSolanaTransaction, events: [TokenEvent], slot: Int64, blockTime: Int64)],
                                   logger: Logger) async throws -> Set<SolanaSignature> {
        let rows = try await connection.query("""
            INSERT INTO sol_transactions(chain, signature, slot, block_time, failed, status)
            SELECT \(chain), u.signature, u.slot, NULLIF(u.block_time, -1), u.failed, 'confirmed'
            FROM unnest(\(batch.map { buffer($0.transaction.signature.rawValue.bytes) })::bytea[], \(batch.map(\.slot))::bigint[],
                        \(batch.map(\.blockTime))::bigint[], \(batch.map(\.transaction.failed))::boolean[]) AS u(signature, slot, block_time, failed)
            ON CONFLICT DO NOTHING
            RETURNING signature
            """, logger: logger)
        var inserted = Set<SolanaSignature>()
        for try await signature in rows.decode(ByteBuffer.self) { inserted.insert(try Value.signature(bytes(signature))) }
        return inserted
    }

    /// Inserts the events of newly stored transactions, interning their keys first.
    static func insertEvents(_ connection: PostgresConnection, chain: Int64,
                             _ batch: [(transaction: FetchedSolanaTransaction, events: [TokenEvent], slot: Int64, blockTime: Int64)],
                             owners: [SolanaPublicKey: SolanaPublicKey], logger: Logger) async throws {
        var keys = Set<SolanaPublicKey>()
        for (_, events, _, _) in batch {
            for event in events {
                keys.formUnion([event.program.programID, event.source, event.authority])
                keys.formUnion([event.counterparty, owners[event.source], event.mint].compactMap { $0 })
            }
        }
        guard !keys.isEmpty else { return }
        let ids = try await keyIDs(connection, keys, logger: logger)
        // Columns; NULL travels as a value no row can hold (-1 for times and decimals, key id 0).
        var signature: [ByteBuffer] = [], outer: [Int64] = [], inner: [Int64] = [], slot: [Int64] = [], blockTime: [Int64] = []
        var kind: [String] = [], program: [Int64] = [], source: [Int64] = [], counterparty: [Int64] = [], authority: [Int64] = []
        var owner: [Int64] = [], mint: [Int64] = [], amount: [ByteBuffer] = [], decimals: [Int64] = []
        for (transaction, events, transactionSlot, time) in batch {
            let signatureBytes = buffer(transaction.signature.rawValue.bytes)
            for event in events {
                signature.append(signatureBytes)
                outer.append(Int64(event.outerIndex))
                inner.append(Value.inner(event.innerIndex))
                slot.append(transactionSlot)
                blockTime.append(time)
                kind.append(event.kind.rawValue)
                program.append(try id(ids, event.program.programID))
                source.append(try id(ids, event.source))
                counterparty.append(try event.counterparty.map { try id(ids, $0) } ?? 0)
                authority.append(try id(ids, event.authority))
                owner.append(try owners[event.source].map { try id(ids, $0) } ?? 0)
                mint.append(try event.mint.map { try id(ids, $0) } ?? 0)
                amount.append(buffer(Value.u64(event.amount)))
                decimals.append(event.decimals.map { Int64($0) } ?? -1)
            }
        }
        try await connection.query("""
            INSERT INTO sol_events(chain, signature, outer_index, inner_index, slot, block_time, kind, program, source, counterparty, authority,
                                   owner, mint, amount, decimals)
            SELECT \(chain), u.signature, u.outer_index, u.inner_index, u.slot, NULLIF(u.block_time, -1), u.kind, u.program, u.source,
                   NULLIF(u.counterparty, 0), u.authority, NULLIF(u.owner, 0), NULLIF(u.mint, 0), u.amount, NULLIF(u.decimals, -1)
            FROM unnest(\(signature)::bytea[], \(outer)::bigint[], \(inner)::bigint[], \(slot)::bigint[], \(blockTime)::bigint[], \(kind)::text[],
                        \(program)::bigint[], \(source)::bigint[], \(counterparty)::bigint[], \(authority)::bigint[], \(owner)::bigint[],
                        \(mint)::bigint[], \(amount)::bytea[], \(decimals)::bigint[])
                 AS u(signature, outer_index, inner_index, slot, block_time, kind, program, source, counterparty, authority, owner, mint, amount,
                      decimals)
            """, logger: logger)
    }

    public func settle(chain: Int64, finalized: [SolanaSignature], dropped: [SolanaSignature], finalizedSlot: UInt64, lease: Lease?) async throws {
        let finalizedSlot = try Value.stored(finalizedSlot, "finalized slot")
        let logger = self.logger
        try await transaction { connection in
            if let lease { try await PostgresLeaseStore.fence(connection, lease, logger: logger) }
            if !finalized.isEmpty {
                try await connection.query("""
                    UPDATE sol_transactions SET status = 'finalized'
                    WHERE chain = \(chain) AND signature = ANY(\(finalized.map { Self.buffer($0.rawValue.bytes) }))
                    """, logger: logger)
            }
            if !dropped.isEmpty {
                try await connection.query("""
                    DELETE FROM sol_transactions
                    WHERE chain = \(chain) AND signature = ANY(\(dropped.map { Self.buffer($0.rawValue.bytes) })) AND status = 'confirmed'
                    """, logger: logger)
            }
            try await connection.query("""
                UPDATE sol_chains SET finalized_slot = GREATEST(COALESCE(finalized_slot, 0), \(finalizedSlot)) WHERE id = \(chain)
                """, logger: logger)
        }
    }

    public func saveStates(chain: Int64, _ states: [SolanaAccountState], lease: Lease?) async throws {
        // One row per account (an upsert may touch a row once per statement): the newest state, the later one of equal
        // slots, as applying them one by one would leave.
        var newest: [SolanaPublicKey: SolanaAccountState] = [:]
        for state in states where (newest[state.account]?.slot ?? 0) <= state.slot { newest[state.account] = state }
        let rows = newest.values.sorted { $0.account < $1.account }
        let slots = try rows.map { state throws(StoreError) in try Value.stored(state.slot, "slot") }
        let logger = self.logger
        try await transaction { connection in
            if let lease { try await PostgresLeaseStore.fence(connection, lease, logger: logger) }
            guard !rows.isEmpty else { return }
            let ids = try await Self.keyIDs(connection, Set(rows.map(\.account) + rows.compactMap(\.delegate)), logger: logger)
            try await connection.query("""
                INSERT INTO sol_account_state(chain, account, amount, delegate, delegated_amount, slot)
                SELECT \(chain), u.account, u.amount, NULLIF(u.delegate, 0), u.delegated_amount, u.slot
                FROM unnest(\(try rows.map { try Self.id(ids, $0.account) })::bigint[], \(rows.map { Self.buffer(Value.u64($0.amount)) })::bytea[],
                            \(try rows.map { try $0.delegate.map { try Self.id(ids, $0) } ?? 0 })::bigint[],
                            \(rows.map { Self.buffer(Value.u64($0.delegatedAmount)) })::bytea[], \(slots)::bigint[])
                     AS u(account, amount, delegate, delegated_amount, slot)
                ON CONFLICT (chain, account) DO UPDATE SET amount = excluded.amount, delegate = excluded.delegate,
                    delegated_amount = excluded.delegated_amount, slot = excluded.slot
                WHERE excluded.slot >= sol_account_state.slot
                """, logger: logger)
        }
    }

    // MARK: - Errors

    /// Runs `body` in one transaction (`PostgresPool.transaction`), with PostgreSQL's errors as `StoreError`s.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await Self.mapped { try await database.transaction(body) }
    }

    /// Runs `body` with PostgreSQL's errors as `StoreError`s (`storeError`); other errors (a fence, a checked value)
    /// pass as they are.
    static func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PSQLError {
            throw storeError(error)
        }
    }

    /// A refusal of the server in the store's terms, with its SQLSTATE and message (a `PSQLError` prints neither): a
    /// broken UNIQUE, CHECK or foreign key is `.constraint` as in SQLite; a serialization failure, a deadlock or a lock
    /// not granted `.busy` (retryable); anything else `.database`.
    static func storeError(_ error: PSQLError) -> StoreError {
        let state = error.serverInfo?[.sqlState] ?? ""
        let code: StoreError.Code = if state.hasPrefix("23") { .constraint } else if ["40001", "40P01", "55P03"].contains(state) { .busy } else { .database }
        return StoreError(code, "PostgreSQL \(state.isEmpty ? "\(error.code)" : state): \(error.serverInfo?[.message] ?? "no server message")")
    }

    // MARK: - Keys and bytes

    /// The row ids of `keys`, interning the ones not stored yet. Missing keys are inserted in key order, so two
    /// writers interning overlapping keys queue on the unique index in one order instead of deadlocking.
    static func keyIDs(_ connection: PostgresConnection, _ keys: Set<SolanaPublicKey>, logger: Logger) async throws -> [SolanaPublicKey: Int64] {
        guard !keys.isEmpty else { return [:] }
        var ids = try await lookUp(connection, Array(keys), logger: logger)
        let missing = keys.filter { ids[$0] == nil }
        guard !missing.isEmpty else { return ids }
        try await connection.query("""
            INSERT INTO sol_keys(key) SELECT u.key FROM unnest(\(missing.map { buffer($0.bytes) })::bytea[]) AS u(key) ORDER BY u.key
            ON CONFLICT (key) DO NOTHING
            """, logger: logger)
        ids.merge(try await lookUp(connection, Array(missing), logger: logger)) { old, _ in old }
        return ids
    }

    static func lookUp(_ connection: PostgresConnection, _ keys: [SolanaPublicKey], logger: Logger) async throws -> [SolanaPublicKey: Int64] {
        var ids: [SolanaPublicKey: Int64] = [:]
        let rows = try await connection.query("SELECT key, id FROM sol_keys WHERE key = ANY(\(keys.map { buffer($0.bytes) }))", logger: logger)
        for try await (key, id) in rows.decode((ByteBuffer, Int64).self) { ids[try Value.key(bytes(key))] = id }
        return ids
    }

    static func id(_ ids: [SolanaPublicKey: Int64], _ key: SolanaPublicKey) throws(StoreError) -> Int64 {
        guard let id = ids[key] else { throw StoreError(.corruptValue, "key \(key) vanished while interned") }
        return id
    }

    static func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

    static func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }
}
