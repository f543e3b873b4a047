import EVM
import Foundation
import Logging
import Transport

extension EVMChainIndexer {
    /// Starts following a transaction this daemon sent.
    public func watch(_ hash: Hash32) async throws {
        try await store.watch(chain: try await prepare().id, hash: hash, now: UInt64(Date().timeIntervalSince1970), lease: lease)
    }

    /// Checks every watched transaction whose fate can still change, against the canonical chain:
    /// - a receipt in a block whose canonical header has the same hash: `mined` (status 1) or `reverted` (status 0);
    /// - a transaction recorded as mined whose receipt is gone or sits in another block: reorged out, back to
    ///   `pending` (its `reorgCount` goes up) so the executor re-sends the same signed bytes;
    /// - a pending transaction the node does not know at all, `dropGrace` seconds after watching began: `dropped`.
    /// Returns the transactions whose status changed.
    @discardableResult
    public func checkWatchedTransactions(head: UInt64, dropGrace: UInt64 = 600,
                                         now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> [WatchedTransaction] {
        let chain = try await prepare().id
        let finalized = try await finalizedBlock(head: head)
        var changed: [WatchedTransaction] = []
        for var transaction in try await store.unsettledTransactions(chain: chain, finalized: finalized) {
            let before = transaction
            if let receipt = try await node.receipt(transaction.hash),
               let header = try await node.header(.number(receipt.blockNumber)), header.hash == receipt.blockHash {
                transaction.status = receipt.succeeded ? .mined : .reverted
                transaction.block = receipt.blockNumber
                transaction.blockHash = receipt.blockHash
                transaction.gasUsed = receipt.gasUsed
            } else {
                if before.status == .mined || before.status == .reverted {
                    transaction.reorgCount += 1
                    logger.warning("transaction reorged out", metadata: [
                        "chain": "\(config.name)", "tx.hash": "\(transaction.hash)", "block.number": "\(before.block ?? 0)",
                    ])
                }
                transaction.status = .pending
                transaction.block = nil
                transaction.blockHash = nil
                transaction.gasUsed = nil
                if now >= transaction.firstSeen + dropGrace, try await !node.knowsTransaction(transaction.hash) {
                    transaction.status = .dropped
                }
            }
            if transaction != before {
                try await store.update(chain: chain, transaction, now: now, lease: lease)
                changed.append(transaction)
            }
        }
        return changed
    }
}

extension EVMNode {
    /// True when the node has the transaction (pending or mined).
    public func knowsTransaction(_ hash: Hash32) async throws(RPCError) -> Bool {
        !(try await rpc.call("eth_getTransactionByHash", [.string(hash.description)])).isNull
    }
}
