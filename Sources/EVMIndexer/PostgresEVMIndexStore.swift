import EVM
import Leases
import PostgresNIO
import SettleCore
import Store

/// The EVM index in PostgreSQL (`EVMIndexStore`), for several daemons on one database.
///
/// Each write is one transaction: with a lease, it first checks and locks the lease's row
/// (`PostgresLeaseStore.fence`), then locks the chain's row (`SELECT … FOR UPDATE`) before it checks the cursor, so two
/// writers of one chain queue instead of interleaving. Rows go in as multi-row `INSERT … SELECT FROM unnest(arrays)`
/// statements (one round trip per `rowsPerStatement` rows). Every number read back is checked: a negative block,
/// time or count is `StoreError(.corruptValue)`, never a trap.
///
/// The secondary indexes are part of the schema and stay through a backfill (`beginBulkLoad` does nothing): dropping
/// one would lock the shared tables and slow every other daemon's queries.
public final class PostgresEVMIndexStore: EVMIndexStore {
    public let database: PostgresPool
    /// Address → row id, filled from committed writes only (addresses are never deleted, so ids stay valid).
    let addressIDs = AddressCache()

    public init(database: PostgresPool) {
        self.database = database
    }

    var logger: Logger { database.logger }

    /// The schema this build migrates to: module name and latest version.
    public static var schema: (module: String, version: Int) {
        (PostgresEVMIndexSchema.module, PostgresEVMIndexSchema.migrations.count)
    }

    /// Rows per multi-row INSERT statement (bounds one message to a few megabytes).
    static let rowsPerStatement = 10_000

    public func migrate() async throws {
        try await database.migrate(module: PostgresEVMIndexSchema.module, PostgresEVMIndexSchema.migrations)
    }

    /// Nothing to prepare: the indexes stay (the database is shared). Returns false.
    public func beginBulkLoad(chain: Int64) async throws -> Bool { false }

    public func endBulkLoad(completed: Bool) async throws {}

    /// Nothing to do: the migration made the indexes and nothing drops them.
    public func ensureSecondaryIndexes() async throws {}

    // MARK: - Transactions

    /// Runs `body` in one transaction, fenced by `lease` when given; a broken constraint comes back as
    /// `StoreError(.constraint)`.
    func write<T: Sendable>(lease: Lease?, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = self.logger
        do {
            return try await database.transaction { connection in
                if let lease { try await PostgresLeaseStore.fence(connection, lease, logger: logger) }
                return try await body(connection)
            }
        } catch let error as PSQLError {
            throw Self.storeError(error)
        }
    }

    /// A PostgreSQL error as the store's: integrity violations (SQLSTATE class 23) are `.constraint`; anything else
    /// stays as it was.
    static func storeError(_ error: PSQLError) -> any Error {
        guard let state = error.serverInfo?[.sqlState], state.hasPrefix("23") else { return error }
        return StoreError(.constraint, "PostgreSQL \(state): \(error.serverInfo?[.message] ?? "integrity constraint violated")")
    }

    // MARK: - Chains and cursors

    public func register(name: String, chainID: UInt64, mode: String, startBlock: UInt64) async throws -> ChainCursor {
        let start = try StoredEVMValue.signed(startBlock, "start block")
        // Chain ids are stored by bit pattern, as in SQLite.
        let storedChainID = Int64(bitPattern: chainID)
        let logger = self.logger
        return try await write(lease: nil) { connection in
            try await connection.query("""
                INSERT INTO evm_chains(name, chain_id, mode, next_block) VALUES (\(name), \(storedChainID), \(mode), \(start))
                ON CONFLICT (name) DO NOTHING
                """, logger: logger)
            let rows = try await connection.query(
                "SELECT id, chain_id, mode, next_block, head_block, finalized_block FROM evm_chains WHERE name = \(name)", logger: logger)
            for try await (id, stored, storedMode, next, head, finalized) in rows.decode((Int64, Int64, String, Int64, Int64?, Int64?).self) {
                let storedChainID = UInt64(bitPattern: stored)
                guard storedChainID == chainID else {
                    throw EVMIndexError(.chainMismatch, "the index holds chain '\(name)' with chain id \(storedChainID), but the configuration says \(chainID)")
                }
                guard storedMode == mode else {
                    throw EVMIndexError(.chainMismatch, "the index of '\(name)' was built in \(storedMode) mode, the configuration asks for \(mode); replay from the start block to change it")
                }
                return try Self.cursor(id: id, next: next, head: head, finalized: finalized)
            }
            throw StoreError(.corruptValue, "chain '\(name)' is not in evm_chains right after its insert")
        }
    }

    public func cursor(chain: Int64) async throws -> ChainCursor {
        let rows = try await database.client.query(
            "SELECT next_block, head_block, finalized_block FROM evm_chains WHERE id = \(chain)", logger: logger)
        for try await (next, head, finalized) in rows.decode((Int64, Int64?, Int64?).self) {
            return try Self.cursor(id: chain, next: next, head: head, finalized: finalized)
        }
        throw EVMIndexError(.chainMismatch, "chain \(chain) is not registered")
    }

    /// The chain's cursor inside a write, its row locked until the transaction ends.
    static func lockedCursor(_ connection: PostgresConnection, chain: Int64, logger: Logger) async throws -> ChainCursor {
        let rows = try await connection.query(
            "SELECT next_block, head_block, finalized_block FROM evm_chains WHERE id = \(chain) FOR UPDATE", logger: logger)
        for try await (next, head, finalized) in rows.decode((Int64, Int64?, Int64?).self) {
            return try cursor(id: chain, next: next, head: head, finalized: finalized)
        }
        throw EVMIndexError(.chainMismatch, "chain \(chain) is not registered")
    }

    static func cursor(id: Int64, next: Int64, head: Int64?, finalized: Int64?) throws(StoreError) -> ChainCursor {
        ChainCursor(
            id: id, nextBlock: try StoredEVMValue.unsigned(next, "next_block"),
            headBlock: try head.map { (value) throws(StoreError) in try StoredEVMValue.unsigned(value, "head_block") },
            finalizedBlock: try finalized.map { (value) throws(StoreError) in try StoredEVMValue.unsigned(value, "finalized_block") })
    }

    // MARK: - Headers and owners

    public func header(chain: Int64, number: UInt64) async throws -> BlockHeader? {
        guard let stored = Int64(exactly: number) else { return nil }
        let rows = try await database.client.query(
            "SELECT number, hash, parent_hash, timestamp FROM evm_blocks WHERE chain = \(chain) AND number = \(stored)", logger: logger)
        return try await Self.headers(rows).first
    }

    public func headers(chain: Int64, atOrBelow number: UInt64, limit: Int) async throws -> [BlockHeader] {
        let rows = try await database.client.query("""
            SELECT number, hash, parent_hash, timestamp FROM evm_blocks WHERE chain = \(chain) AND number <= \(Int64(clamping: number))
            ORDER BY number DESC LIMIT \(Int64(max(0, limit)))
            """, logger: logger)
        return try await Self.headers(rows)
    }

    static func headers(_ rows: PostgresRowSequence) async throws -> [BlockHeader] {
        var out: [BlockHeader] = []
        for try await (number, hash, parent, timestamp) in rows.decode((Int64, ByteBuffer, ByteBuffer, Int64).self) {
            out.append(BlockHeader(number: try StoredEVMValue.unsigned(number, "block number"), hash: try StoredEVMValue.hash(bytes(hash)),
                                   parentHash: try StoredEVMValue.hash(bytes(parent)), timestamp: try StoredEVMValue.unsigned(timestamp, "timestamp")))
        }
        return out
    }

    public func trackedOwners(chain: Int64) async throws -> [EVMAddress: UInt64] {
        let rows = try await database.client.query("""
            SELECT a.address, t.first_block FROM evm_tracked_owners t JOIN evm_addresses a ON a.id = t.owner WHERE t.chain = \(chain)
            """, logger: logger)
        var out: [EVMAddress: UInt64] = [:]
        for try await (address, first) in rows.decode((ByteBuffer, Int64).self) {
            out[try StoredEVMValue.address(Self.bytes(address))] = try StoredEVMValue.unsigned(first, "first_block")
        }
        return out
    }

    // MARK: - Writes

    public func commit(_ batch: IndexBatch, chain: Int64, lease: Lease?) async throws {
        let logger = self.logger
        let committed = addressIDs.ids.withLock { $0 }
        let created = try await write(lease: lease) { connection in
            let cursor = try await Self.lockedCursor(connection, chain: chain, logger: logger)
            guard cursor.nextBlock == batch.fromBlock, batch.toBlock >= batch.fromBlock else {
                throw EVMIndexError(.cursorMismatch, "batch covers \(batch.fromBlock)...\(batch.toBlock) but the cursor is at \(cursor.nextBlock)")
            }
            var ids = PostgresAddressIDs(committed: committed)
            try await ids.intern(Self.addresses(of: batch), connection, logger: logger)
            try await Self.insertHeaders(connection, chain: chain, batch.headers, logger: logger)
            try await Self.insertApprovals(connection, chain: chain, batch.approvals, ids: ids, logger: logger)
            try await Self.insertTransfers(connection, chain: chain, batch.transfers, ids: ids, logger: logger)
            try await Self.insertOwners(connection, chain: chain, batch.newOwners, keepEarliest: false, ids: ids, logger: logger)
            try await Self.upsertStates(connection, chain: chain, allowances: batch.allowances, balances: batch.balances, ids: ids, logger: logger)
            if let below = batch.pruneHeadersBelow {
                try await connection.query("DELETE FROM evm_blocks WHERE chain = \(chain) AND number < \(Int64(clamping: below))", logger: logger)
            }
            let next = try StoredEVMValue.signedNext(batch.toBlock, "block")
            let head = try batch.headBlock.map { (value) throws(StoreError) in try StoredEVMValue.signed(value, "head block") }
            let finalized = try batch.finalizedBlock.map { (value) throws(StoreError) in try StoredEVMValue.signed(value, "finalized block") }
            try await connection.query("""
                UPDATE evm_chains SET next_block = \(next),
                head_block = GREATEST(COALESCE(head_block, 0), COALESCE(\(head)::BIGINT, 0)),
                finalized_block = GREATEST(COALESCE(finalized_block, 0), COALESCE(\(finalized)::BIGINT, 0)) WHERE id = \(chain)
                """, logger: logger)
            return ids.created
        }
        publish(created)
    }

    public func saveStates(chain: Int64, allowances: [AllowanceState], balances: [BalanceState], lease: Lease?) async throws {
        let logger = self.logger
        let committed = addressIDs.ids.withLock { $0 }
        let created = try await write(lease: lease) { connection in
            var ids = PostgresAddressIDs(committed: committed)
            var addresses = Set<EVMAddress>()
            for state in allowances { addresses.formUnion([state.token, state.owner, state.spender]) }
            for state in balances { addresses.formUnion([state.token, state.owner]) }
            try await ids.intern(addresses, connection, logger: logger)
            try await Self.upsertStates(connection, chain: chain, allowances: allowances, balances: balances, ids: ids, logger: logger)
            return ids.created
        }
        publish(created)
    }

    public func rollback(chain: Int64, above ancestor: UInt64, lease: Lease?) async throws -> RollbackSummary {
        let above = Int64(clamping: ancestor)
        let next = try StoredEVMValue.signedNext(ancestor, "ancestor block")
        let logger = self.logger
        return try await write(lease: lease) { connection in
            _ = try await Self.lockedCursor(connection, chain: chain, logger: logger)
            let approvals = try await Self.count(connection, """
                WITH gone AS (DELETE FROM evm_approvals WHERE chain = \(chain) AND block > \(above) RETURNING 1) SELECT count(*) FROM gone
                """, logger: logger)
            let transfers = try await Self.count(connection, """
                WITH gone AS (DELETE FROM evm_transfers WHERE chain = \(chain) AND block > \(above) RETURNING 1) SELECT count(*) FROM gone
                """, logger: logger)
            let headers = try await Self.count(connection, """
                WITH gone AS (DELETE FROM evm_blocks WHERE chain = \(chain) AND number > \(above) RETURNING 1) SELECT count(*) FROM gone
                """, logger: logger)
            try await connection.query("DELETE FROM evm_tracked_owners WHERE chain = \(chain) AND first_block > \(above)", logger: logger)
            try await connection.query("UPDATE evm_chains SET next_block = LEAST(next_block, \(next)) WHERE id = \(chain)", logger: logger)
            return RollbackSummary(approvalsRemoved: approvals, transfersRemoved: transfers, headersRemoved: headers)
        }
    }

    public func replaceRange(chain: Int64, from: UInt64, to: UInt64, approvals: [ApprovalRecord], transfers: [TransferRecord],
                             headers: [BlockHeader], newOwners: [(owner: EVMAddress, firstBlock: UInt64)], lease: Lease?) async throws {
        let logger = self.logger
        let committed = addressIDs.ids.withLock { $0 }
        let first = try StoredEVMValue.signed(from, "block")
        let last = try StoredEVMValue.signed(to, "block")
        let created = try await write(lease: lease) { connection in
            let cursor = try await Self.lockedCursor(connection, chain: chain, logger: logger)
            guard to < cursor.nextBlock else {
                throw EVMIndexError(.cursorMismatch, "replay of \(from)...\(to) reaches past the indexed head \(cursor.nextBlock)")
            }
            try await connection.query("DELETE FROM evm_approvals WHERE chain = \(chain) AND block BETWEEN \(first) AND \(last)", logger: logger)
            try await connection.query("DELETE FROM evm_transfers WHERE chain = \(chain) AND block BETWEEN \(first) AND \(last)", logger: logger)
            var stored = Set<UInt64>()
            let rows = try await connection.query(
                "SELECT number FROM evm_blocks WHERE chain = \(chain) AND number BETWEEN \(first) AND \(last)", logger: logger)
            for try await number in rows.decode(Int64.self) { stored.insert(try StoredEVMValue.unsigned(number, "block number")) }
            var batch = IndexBatch(fromBlock: from, toBlock: to)
            batch.approvals = approvals
            batch.transfers = transfers
            batch.newOwners = newOwners
            var ids = PostgresAddressIDs(committed: committed)
            try await ids.intern(Self.addresses(of: batch), connection, logger: logger)
            try await Self.insertHeaders(connection, chain: chain, headers.filter { stored.contains($0.number) }, logger: logger)
            try await Self.insertApprovals(connection, chain: chain, approvals, ids: ids, logger: logger)
            try await Self.insertTransfers(connection, chain: chain, transfers, ids: ids, logger: logger)
            try await Self.insertOwners(connection, chain: chain, newOwners, keepEarliest: true, ids: ids, logger: logger)
            return ids.created
        }
        publish(created)
    }

    /// Adds the ids a committed transaction created to the shared cache.
    func publish(_ created: [EVMAddress: Int64]) {
        guard !created.isEmpty else { return }
        addressIDs.ids.withLock { cache in cache.merge(created) { old, _ in old } }
    }

    // MARK: - Decoding

    static func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    static func count(_ connection: PostgresConnection, _ query: PostgresQuery, logger: Logger) async throws -> Int {
        for try await count in try await connection.query(query, logger: logger).decode(Int64.self) {
            return Int(try StoredEVMValue.unsigned(count, "row count"))
        }
        return 0
    }
}
