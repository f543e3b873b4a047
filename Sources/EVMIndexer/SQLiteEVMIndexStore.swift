import EVM
import Leases
import SettleCore
import Store
import Synchronization

/// The EVM index in SQLite (`EVMIndexStore`): prepared statements, multi-row inserts, and a bulk mode for the initial
/// backfill. A lease fences a write through `SQLiteLeaseStore.fence`, against the `leases` table of the same database.
public final class SQLiteEVMIndexStore: EVMIndexStore {
    public let database: Database
    /// Address → row id, filled from committed writes only (addresses are never deleted, so ids stay valid).
    let addressIDs = AddressCache()
    /// Between `beginBulkLoad` and `endBulkLoad`: commits skip the foreign-key lookups (see `commit`).
    let bulkLoading = Atomic<Bool>(false)

    public init(database: Database) {
        self.database = database
    }

    /// Applies the schema migrations and makes sure the secondary indexes exist.
    public func migrate() async throws {
        try await database.migrate(module: SQLiteEVMIndexSchema.module, SQLiteEVMIndexSchema.migrations)
        try await ensureSecondaryIndexes()
    }

    /// Creates any missing secondary index (after a bulk backfill, or one a crash interrupted).
    public func ensureSecondaryIndexes() async throws {
        try await database.write { db in
            for index in SQLiteEVMIndexSchema.secondaryIndexes {
                try db.execute("CREATE INDEX IF NOT EXISTS \(index.name) ON \(index.definition)")
            }
            for name in SQLiteEVMIndexSchema.retiredIndexes { try db.execute("DROP INDEX IF EXISTS \(name)") }
        }
    }

    /// Drops the secondary indexes for a bulk backfill; `ensureSecondaryIndexes` puts them back. Queries stay
    /// correct meanwhile, only slower.
    public func dropSecondaryIndexes() async throws {
        try await database.write { db in
            for index in SQLiteEVMIndexSchema.secondaryIndexes { try db.execute("DROP INDEX IF EXISTS \(index.name)") }
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

    /// Events a chain may hold for `beginBulkLoad` to drop the secondary indexes: past it, rebuilding them over the
    /// rows already there costs more than inserting with them saves.
    static let bulkLoadMaximumEvents = 100_000

    /// Drops the secondary indexes and enters bulk mode when the chain holds fewer than `bulkLoadMaximumEvents`
    /// events.
    public func beginBulkLoad(chain: Int64) async throws -> Bool {
        guard try await eventCount(chain: chain) < Self.bulkLoadMaximumEvents else { return false }
        try await dropSecondaryIndexes()
        try await bulkMode(true)
        bulkLoading.store(true, ordering: .relaxed)
        return true
    }

    /// Leaves bulk mode, and builds the secondary indexes when the load completed.
    public func endBulkLoad(completed: Bool) async throws {
        bulkLoading.store(false, ordering: .relaxed)
        try await bulkMode(false)
        if completed { try await ensureSecondaryIndexes() }
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
            insert.bind(try StoredEVMValue.signed(startBlock, "start block"), at: 4)
            try insert.step()
            return ChainCursor(id: db.lastInsertRowID, nextBlock: startBlock, headBlock: nil, finalizedBlock: nil)
        }
    }

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

    public func header(chain: Int64, number: UInt64) async throws -> BlockHeader? {
        try await database.read { db in try Self.header(db, chain: chain, number: number) }
    }

    static func header(_ db: SQLiteConnection, chain: Int64, number: UInt64) throws -> BlockHeader? {
        let select = try db.statement("SELECT hash, parent_hash, timestamp FROM evm_blocks WHERE chain = ? AND number = ?")
        select.bind(chain, at: 1)
        select.bind(Int64(clamping: number), at: 2)
        guard try select.step() else { return nil }
        return BlockHeader(number: number, hash: try hash(select.blob(0)), parentHash: try hash(select.blob(1)), timestamp: try select.uint64(2))
    }

    public func headers(chain: Int64, atOrBelow number: UInt64, limit: Int) async throws -> [BlockHeader] {
        try await database.read { db in
            let select = try db.statement("SELECT number, hash, parent_hash, timestamp FROM evm_blocks WHERE chain = ? AND number <= ? ORDER BY number DESC LIMIT ?")
            select.bind(chain, at: 1)
            select.bind(Int64(clamping: number), at: 2)
            select.bind(limit, at: 3)
            var out: [BlockHeader] = []
            while try select.step() {
                out.append(BlockHeader(number: try select.uint64(0), hash: try Self.hash(select.blob(1)),
                                       parentHash: try Self.hash(select.blob(2)), timestamp: try select.uint64(3)))
            }
            return out
        }
    }

    public func trackedOwners(chain: Int64) async throws -> [EVMAddress: UInt64] {
        try await database.read { db in
            let select = try db.statement("SELECT a.address, t.first_block FROM evm_tracked_owners t JOIN evm_addresses a ON a.id = t.owner WHERE t.chain = ?")
            select.bind(chain, at: 1)
            var out: [EVMAddress: UInt64] = [:]
            while try select.step() { out[try Self.address(select.blob(0))] = try select.uint64(1) }
            return out
        }
    }

    public func replaceRange(chain: Int64, from: UInt64, to: UInt64, approvals: [ApprovalRecord], transfers: [TransferRecord],
                             headers: [BlockHeader], newOwners: [(owner: EVMAddress, firstBlock: UInt64)], lease: Lease?) async throws {
        let encoded = try EncodedEvents(approvals: approvals, transfers: transfers)
        try await database.write { db in
            if let lease { try SQLiteLeaseStore.fence(db, lease) }
            let cursor = try Self.cursor(db, chain: chain)
            guard to < cursor.nextBlock else {
                throw EVMIndexError(.cursorMismatch, "replay of \(from)...\(to) reaches past the indexed head \(cursor.nextBlock)")
            }
            for table in ["evm_approvals", "evm_transfers"] {
                let delete = try db.statement("DELETE FROM \(table) WHERE chain = ? AND block BETWEEN ? AND ?")
                delete.bind(chain, at: 1)
                delete.bind(Int64(clamping: from), at: 2)
                delete.bind(Int64(clamping: to), at: 3)
                try delete.step()
            }
            var interner = AddressInterner(db: db, shared: self.addressIDs)
            let stored = try db.statement("SELECT number FROM evm_blocks WHERE chain = ? AND number BETWEEN ? AND ?")
            stored.bind(chain, at: 1)
            stored.bind(Int64(clamping: from), at: 2)
            stored.bind(Int64(clamping: to), at: 3)
            var storedNumbers = Set<UInt64>()
            while try stored.step() { storedNumbers.insert(try stored.uint64(0)) }
            try Self.insertHeaders(db, chain: chain, headers.filter { storedNumbers.contains($0.number) })
            try Self.insertEncoded(db, chain: chain, encoded, interner: &interner)
            let owner = try db.statement("""
                INSERT INTO evm_tracked_owners(chain, owner, first_block) VALUES (?, ?, ?)
                ON CONFLICT(chain, owner) DO UPDATE SET first_block = min(first_block, excluded.first_block)
                """)
            for entry in newOwners {
                owner.reset()
                owner.bind(chain, at: 1)
                owner.bind(try interner.id(entry.owner), at: 2)
                owner.bind(try StoredEVMValue.signed(entry.firstBlock, "first block"), at: 3)
                try owner.step()
            }
        }
    }

    public func commit(_ batch: IndexBatch, chain: Int64, lease: Lease?) async throws {
        // In a bulk load, without the foreign-key lookups (three or four B-tree seeks per event row, most of the
        // insert's cost): every address id below comes from the interner in this same transaction, which looks it
        // up or inserts it, and the chain is checked by reading its cursor first.
        let encoded = try EncodedEvents(batch)  // here, off the writer
        let body: @Sendable (SQLiteConnection) throws -> AddressInterner = { db in
            if let lease { try SQLiteLeaseStore.fence(db, lease) }
            let cursor = try Self.cursor(db, chain: chain)
            guard cursor.nextBlock == batch.fromBlock, batch.toBlock >= batch.fromBlock else {
                throw EVMIndexError(.cursorMismatch, "batch covers \(batch.fromBlock)...\(batch.toBlock) but the cursor is at \(cursor.nextBlock)")
            }
            var interner = AddressInterner(db: db, shared: self.addressIDs)
            try Self.insertHeaders(db, chain: chain, batch.headers)
            try Self.insertEncoded(db, chain: chain, encoded, interner: &interner)
            let owner = try db.statement("INSERT INTO evm_tracked_owners(chain, owner, first_block) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
            for entry in batch.newOwners {
                owner.reset()
                owner.bind(chain, at: 1)
                owner.bind(try interner.id(entry.owner), at: 2)
                owner.bind(try StoredEVMValue.signed(entry.firstBlock, "first block"), at: 3)
                try owner.step()
            }
            try Self.upsertStates(db, chain: chain, allowances: batch.allowances, balances: batch.balances, interner: &interner)
            if let below = batch.pruneHeadersBelow {
                let prune = try db.statement("DELETE FROM evm_blocks WHERE chain = ? AND number < ?")
                prune.bind(chain, at: 1)
                prune.bind(Int64(clamping: below), at: 2)
                try prune.step()
            }
            let move = try db.statement("""
                UPDATE evm_chains SET next_block = ?, head_block = max(coalesce(head_block, 0), coalesce(?, 0)),
                finalized_block = max(coalesce(finalized_block, 0), coalesce(?, 0)) WHERE id = ?
                """)
            move.bind(try StoredEVMValue.signedNext(batch.toBlock, "block"), at: 1)
            if let head = batch.headBlock { move.bind(try StoredEVMValue.signed(head, "head block"), at: 2) } else { move.bindNull(at: 2) }
            if let finalized = batch.finalizedBlock { move.bind(try StoredEVMValue.signed(finalized, "finalized block"), at: 3) } else { move.bindNull(at: 3) }
            move.bind(chain, at: 4)
            try move.step()
            return interner
        }
        let interner = bulkLoading.load(ordering: .relaxed)
            ? try await database.writeTrustingForeignKeys(body) : try await database.write(body)
        interner.publish()
    }

    public func saveStates(chain: Int64, allowances: [AllowanceState], balances: [BalanceState], lease: Lease?) async throws {
        try await database.write { db in
            if let lease { try SQLiteLeaseStore.fence(db, lease) }
            var interner = AddressInterner(db: db, shared: self.addressIDs)
            try Self.upsertStates(db, chain: chain, allowances: allowances, balances: balances, interner: &interner)
            return interner
        }.publish()
    }

    public func rollback(chain: Int64, above ancestor: UInt64, lease: Lease?) async throws -> RollbackSummary {
        try await database.write { db in
            if let lease { try SQLiteLeaseStore.fence(db, lease) }
            var removed: [Int] = []
            for table in ["evm_approvals", "evm_transfers"] {
                let delete = try db.statement("DELETE FROM \(table) WHERE chain = ? AND block > ?")
                delete.bind(chain, at: 1)
                delete.bind(Int64(clamping: ancestor), at: 2)
                try delete.step()
                removed.append(db.changes)
            }
            let headers = try db.statement("DELETE FROM evm_blocks WHERE chain = ? AND number > ?")
            headers.bind(chain, at: 1)
            headers.bind(Int64(clamping: ancestor), at: 2)
            try headers.step()
            let headersRemoved = db.changes
            let owners = try db.statement("DELETE FROM evm_tracked_owners WHERE chain = ? AND first_block > ?")
            owners.bind(chain, at: 1)
            owners.bind(Int64(clamping: ancestor), at: 2)
            try owners.step()
            let move = try db.statement("UPDATE evm_chains SET next_block = min(next_block, ?) WHERE id = ?")
            move.bind(try StoredEVMValue.signedNext(ancestor, "ancestor block"), at: 1)
            move.bind(chain, at: 2)
            try move.step()
            return RollbackSummary(approvalsRemoved: removed[0], transfersRemoved: removed[1], headersRemoved: headersRemoved)
        }
    }
}

extension SQLiteEVMIndexStore {
    /// The schema this build migrates to: module name and latest version (for `settled doctor`).
    public static var schema: (module: String, version: Int) { (SQLiteEVMIndexSchema.module, SQLiteEVMIndexSchema.migrations.count) }
}
