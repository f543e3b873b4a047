import EVM
import Leases
import Store

extension SQLiteEVMIndexStore {
    public func watch(chain: Int64, hash: Hash32, now: UInt64, lease: Lease?) async throws {
        try await database.write { db in
            if let lease { try SQLiteLeaseStore.fence(db, lease) }
            let insert = try db.statement("""
                INSERT INTO evm_watched_transactions(chain, hash, status, first_seen, last_checked)
                VALUES (?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING
                """)
            insert.bind(chain, at: 1)
            hash.bytes32.withUnsafeBytes { insert.bind(bytes: $0, at: 2) }
            let seen = try StoredEVMValue.signed(now, "time")
            insert.bind(seen, at: 3)
            insert.bind(seen, at: 4)
            try insert.step()
        }
    }

    public func watched(chain: Int64, hash: Hash32) async throws -> WatchedTransaction? {
        try await watchedTransactions(chain: chain, where: "hash = ?", hash: hash).first
    }

    public func unsettledTransactions(chain: Int64, finalized: UInt64) async throws -> [WatchedTransaction] {
        try await watchedTransactions(chain: chain, where: "status = 'pending' OR (status IN ('mined', 'reverted') AND block > ?)",
                                      block: finalized)
    }

    public func update(chain: Int64, _ transaction: WatchedTransaction, now: UInt64, lease: Lease?) async throws {
        try await database.write { db in
            if let lease { try SQLiteLeaseStore.fence(db, lease) }
            let update = try db.statement("""
                UPDATE evm_watched_transactions SET status = ?, block = ?, block_hash = ?, gas_used = ?, reorg_count = ?,
                last_checked = ? WHERE chain = ? AND hash = ?
                """)
            update.bind(transaction.status.rawValue, at: 1)
            if let block = transaction.block { update.bind(try StoredEVMValue.signed(block, "block"), at: 2) } else { update.bindNull(at: 2) }
            if let blockHash = transaction.blockHash { blockHash.bytes32.withUnsafeBytes { update.bind(bytes: $0, at: 3) } } else { update.bindNull(at: 3) }
            if let gas = transaction.gasUsed { update.bind(try StoredEVMValue.signed(gas, "gas used"), at: 4) } else { update.bindNull(at: 4) }
            update.bind(transaction.reorgCount, at: 5)
            update.bind(try StoredEVMValue.signed(now, "time"), at: 6)
            update.bind(chain, at: 7)
            transaction.hash.bytes32.withUnsafeBytes { update.bind(bytes: $0, at: 8) }
            try update.step()
        }
    }

    private func watchedTransactions(chain: Int64, where condition: String, hash: Hash32? = nil, block: UInt64? = nil) async throws -> [WatchedTransaction] {
        try await database.read { db in
            let select = try db.statement("""
                SELECT hash, status, block, block_hash, gas_used, reorg_count, first_seen FROM evm_watched_transactions
                WHERE chain = ? AND (\(condition)) ORDER BY first_seen, hash
                """)
            select.bind(chain, at: 1)
            if let hash { hash.bytes32.withUnsafeBytes { select.bind(bytes: $0, at: 2) } }
            if let block { select.bind(Int64(clamping: block), at: 2) }
            var out: [WatchedTransaction] = []
            while try select.step() {
                guard let status = WatchedTransaction.Status(rawValue: select.text(1)) else {
                    throw StoreError(.corruptValue, "watched transaction status '\(select.text(1))'")
                }
                out.append(WatchedTransaction(
                    hash: try Self.hash(select.blob(0)), status: status,
                    block: try select.optionalUInt64(2),
                    blockHash: select.isNull(3) ? nil : try Self.hash(select.blob(3)),
                    gasUsed: try select.optionalUInt64(4),
                    reorgCount: select.int(5), firstSeen: try select.uint64(6)))
            }
            return out
        }
    }
}
