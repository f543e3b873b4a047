import EVM
import Leases
import PostgresNIO
import Store

extension PostgresEVMIndexStore {
    public func watch(chain: Int64, hash: Hash32, now: UInt64, lease: Lease?) async throws {
        let seen = try StoredEVMValue.signed(now, "time")
        let logger = self.logger
        try await write(lease: lease) { connection in
            _ = try await connection.query("""
                INSERT INTO evm_watched_transactions(chain, hash, status, first_seen, last_checked)
                VALUES (\(chain), \(Self.buffer(hash)), 'pending', \(seen), \(seen)) ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    public func watched(chain: Int64, hash: Hash32) async throws -> WatchedTransaction? {
        try await watchedTransactions("""
            SELECT hash, status, block, block_hash, gas_used, reorg_count, first_seen FROM evm_watched_transactions
            WHERE chain = \(chain) AND hash = \(Self.buffer(hash))
            """).first
    }

    public func unsettledTransactions(chain: Int64, finalized: UInt64) async throws -> [WatchedTransaction] {
        try await watchedTransactions("""
            SELECT hash, status, block, block_hash, gas_used, reorg_count, first_seen FROM evm_watched_transactions
            WHERE chain = \(chain) AND (status = 'pending' OR (status IN ('mined', 'reverted') AND block > \(Int64(clamping: finalized))))
            ORDER BY first_seen, hash
            """)
    }

    public func update(chain: Int64, _ transaction: WatchedTransaction, now: UInt64, lease: Lease?) async throws {
        let checked = try StoredEVMValue.signed(now, "time")
        let block = try transaction.block.map { (value) throws(StoreError) in try StoredEVMValue.signed(value, "block") }
        let gas = try transaction.gasUsed.map { (value) throws(StoreError) in try StoredEVMValue.signed(value, "gas used") }
        let blockHash = transaction.blockHash.map(Self.buffer)
        let reorgs = Int64(transaction.reorgCount)
        let logger = self.logger
        try await write(lease: lease) { connection in
            _ = try await connection.query("""
                UPDATE evm_watched_transactions SET status = \(transaction.status.rawValue), block = \(block), block_hash = \(blockHash),
                gas_used = \(gas), reorg_count = \(reorgs), last_checked = \(checked)
                WHERE chain = \(chain) AND hash = \(Self.buffer(transaction.hash))
                """, logger: logger)
        }
    }

    private func watchedTransactions(_ query: PostgresQuery) async throws -> [WatchedTransaction] {
        let rows = try await database.client.query(query, logger: logger)
        var out: [WatchedTransaction] = []
        for try await (hash, text, block, blockHash, gas, reorgs, firstSeen) in rows.decode(
            (ByteBuffer, String, Int64?, ByteBuffer?, Int64?, Int64, Int64).self)
        {
            guard let status = WatchedTransaction.Status(rawValue: text) else {
                throw StoreError(.corruptValue, "watched transaction status '\(text)'")
            }
            out.append(WatchedTransaction(
                hash: try StoredEVMValue.hash(Self.bytes(hash)), status: status,
                block: try block.map { (value) throws(StoreError) in try StoredEVMValue.unsigned(value, "block") },
                blockHash: try blockHash.map { (value) throws(StoreError) in try StoredEVMValue.hash(Self.bytes(value)) },
                gasUsed: try gas.map { (value) throws(StoreError) in try StoredEVMValue.unsigned(value, "gas_used") },
                reorgCount: Int(try StoredEVMValue.unsigned(reorgs, "reorg_count")), firstSeen: try StoredEVMValue.unsigned(firstSeen, "first_seen")))
        }
        return out
    }
}
