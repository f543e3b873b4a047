import EVM
import SettleCore
import Store
import Synchronization

/// The EVM index in SQLite: event history, current allowance and balance state, block headers inside the reorg
/// window, and one cursor per chain. The cursor moves in the same transaction as the rows it covers, so a crash
/// leaves neither a gap nor a duplicate.
public final class EVMIndexStore: Sendable {
    public let database: Database
    /// Address → row id, filled from committed writes only (addresses are never deleted, so ids stay valid).
    let addressIDs = AddressCache()

    public init(database: Database) {
        self.database = database
    }

    /// Applies the schema migrations and makes sure the secondary indexes exist.
    public func migrate() async throws {
        try await database.migrate(module: EVMIndexSchema.module, EVMIndexSchema.migrations)
        try await ensureSecondaryIndexes()
    }

    /// Creates any missing secondary index (after a bulk backfill, or one a crash interrupted).
    public func ensureSecondaryIndexes() async throws {
        try await database.write { db in
            for index in EVMIndexSchema.secondaryIndexes {
                try db.execute("CREATE INDEX IF NOT EXISTS \(index.name) ON \(index.definition)")
            }
            for name in EVMIndexSchema.retiredIndexes { try db.execute("DROP INDEX IF EXISTS \(name)") }
        }
    }

    /// Drops the secondary indexes for a bulk backfill; `ensureSecondaryIndexes` puts them back. Queries stay
    /// correct meanwhile, only slower.
    public func dropSecondaryIndexes() async throws {
        try await database.write { db in
            for index in EVMIndexSchema.secondaryIndexes { try db.execute("DROP INDEX IF EXISTS \(index.name)") }
        }
    }

    /// Bulk mode for an initial backfill: a larger page cache and WAL checkpoint interval; `bulkMode(false)`
    /// restores the defaults. Foreign keys stay enforced: the writer connection is shared with the ledger and every
    /// other module, and a connection-wide `foreign_keys = OFF` would let their writes break their rules too.
    public func bulkMode(_ on: Bool) async throws {
        try await database.writeRaw { db in
            try db.execute(on ? "PRAGMA cache_size = -65536" : "PRAGMA cache_size = -2000")
            try db.execute(on ? "PRAGMA wal_autocheckpoint = 16384" : "PRAGMA wal_autocheckpoint = 1000")
        }
    }

    /// Indexed events of the chain (approvals plus transfers).
    public func eventCount(chain: Int64) async throws -> Int {
        try await database.read { db in
            var total = 0
            for table in ["evm_approvals", "evm_transfers"] {
                let count = try db.statement("SELECT count(*) FROM \(table) WHERE chain = ?")
                count.bind(chain, at: 1)
                if try count.step() { total += count.int(0) }
            }
            return total
        }
    }

    /// The chain's cursor, registering the chain on first use.
    /// - Throws: `EVMIndexError.chainMismatch` when the stored chain id or mode differ from the configuration.
    public func register(name: String, chainID: UInt64, mode: String, startBlock: UInt64) async throws -> ChainCursor {
        try await database.write { db in
            let select = try db.statement("SELECT id, chain_id, mode, next_block, head_block, finalized_block FROM evm_chains WHERE name = ?")
            select.bind(name, at: 1)
            if try select.step() {
                let storedChainID = UInt64(bitPattern: select.int64(1))
                let storedMode = select.text(2)
                guard storedChainID == chainID else {
                    throw EVMIndexError(.chainMismatch, "the index holds chain '\(name)' with chain id \(storedChainID), but the configuration says \(chainID)")
                }
                guard storedMode == mode else {
                    throw EVMIndexError(.chainMismatch, "the index of '\(name)' was built in \(storedMode) mode, the configuration asks for \(mode); replay from the start block to change it")
                }
                return ChainCursor(
                    id: select.int64(0), nextBlock: try select.uint64(3),
                    headBlock: try select.optionalUInt64(4),
                    finalizedBlock: try select.optionalUInt64(5))
            }
            let insert = try db.statement("INSERT INTO evm_chains(name, chain_id, mode, next_block) VALUES (?, ?, ?, ?)")
            insert.bind(name, at: 1)
            insert.bind(Int64(bitPattern: chainID), at: 2)
            insert.bind(mode, at: 3)
            insert.bind(Int64(startBlock), at: 4)
            try insert.step()
            return ChainCursor(id: db.lastInsertRowID, nextBlock: startBlock, headBlock: nil, finalizedBlock: nil)
        }
    }

    /// The chain's cursor.
    public func cursor(chain: Int64) async throws -> ChainCursor {
        try await database.read { db in try Self.cursor(db, chain: chain) }
    }

    static func cursor(_ db: SQLiteConnection, chain: Int64) throws -> ChainCursor {
        let select = try db.statement("SELECT next_block, head_block, finalized_block FROM evm_chains WHERE id = ?")
        select.bind(chain, at: 1)
        guard try select.step() else { throw EVMIndexError(.chainMismatch, "chain \(chain) is not registered") }
        return ChainCursor(
            id: chain, nextBlock: try select.uint64(0),
            headBlock: try select.optionalUInt64(1),
            finalizedBlock: try select.optionalUInt64(2))
    }

    /// The stored header of block `number`, if inside the kept window.
    public func header(chain: Int64, number: UInt64) async throws -> BlockHeader? {
        try await database.read { db in try Self.header(db, chain: chain, number: number) }
    }

    static func header(_ db: SQLiteConnection, chain: Int64, number: UInt64) throws -> BlockHeader? {
        let select = try db.statement("SELECT hash, parent_hash, timestamp FROM evm_blocks WHERE chain = ? AND number = ?")
        select.bind(chain, at: 1)
        select.bind(Int64(number), at: 2)
        guard try select.step() else { return nil }
        return BlockHeader(number: number, hash: try hash(select.blob(0)), parentHash: try hash(select.blob(1)), timestamp: try select.uint64(2))
    }

    /// Stored headers from `number` downwards (newest first), at most `limit`.
    public func headers(chain: Int64, atOrBelow number: UInt64, limit: Int) async throws -> [BlockHeader] {
        try await database.read { db in
            let select = try db.statement("SELECT number, hash, parent_hash, timestamp FROM evm_blocks WHERE chain = ? AND number <= ? ORDER BY number DESC LIMIT ?")
            select.bind(chain, at: 1)
            select.bind(Int64(number), at: 2)
            select.bind(limit, at: 3)
            var out: [BlockHeader] = []
            while try select.step() {
                out.append(BlockHeader(number: try select.uint64(0), hash: try Self.hash(select.blob(1)),
                                       parentHash: try Self.hash(select.blob(2)), timestamp: try select.uint64(3)))
            }
            return out
        }
    }

    /// Owners tracked in scoped mode (wallets that approved one of our spenders), with the block of their first
    /// approval: their transfers are indexed from that block on.
    public func trackedOwners(chain: Int64) async throws -> [EVMAddress: UInt64] {
        try await database.read { db in
            let select = try db.statement("SELECT a.address, t.first_block FROM evm_tracked_owners t JOIN evm_addresses a ON a.id = t.owner WHERE t.chain = ?")
            select.bind(chain, at: 1)
            var out: [EVMAddress: UInt64] = [:]
            while try select.step() { out[try Self.address(select.blob(0))] = try select.uint64(1) }
            return out
        }
    }

    /// Replaces every indexed row of `from...to` with `approvals` and `transfers` (replay's repair), adds newly
    /// found owners and refreshes stored headers, in one transaction. The cursor does not move.
    public func replaceRange(chain: Int64, from: UInt64, to: UInt64, approvals: [ApprovalRecord], transfers: [TransferRecord],
                             headers: [BlockHeader], newOwners: [(owner: EVMAddress, firstBlock: UInt64)]) async throws {
        try await database.write { db in
            let cursor = try Self.cursor(db, chain: chain)
            guard to < cursor.nextBlock else {
                throw EVMIndexError(.cursorMismatch, "replay of \(from)...\(to) reaches past the indexed head \(cursor.nextBlock)")
            }
            for table in ["evm_approvals", "evm_transfers"] {
                let delete = try db.statement("DELETE FROM \(table) WHERE chain = ? AND block BETWEEN ? AND ?")
                delete.bind(chain, at: 1)
                delete.bind(Int64(from), at: 2)
                delete.bind(Int64(to), at: 3)
                try delete.step()
            }
            var interner = AddressInterner(db: db, shared: self.addressIDs)
            let stored = try db.statement("SELECT number FROM evm_blocks WHERE chain = ? AND number BETWEEN ? AND ?")
            stored.bind(chain, at: 1)
            stored.bind(Int64(from), at: 2)
            stored.bind(Int64(to), at: 3)
            var storedNumbers = Set<UInt64>()
            while try stored.step() { storedNumbers.insert(try stored.uint64(0)) }
            try Self.insertHeaders(db, chain: chain, headers.filter { storedNumbers.contains($0.number) })
            try Self.insertApprovals(db, chain: chain, approvals, interner: &interner)
            try Self.insertTransfers(db, chain: chain, transfers, interner: &interner)
            let owner = try db.statement("""
                INSERT INTO evm_tracked_owners(chain, owner, first_block) VALUES (?, ?, ?)
                ON CONFLICT(chain, owner) DO UPDATE SET first_block = min(first_block, excluded.first_block)
                """)
            for entry in newOwners {
                owner.reset()
                owner.bind(chain, at: 1)
                owner.bind(try interner.id(entry.owner), at: 2)
                owner.bind(Int64(entry.firstBlock), at: 3)
                try owner.step()
            }
        }
    }

    /// Commits one indexing step and moves the cursor to `batch.toBlock + 1`, all in one transaction.
    /// - Throws: `EVMIndexError.cursorMismatch` when `batch.fromBlock` is not where the cursor stands (a
    ///   concurrent writer or a bug): nothing is written.
    public func commit(_ batch: IndexBatch, chain: Int64) async throws {
        try await database.write { db in
            let cursor = try Self.cursor(db, chain: chain)
            guard cursor.nextBlock == batch.fromBlock, batch.toBlock >= batch.fromBlock else {
                throw EVMIndexError(.cursorMismatch, "batch covers \(batch.fromBlock)...\(batch.toBlock) but the cursor is at \(cursor.nextBlock)")
            }
            var interner = AddressInterner(db: db, shared: self.addressIDs)
            try Self.insertHeaders(db, chain: chain, batch.headers)
            try Self.insertApprovals(db, chain: chain, batch.approvals, interner: &interner)
            try Self.insertTransfers(db, chain: chain, batch.transfers, interner: &interner)
            let owner = try db.statement("INSERT INTO evm_tracked_owners(chain, owner, first_block) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
            for entry in batch.newOwners {
                owner.reset()
                owner.bind(chain, at: 1)
                owner.bind(try interner.id(entry.owner), at: 2)
                owner.bind(Int64(entry.firstBlock), at: 3)
                try owner.step()
            }
            try Self.upsertStates(db, chain: chain, allowances: batch.allowances, balances: batch.balances, interner: &interner)
            if let below = batch.pruneHeadersBelow {
                let prune = try db.statement("DELETE FROM evm_blocks WHERE chain = ? AND number < ?")
                prune.bind(chain, at: 1)
                prune.bind(Int64(below), at: 2)
                try prune.step()
            }
            let move = try db.statement("""
                UPDATE evm_chains SET next_block = ?, head_block = max(coalesce(head_block, 0), coalesce(?, 0)),
                finalized_block = max(coalesce(finalized_block, 0), coalesce(?, 0)) WHERE id = ?
                """)
            move.bind(Int64(batch.toBlock + 1), at: 1)
            if let head = batch.headBlock { move.bind(Int64(head), at: 2) } else { move.bindNull(at: 2) }
            if let finalized = batch.finalizedBlock { move.bind(Int64(finalized), at: 3) } else { move.bindNull(at: 3) }
            move.bind(chain, at: 4)
            try move.step()
            return interner
        }.publish()
    }

    /// Saves chain-read states without moving the cursor.
    public func saveStates(chain: Int64, allowances: [AllowanceState], balances: [BalanceState]) async throws {
        try await database.write { db in
            var interner = AddressInterner(db: db, shared: self.addressIDs)
            try Self.upsertStates(db, chain: chain, allowances: allowances, balances: balances, interner: &interner)
            return interner
        }.publish()
    }

    /// Removes every indexed row above `ancestor` and moves the cursor to `ancestor + 1` in one transaction
    /// (the undo half of reorg handling and of replay).
    public func rollback(chain: Int64, above ancestor: UInt64) async throws -> RollbackSummary {
        try await database.write { db in
            var removed: [Int] = []
            for table in ["evm_approvals", "evm_transfers"] {
                let delete = try db.statement("DELETE FROM \(table) WHERE chain = ? AND block > ?")
                delete.bind(chain, at: 1)
                delete.bind(Int64(ancestor), at: 2)
                try delete.step()
                removed.append(db.changes)
            }
            let headers = try db.statement("DELETE FROM evm_blocks WHERE chain = ? AND number > ?")
            headers.bind(chain, at: 1)
            headers.bind(Int64(ancestor), at: 2)
            try headers.step()
            let headersRemoved = db.changes
            let owners = try db.statement("DELETE FROM evm_tracked_owners WHERE chain = ? AND first_block > ?")
            owners.bind(chain, at: 1)
            owners.bind(Int64(ancestor), at: 2)
            try owners.step()
            let move = try db.statement("UPDATE evm_chains SET next_block = min(next_block, ?) WHERE id = ?")
            move.bind(Int64(ancestor + 1), at: 1)
            move.bind(chain, at: 2)
            try move.step()
            return RollbackSummary(approvalsRemoved: removed[0], transfersRemoved: removed[1], headersRemoved: headersRemoved)
        }
    }

    // MARK: - Inserts

    static func insertHeaders(_ db: SQLiteConnection, chain: Int64, _ headers: [BlockHeader]) throws {
        guard !headers.isEmpty else { return }
        let insert = try db.statement("INSERT OR REPLACE INTO evm_blocks(chain, number, hash, parent_hash, timestamp) VALUES (?, ?, ?, ?, ?)")
        for header in headers {
            insert.reset()
            insert.bind(chain, at: 1)
            insert.bind(Int64(header.number), at: 2)
            header.hash.bytes32.withUnsafeBytes { insert.bind(bytes: $0, at: 3) }
            header.parentHash.bytes32.withUnsafeBytes { insert.bind(bytes: $0, at: 4) }
            insert.bind(Int64(header.timestamp), at: 5)
            try insert.step()
        }
    }

    static func insertApprovals(_ db: SQLiteConnection, chain: Int64, _ rows: [ApprovalRecord], interner: inout AddressInterner) throws {
        try insertEvents(db, table: "evm_approvals", columns: "token, owner, spender", chain: chain, rows, interner: &interner) {
            ($0.block, $0.logIndex, $0.blockTime, $0.transactionHash, $0.token, $0.owner, $0.spender, $0.value)
        }
    }

    static func insertTransfers(_ db: SQLiteConnection, chain: Int64, _ rows: [TransferRecord], interner: inout AddressInterner) throws {
        try insertEvents(db, table: "evm_transfers", columns: "token, sender, recipient", chain: chain, rows, interner: &interner) {
            ($0.block, $0.logIndex, $0.blockTime, $0.transactionHash, $0.token, $0.from, $0.to, $0.value)
        }
    }

    /// Rows per multi-row INSERT: one statement step inserts this many rows (much less per-row overhead).
    static let rowsPerInsert = 64

    /// Inserts event rows of either table: (block, log index, time, tx hash, token, address, address, value), in
    /// multi-row INSERT statements of `rowsPerInsert` rows, then single-row ones for the rest.
    private static func insertEvents<Row>(
        _ db: SQLiteConnection, table: String, columns: String, chain: Int64, _ rows: [Row], interner: inout AddressInterner,
        _ fields: (Row) -> (UInt64, UInt64, UInt64, Hash32, EVMAddress, EVMAddress, EVMAddress, UInt256)
    ) throws {
        guard !rows.isEmpty else { return }
        func statement(rows count: Int) throws -> SQLiteStatement {
            let tuple = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
            return try db.statement("""
                INSERT INTO \(table)(chain, block, log_index, block_time, tx_hash, \(columns), value) VALUES \(
                Array(repeating: tuple, count: count).joined(separator: ", "))
                """)
        }
        let many = try statement(rows: rowsPerInsert)
        let one = try statement(rows: 1)
        // Hashes and values are bound without copies: they must stay alive until the step, so they are kept here.
        var hashes = [Bytes32](repeating: .zero, count: rowsPerInsert)
        var values = [[UInt8]](repeating: [], count: rowsPerInsert)
        var start = 0
        while start < rows.count {
            let count = rows.count - start >= rowsPerInsert ? rowsPerInsert : 1
            let insert = count == rowsPerInsert ? many : one
            insert.reset()
            for i in 0..<count {
                let (block, logIndex, blockTime, transactionHash, token, first, second, value) = fields(rows[start + i])
                let base = Int32(i * 9)
                insert.bind(chain, at: base + 1)
                insert.bind(Int64(block), at: base + 2)
                insert.bind(Int64(logIndex), at: base + 3)
                insert.bind(Int64(blockTime), at: base + 4)
                hashes[i] = transactionHash.bytes32
                values[i] = value.bigEndianBytes
                insert.bind(try interner.id(token), at: base + 6)
                insert.bind(try interner.id(first), at: base + 7)
                insert.bind(try interner.id(second), at: base + 8)
            }
            try hashes.withUnsafeBytes { hashBytes in
                for i in 0..<count {
                    insert.bind(borrowing: UnsafeRawBufferPointer(rebasing: hashBytes[(i * 32)..<(i * 32 + 32)]), at: Int32(i * 9 + 5))
                    try values[i].withUnsafeBytes { insert.bind(bytes: $0, at: Int32(i * 9 + 9)) }
                }
                try insert.step()
            }
            start += count
        }
    }

    /// Binds the transaction hash (parameter 5) and value (parameter 9) from stack memory without copies, then steps.
    static func stepBindingHashAndValue(_ insert: SQLiteStatement, hash: Hash32, value: UInt256) throws {
        try hash.bytes32.withUnsafeBytes { hashBytes in
            try value.withBigEndianBytes { (valueBytes) throws(StoreError) in
                insert.bind(borrowing: hashBytes, at: 5)
                insert.bind(borrowing: valueBytes, at: 9)
                try insert.step()
            }
        }
    }

    static func upsertStates(_ db: SQLiteConnection, chain: Int64, allowances: [AllowanceState], balances: [BalanceState], interner: inout AddressInterner) throws {
        if !allowances.isEmpty {
            let upsert = try db.statement("""
                INSERT INTO evm_allowances(chain, token, owner, spender, value, as_of_block) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(chain, token, owner, spender) DO UPDATE SET value = excluded.value, as_of_block = excluded.as_of_block
                WHERE excluded.as_of_block >= evm_allowances.as_of_block
                """)
            for state in allowances {
                upsert.reset()
                upsert.bind(chain, at: 1)
                upsert.bind(try interner.id(state.token), at: 2)
                upsert.bind(try interner.id(state.owner), at: 3)
                upsert.bind(try interner.id(state.spender), at: 4)
                upsert.bind(state.value.bigEndianBytes, at: 5)
                upsert.bind(Int64(state.asOfBlock), at: 6)
                try upsert.step()
            }
        }
        if !balances.isEmpty {
            let upsert = try db.statement("""
                INSERT INTO evm_balances(chain, token, owner, value, as_of_block) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(chain, token, owner) DO UPDATE SET value = excluded.value, as_of_block = excluded.as_of_block
                WHERE excluded.as_of_block >= evm_balances.as_of_block
                """)
            for state in balances {
                upsert.reset()
                upsert.bind(chain, at: 1)
                upsert.bind(try interner.id(state.token), at: 2)
                upsert.bind(try interner.id(state.owner), at: 3)
                upsert.bind(state.value.bigEndianBytes, at: 4)
                upsert.bind(Int64(state.asOfBlock), at: 5)
                try upsert.step()
            }
        }
    }

    // MARK: - Decoding stored values

    static func hash(_ bytes: [UInt8]) throws -> Hash32 {
        do { return try Hash32(bytes: bytes) } catch { throw StoreError(.corruptValue, "stored hash is \(bytes.count) bytes") }
    }

    static func address(_ bytes: [UInt8]) throws -> EVMAddress {
        do { return try EVMAddress(bytes: bytes) } catch { throw StoreError(.corruptValue, "stored address is \(bytes.count) bytes") }
    }

    static func amount(_ bytes: [UInt8]) throws -> UInt256 {
        guard bytes.count == 32 else { throw StoreError(.corruptValue, "stored amount is \(bytes.count) bytes") }
        do { return try UInt256(bigEndian: bytes) } catch { throw StoreError(.corruptValue, "stored amount is not 32 bytes") }
    }
}

/// Interns addresses to row ids inside one write transaction: the store's committed cache first, then the table.
/// Ids it creates reach the shared cache only through `publish()`, after the transaction committed.
struct AddressInterner: @unchecked Sendable {
    // @unchecked Sendable: it carries the writer connection out of `Database.write` only to publish its new ids,
    // never to use the connection again.
    let db: SQLiteConnection
    let shared: AddressCache
    /// The committed ids as of the transaction's start (a copy-on-write snapshot: taking it copies nothing, and
    /// lookups need no lock). Only this transaction's writer adds ids, so it cannot go stale meanwhile.
    let committed: [EVMAddress: Int64]
    var created: [EVMAddress: Int64] = [:]

    init(db: SQLiteConnection, shared: AddressCache) {
        self.db = db
        self.shared = shared
        self.committed = shared.ids.withLock { $0 }
    }

    mutating func id(_ address: EVMAddress) throws -> Int64 {
        if let id = committed[address] { return id }
        if !created.isEmpty, let id = created[address] { return id }
        let select = try db.statement("SELECT id FROM evm_addresses WHERE address = ?")
        address.withUnsafeBytes { select.bind(bytes: $0, at: 1) }
        let id: Int64
        if try select.step() {
            id = select.int64(0)
        } else {
            let insert = try db.statement("INSERT INTO evm_addresses(address) VALUES (?)")
            address.withUnsafeBytes { insert.bind(bytes: $0, at: 1) }
            try insert.step()
            id = db.lastInsertRowID
        }
        select.reset()
        created[address] = id
        return id
    }

    /// Adds the ids of this (committed) transaction to the shared cache.
    func publish() {
        guard !created.isEmpty else { return }
        shared.ids.withLock { cache in cache.merge(created) { old, _ in old } }
    }
}

/// Committed address ids, shared by every write of one store.
final class AddressCache: Sendable {
    let ids = Mutex<[EVMAddress: Int64]>([:])
}

extension EVMIndexStore {
    /// The schema this build migrates to: module name and latest version (for `settled doctor`).
    public static var schema: (module: String, version: Int) { (EVMIndexSchema.module, EVMIndexSchema.migrations.count) }
}
