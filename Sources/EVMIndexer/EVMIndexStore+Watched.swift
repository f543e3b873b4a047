import EVM
import Foundation
import Store

extension EVMIndexStore {
    /// Starts following a transaction the daemon sent (idempotent).
    public func watch(chain: Int64, hash: Hash32, now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws {
        try await database.write { db in
            let insert = try db.statement("""
                INSERT INTO evm_watched_transactions(chain, hash, status, first_seen, last_checked)
                VALUES (?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING
                """)
            insert.bind(chain, at: 1)
            hash.bytes32.withUnsafeBytes { insert.bind(bytes: $0, at: 2) }
            insert.bind(Int64(now), at: 3)
            insert.bind(Int64(now), at: 4)
            try insert.step()
        }
    }

    /// One watched transaction, or nil.
    public func watched(chain: Int64, hash: Hash32) async throws -> WatchedTransaction? {
        try await watchedTransactions(chain: chain, where: "hash = ?", hash: hash).first
    }

    /// Watched transactions whose fate can still change: pending ones, and mined or reverted ones in blocks above
    /// `finalized`.
    public func unsettledTransactions(chain: Int64, finalized: UInt64) async throws -> [WatchedTransaction] {
        try await watchedTransactions(chain: chain, where: "status = 'pending' OR (status IN ('mined', 'reverted') AND block > ?)",
                                      block: finalized)
    }

    /// Records what the chain says about a watched transaction.
    public func update(chain: Int64, _ transaction: WatchedTransaction, now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws {
        try await database.write { db in
            let update = try db.statement("""
                UPDATE evm_watched_transactions SET status = ?, block = ?, block_hash = ?, gas_used = ?, reorg_count = ?,
                last_checked = ? WHERE chain = ? AND hash = ?
                """)
            update.bind(transaction.status.rawValue, at: 1)
            if let block = transaction.block { update.bind(Int64(block), at: 2) } else { update.bindNull(at: 2) }
            if let blockHash = transaction.blockHash { blockHash.bytes32.withUnsafeBytes { update.bind(bytes: $0, at: 3) } } else { update.bindNull(at: 3) }
            if let gas = transaction.gasUsed { update.bind(Int64(gas), at: 4) } else { update.bindNull(at: 4) }
            update.bind(transaction.reorgCount, at: 5)
            update.bind(Int64(now), at: 6)
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
            if let block { select.bind(Int64(block), at: 2) }
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
