import EVM
import PostgresNIO
import SettleCore
import Store

extension PostgresEVMIndexStore {
    /// Every address a batch names.
    static func addresses(of batch: IndexBatch) -> Set<EVMAddress> {
        var out = Set<EVMAddress>()
        for row in batch.approvals { out.formUnion([row.token, row.owner, row.spender]) }
        for row in batch.transfers { out.formUnion([row.token, row.from, row.to]) }
        for entry in batch.newOwners { out.insert(entry.owner) }
        for state in batch.allowances { out.formUnion([state.token, state.owner, state.spender]) }
        for state in batch.balances { out.formUnion([state.token, state.owner]) }
        return out
    }

    static func buffer(_ hash: Hash32) -> ByteBuffer { hash.bytes32.withUnsafeBytes { ByteBuffer(bytes: $0) } }

    static func buffer(_ address: EVMAddress) -> ByteBuffer { address.withUnsafeBytes { ByteBuffer(bytes: $0) } }

    static func buffer(_ value: UInt256) -> ByteBuffer { value.withBigEndianBytes { ByteBuffer(bytes: $0) } }

    /// Headers, the last of each number winning (as SQLite's `INSERT OR REPLACE`); a stored header is replaced.
    static func insertHeaders(_ connection: PostgresConnection, chain: Int64, _ headers: [BlockHeader], logger: Logger) async throws {
        var byNumber: [UInt64: BlockHeader] = [:]
        for header in headers { byNumber[header.number] = header }
        let rows = byNumber.values.sorted { $0.number < $1.number }
        for start in stride(from: 0, to: rows.count, by: rowsPerStatement) {
            let chunk = rows[start..<min(rows.count, start + rowsPerStatement)]
            var numbers: [Int64] = [], hashes: [ByteBuffer] = [], parents: [ByteBuffer] = [], times: [Int64] = []
            for header in chunk {
                numbers.append(try StoredEVMValue.signed(header.number, "block number"))
                hashes.append(buffer(header.hash))
                parents.append(buffer(header.parentHash))
                times.append(try StoredEVMValue.signed(header.timestamp, "block timestamp"))
            }
            try await connection.query("""
                INSERT INTO evm_blocks(chain, number, hash, parent_hash, timestamp)
                SELECT \(chain), * FROM unnest(\(numbers)::BIGINT[], \(hashes)::BYTEA[], \(parents)::BYTEA[], \(times)::BIGINT[])
                ON CONFLICT (chain, number) DO UPDATE SET hash = excluded.hash, parent_hash = excluded.parent_hash, timestamp = excluded.timestamp
                """, logger: logger)
        }
    }

    static func insertApprovals(_ connection: PostgresConnection, chain: Int64, _ rows: [ApprovalRecord], ids: PostgresAddressIDs,
                                logger: Logger) async throws {
        try await insertEvents(connection, table: "evm_approvals", columns: "token, owner, spender", chain: chain, rows, ids: ids, logger: logger) {
            ($0.block, $0.logIndex, $0.blockTime, $0.transactionHash, $0.token, $0.owner, $0.spender, $0.value)
        }
    }

    static func insertTransfers(_ connection: PostgresConnection, chain: Int64, _ rows: [TransferRecord], ids: PostgresAddressIDs,
                                logger: Logger) async throws {
        try await insertEvents(connection, table: "evm_transfers", columns: "token, sender, recipient", chain: chain, rows, ids: ids, logger: logger) {
            ($0.block, $0.logIndex, $0.blockTime, $0.transactionHash, $0.token, $0.from, $0.to, $0.value)
        }
    }

    /// Inserts event rows of either table, `rowsPerStatement` per statement. A row already stored at the same position
    /// is a broken primary key (`StoreError(.constraint)`), as in SQLite: the cursor check makes it a bug or a node
    /// that repeats a log.
    private static func insertEvents<Row>(
        _ connection: PostgresConnection, table: String, columns: String, chain: Int64, _ rows: [Row], ids: PostgresAddressIDs, logger: Logger,
        _ fields: (Row) -> (UInt64, UInt64, UInt64, Hash32, EVMAddress, EVMAddress, EVMAddress, UInt256)
    ) async throws {
        for start in stride(from: 0, to: rows.count, by: rowsPerStatement) {
            let count = min(rows.count, start + rowsPerStatement) - start
            var blocks: [Int64] = [], logIndexes: [Int64] = [], times: [Int64] = [], tokens: [Int64] = [], firsts: [Int64] = [], seconds: [Int64] = []
            var hashes: [ByteBuffer] = [], values: [ByteBuffer] = []
            hashes.reserveCapacity(count)
            values.reserveCapacity(count)
            for row in rows[start..<(start + count)] {
                let (block, logIndex, blockTime, hash, token, first, second, value) = fields(row)
                blocks.append(try StoredEVMValue.signed(block, "block number"))
                logIndexes.append(try StoredEVMValue.signed(logIndex, "log index"))
                times.append(try StoredEVMValue.signed(blockTime, "block time"))
                hashes.append(buffer(hash))
                tokens.append(try ids.id(token))
                firsts.append(try ids.id(first))
                seconds.append(try ids.id(second))
                values.append(buffer(value))
            }
            var binds = PostgresBindings(capacity: 9)
            binds.append(chain)
            binds.append(blocks)
            binds.append(logIndexes)
            binds.append(times)
            binds.append(hashes)
            binds.append(tokens)
            binds.append(firsts)
            binds.append(seconds)
            binds.append(values)
            try await connection.query(PostgresQuery(unsafeSQL: """
                INSERT INTO \(table)(chain, block, log_index, block_time, tx_hash, \(columns), value)
                SELECT $1, * FROM unnest($2::BIGINT[], $3::BIGINT[], $4::BIGINT[], $5::BYTEA[], $6::BIGINT[], $7::BIGINT[], $8::BIGINT[], $9::BYTEA[])
                """, binds: binds), logger: logger)
        }
    }

    /// Tracked owners: a known owner keeps its first block, or (`keepEarliest`, for replay) takes the earlier one.
    static func insertOwners(_ connection: PostgresConnection, chain: Int64, _ entries: [(owner: EVMAddress, firstBlock: UInt64)],
                             keepEarliest: Bool, ids: PostgresAddressIDs, logger: Logger) async throws {
        guard !entries.isEmpty else { return }
        // One row per owner (an upsert may not touch a row twice): the first entry's block, or the earliest.
        var order: [EVMAddress] = []
        var firstBlocks: [EVMAddress: UInt64] = [:]
        for entry in entries {
            if let known = firstBlocks[entry.owner] {
                if keepEarliest { firstBlocks[entry.owner] = min(known, entry.firstBlock) }
            } else {
                order.append(entry.owner)
                firstBlocks[entry.owner] = entry.firstBlock
            }
        }
        var owners: [Int64] = [], blocks: [Int64] = []
        for owner in order {
            owners.append(try ids.id(owner))
            blocks.append(try StoredEVMValue.signed(firstBlocks[owner] ?? 0, "first block"))
        }
        let conflict = keepEarliest
            ? "DO UPDATE SET first_block = LEAST(evm_tracked_owners.first_block, excluded.first_block)" : "DO NOTHING"
        var binds = PostgresBindings(capacity: 3)
        binds.append(chain)
        binds.append(owners)
        binds.append(blocks)
        try await connection.query(PostgresQuery(unsafeSQL: """
            INSERT INTO evm_tracked_owners(chain, owner, first_block) SELECT $1, * FROM unnest($2::BIGINT[], $3::BIGINT[])
            ON CONFLICT (chain, owner) \(conflict)
            """, binds: binds), logger: logger)
    }

    /// Current states: a stored state is replaced only by one read at the same block or later. Several states of one
    /// key in the input fold as SQLite applies them one by one (a later one wins unless read at an earlier block).
    static func upsertStates(_ connection: PostgresConnection, chain: Int64, allowances: [AllowanceState], balances: [BalanceState],
                             ids: PostgresAddressIDs, logger: Logger) async throws {
        if !allowances.isEmpty {
            var order: [[EVMAddress]] = []
            var latest: [[EVMAddress]: AllowanceState] = [:]
            for state in allowances {
                let key = [state.token, state.owner, state.spender]
                if let kept = latest[key] {
                    if state.asOfBlock >= kept.asOfBlock { latest[key] = state }
                } else {
                    order.append(key)
                    latest[key] = state
                }
            }
            var tokens: [Int64] = [], owners: [Int64] = [], spenders: [Int64] = [], values: [ByteBuffer] = [], blocks: [Int64] = []
            for key in order {
                guard let state = latest[key] else { continue }
                tokens.append(try ids.id(state.token))
                owners.append(try ids.id(state.owner))
                spenders.append(try ids.id(state.spender))
                values.append(buffer(state.value))
                blocks.append(try StoredEVMValue.signed(state.asOfBlock, "state block"))
            }
            try await connection.query("""
                INSERT INTO evm_allowances(chain, token, owner, spender, value, as_of_block)
                SELECT \(chain), * FROM unnest(\(tokens)::BIGINT[], \(owners)::BIGINT[], \(spenders)::BIGINT[], \(values)::BYTEA[], \(blocks)::BIGINT[])
                ON CONFLICT (chain, token, owner, spender) DO UPDATE SET value = excluded.value, as_of_block = excluded.as_of_block
                WHERE excluded.as_of_block >= evm_allowances.as_of_block
                """, logger: logger)
        }
        if !balances.isEmpty {
            var order: [[EVMAddress]] = []
            var latest: [[EVMAddress]: BalanceState] = [:]
            for state in balances {
                let key = [state.token, state.owner]
                if let kept = latest[key] {
                    if state.asOfBlock >= kept.asOfBlock { latest[key] = state }
                } else {
                    order.append(key)
                    latest[key] = state
                }
            }
            var tokens: [Int64] = [], owners: [Int64] = [], values: [ByteBuffer] = [], blocks: [Int64] = []
            for key in order {
                guard let state = latest[key] else { continue }
                tokens.append(try ids.id(state.token))
                owners.append(try ids.id(state.owner))
                values.append(buffer(state.value))
                blocks.append(try StoredEVMValue.signed(state.asOfBlock, "state block"))
            }
            try await connection.query("""
                INSERT INTO evm_balances(chain, token, owner, value, as_of_block)
                SELECT \(chain), * FROM unnest(\(tokens)::BIGINT[], \(owners)::BIGINT[], \(values)::BYTEA[], \(blocks)::BIGINT[])
                ON CONFLICT (chain, token, owner) DO UPDATE SET value = excluded.value, as_of_block = excluded.as_of_block
                WHERE excluded.as_of_block >= evm_balances.as_of_block
                """, logger: logger)
        }
    }
}

/// Address ids inside one PostgreSQL write: the store's committed cache, plus the addresses this transaction interned
/// (published to the cache only after it commits).
struct PostgresAddressIDs {
    let committed: [EVMAddress: Int64]
    var created: [EVMAddress: Int64] = [:]

    init(committed: [EVMAddress: Int64]) {
        self.committed = committed
    }

    func id(_ address: EVMAddress) throws(StoreError) -> Int64 {
        if let id = committed[address] ?? created[address] { return id }
        throw StoreError(.corruptValue, "address \(address) was not interned before its row was written")
    }

    /// Gives every address of `addresses` an id, in one statement for the new ones. They are inserted in byte order,
    /// so two daemons interning overlapping sets wait on each other in one order and never deadlock.
    mutating func intern(_ addresses: Set<EVMAddress>, _ connection: PostgresConnection, logger: Logger) async throws {
        let missing = addresses.filter { committed[$0] == nil && created[$0] == nil }.sorted()
        guard !missing.isEmpty else { return }
        let buffers = missing.map(PostgresEVMIndexStore.buffer)
        try await connection.query("""
            INSERT INTO evm_addresses(address) SELECT a FROM unnest(\(buffers)::BYTEA[]) AS a ORDER BY a ON CONFLICT (address) DO NOTHING
            """, logger: logger)
        let rows = try await connection.query("SELECT id, address FROM evm_addresses WHERE address = ANY(\(buffers)::BYTEA[])", logger: logger)
        for try await (id, address) in rows.decode((Int64, ByteBuffer).self) {
            created[try StoredEVMValue.address(PostgresEVMIndexStore.bytes(address))] = id
        }
        guard missing.allSatisfy({ created[$0] != nil }) else {
            throw StoreError(.corruptValue, "an address interned in evm_addresses cannot be read back")
        }
    }
}
