import EVM
import SettleCore
import Transport

/// Reading who used a signer's nonce: the evidence `ChargeLifecycle` needs before it may call an attempt dead.
extension EVMNode {
    /// `eth_getTransactionCount(address, block)`: every nonce below it is used in a block at or below `block`.
    public func transactionCount(of address: EVMAddress, at block: BlockTag) async throws(RPCError) -> UInt64 {
        try NodeJSON.height(try await rpc.call("eth_getTransactionCount", [.string(address.lowercaseHexPrefixed), block.json]),
                              "eth_getTransactionCount")
    }

    /// The block in `(above, through]` whose transactions include `address`'s nonce `nonce`: the first height at which
    /// its transaction count exceeds `nonce`, by bisection (about log2 of the range in count reads). Nil when the
    /// count at `through` does not exceed it. Needs the node's state at those heights (an archive node, or recent
    /// enough blocks); a node that cannot answer throws, and the caller has no evidence.
    public func blockUsing(nonce: UInt64, of address: EVMAddress, above: UInt64, through: UInt64) async throws(RPCError) -> UInt64? {
        guard through > above, try await transactionCount(of: address, at: .number(through)) > nonce else { return nil }
        var low = above, high = through  // count(low) <= nonce is assumed (the nonce was free at signing); count(high) > nonce
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if try await transactionCount(of: address, at: .number(middle)) > nonce { high = middle } else { low = middle }
        }
        return high
    }

    /// The hash of `address`'s transaction with `nonce` among block `number`'s transactions, or nil when the block
    /// holds none (`eth_getBlockByNumber` with full transactions).
    public func transaction(from address: EVMAddress, nonce: UInt64, inBlock number: UInt64) async throws(RPCError) -> Hash32? {
        try NodeJSON.transaction(from: address, nonce: nonce, inBlock: try await rpc.call("eth_getBlockByNumber", [BlockTag.number(number).json, true]))
    }

    /// `eth_getBlockReceipts`: every receipt of block `number` (nil when the node does not know the block).
    public func receipts(inBlock number: UInt64) async throws(RPCError) -> [EVMReceipt]? {
        try NodeJSON.blockReceipts(try await rpc.call("eth_getBlockReceipts", [BlockTag.number(number).json]))
    }

    /// The hashes of block `number`'s transactions (nil when the node does not know the block).
    public func transactionHashes(inBlock number: UInt64) async throws(RPCError) -> [Hash32]? {
        try NodeJSON.transactionHashes(inBlock: try await rpc.call("eth_getBlockByNumber", [BlockTag.number(number).json, false]))
    }
}
