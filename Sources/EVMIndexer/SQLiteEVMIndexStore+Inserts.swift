import EVM
import SettleCore
import Store
import Synchronization

extension SQLiteEVMIndexStore {
    static func insertHeaders(_ db: SQLiteConnection, chain: Int64, _ headers: [BlockHeader]) throws {
        guard !headers.isEmpty else { return }
        let insert = try db.statement("INSERT OR REPLACE INTO evm_blocks(chain, number, hash, parent_hash, timestamp) VALUES (?, ?, ?, ?, ?)")
        for header in headers {
            insert.reset()
            insert.bind(chain, at: 1)
            insert.bind(try StoredEVMValue.signed(header.number, "block number"), at: 2)
            header.hash.bytes32.withUnsafeBytes { insert.bind(bytes: $0, at: 3) }
            header.parentHash.bytes32.withUnsafeBytes { insert.bind(bytes: $0, at: 4) }
            insert.bind(try StoredEVMValue.signed(header.timestamp, "block timestamp"), at: 5)
            try insert.step()
        }
    }

    /// Rows per multi-row INSERT: one statement step inserts this many rows (much less per-row overhead).
    static let rowsPerInsert = 64

    /// Inserts a batch's pre-encoded approvals and transfers: each distinct address interned once, then multi-row
    /// INSERTs of `rowsPerInsert` rows (single-row ones for the rest). The writer only looks up, binds and steps.
    static func insertEncoded(_ db: SQLiteConnection, chain: Int64, _ encoded: EncodedEvents, interner: inout AddressInterner) throws {
        var ids: [Int64] = []
        ids.reserveCapacity(encoded.addresses.count)
        for address in encoded.addresses { ids.append(try interner.id(address)) }
        try insertEncoded(db, table: "evm_approvals", columns: "token, owner, spender", chain: chain, encoded.approvals, ids: ids)
        try insertEncoded(db, table: "evm_transfers", columns: "token, sender, recipient", chain: chain, encoded.transfers, ids: ids)
    }

    /// Inserts pre-encoded event rows of one table; `ids` holds the row id of each of the batch's distinct addresses,
    /// in `EncodedEvents.addresses` order.
    private static func insertEncoded(_ db: SQLiteConnection, table: String, columns: String, chain: Int64, _ rows: EncodedEvents.Table,
                                      ids: [Int64]) throws {
        guard rows.count > 0 else { return }
        func statement(rows count: Int) throws -> SQLiteStatement {
            let tuple = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
            return try db.statement("""
                INSERT INTO \(table)(chain, block, log_index, block_time, tx_hash, \(columns), value) VALUES \(
                Array(repeating: tuple, count: count).joined(separator: ", "))
                """)
        }
        let many = try statement(rows: rowsPerInsert)
        let one = try statement(rows: 1)
        try rows.bytes.withUnsafeBytes { bytes in
            var start = 0
            while start < rows.count {
                let count = rows.count - start >= rowsPerInsert ? rowsPerInsert : 1
                let insert = count == rowsPerInsert ? many : one
                insert.reset()
                for i in 0..<count {
                    let row = start + i
                    let base = Int32(i * 9)
                    insert.bind(chain, at: base + 1)
                    insert.bind(rows.numbers[row * 3], at: base + 2)
                    insert.bind(rows.numbers[row * 3 + 1], at: base + 3)
                    insert.bind(rows.numbers[row * 3 + 2], at: base + 4)
                    insert.bind(borrowing: UnsafeRawBufferPointer(rebasing: bytes[(row * 64)..<(row * 64 + 32)]), at: base + 5)
                    insert.bind(ids[Int(rows.addresses[row * 3])], at: base + 6)
                    insert.bind(ids[Int(rows.addresses[row * 3 + 1])], at: base + 7)
                    insert.bind(ids[Int(rows.addresses[row * 3 + 2])], at: base + 8)
                    insert.bind(borrowing: UnsafeRawBufferPointer(rebasing: bytes[(row * 64 + 32)..<(row * 64 + 64)]), at: base + 9)
                }
                try insert.step()
                start += count
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
                upsert.bind(try StoredEVMValue.signed(state.asOfBlock, "state block"), at: 6)
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
                upsert.bind(try StoredEVMValue.signed(state.asOfBlock, "state block"), at: 5)
                try upsert.step()
            }
        }
    }

    // MARK: - Decoding stored values

    static func hash(_ bytes: [UInt8]) throws -> Hash32 { try StoredEVMValue.hash(bytes) }

    static func address(_ bytes: [UInt8]) throws -> EVMAddress { try StoredEVMValue.address(bytes) }

    static func amount(_ bytes: [UInt8]) throws -> UInt256 { try StoredEVMValue.amount(bytes) }
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

/// Committed address ids, shared by every write of one store (either backend).
final class AddressCache: Sendable {
    let ids = Mutex<[EVMAddress: Int64]>([:])
}

/// A batch's event rows encoded for the writer before it is taken: numbers checked and converted, hashes and
/// amounts as bytes, and each address as an index into the batch's distinct addresses, so the writer looks each
/// distinct address up once (not three times per row) and does no conversion of its own. Built off the writer, on
/// the committing task's thread.
struct EncodedEvents: Sendable {
    struct Table: Sendable {
        var count = 0
        /// block, log index, block time per row.
        var numbers: [Int64] = []
        /// transaction hash then 32-byte big-endian value per row.
        var bytes: [UInt8] = []
        /// token, first and second address per row: indexes into `EncodedEvents.addresses`.
        var addresses: [Int32] = []
    }

    var addresses: [EVMAddress] = []
    var approvals = Table()
    var transfers = Table()
    private var positions: [EVMAddress: Int32] = [:]

    init(_ batch: IndexBatch) throws {
        try self.init(approvals: batch.approvals, transfers: batch.transfers)
    }

    init(approvals: [ApprovalRecord], transfers: [TransferRecord]) throws {
        self.approvals = try encode(approvals) { ($0.block, $0.logIndex, $0.blockTime, $0.transactionHash, $0.token, $0.owner, $0.spender, $0.value) }
        self.transfers = try encode(transfers) { ($0.block, $0.logIndex, $0.blockTime, $0.transactionHash, $0.token, $0.from, $0.to, $0.value) }
    }

    private mutating func position(_ address: EVMAddress) -> Int32 {
        if let known = positions[address] { return known }
        let next = Int32(addresses.count)
        addresses.append(address)
        positions[address] = next
        return next
    }

    private mutating func encode<Row>(_ rows: [Row], _ fields: (Row) -> (UInt64, UInt64, UInt64, Hash32, EVMAddress, EVMAddress, EVMAddress, UInt256)) throws -> Table {
        var table = Table()
        table.count = rows.count
        table.numbers.reserveCapacity(rows.count * 3)
        table.bytes = [UInt8](repeating: 0, count: rows.count * 64)
        table.addresses.reserveCapacity(rows.count * 3)
        for (row, fields) in rows.lazy.map(fields).enumerated() {
            let (block, logIndex, blockTime, transactionHash, token, first, second, value) = fields
            table.numbers.append(try StoredEVMValue.signed(block, "block number"))
            table.numbers.append(try StoredEVMValue.signed(logIndex, "log index"))
            table.numbers.append(try StoredEVMValue.signed(blockTime, "block time"))
            transactionHash.bytes32.withUnsafeBytes { hash in
                table.bytes.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: row * 64).copyMemory(from: hash.baseAddress!, byteCount: 32) }
            }
            value.writeBigEndian(into: &table.bytes, at: row * 64 + 32)
            table.addresses.append(position(token))
            table.addresses.append(position(first))
            table.addresses.append(position(second))
        }
        return table
    }
}
