import EVM
import SettleCore
import Transport

/// Strict decoding of the JSON shapes Ethereum nodes return. Every failure is a `RPCError.malformedResponse`
/// naming the field, so a lying or broken node is reported, never half-believed.
enum NodeJSON {
    static func malformed(_ what: String) -> RPCError { .malformedResponse(what) }

    static func quantity(_ json: JSON?, _ field: String) throws(RPCError) -> UInt64 {
        guard let text = json?.stringValue, text.hasPrefix("0x"), text.count > 2, text.count <= 18 else {
            throw malformed("\(field) is not a hex quantity")
        }
        guard let value = UInt64(text.dropFirst(2), radix: 16) else { throw malformed("\(field) is not a hex quantity") }
        return value
    }

    /// A block number, timestamp, log index, gas amount or transaction count: a quantity Settle stores and adds to,
    /// at most `NodeNumbers.maximum` (past it: malformed, never a trap further on).
    static func height(_ json: JSON?, _ field: String) throws(RPCError) -> UInt64 {
        try NodeNumbers.checked(try quantity(json, field), field)
    }

    static func bigQuantity(_ json: JSON?, _ field: String) throws(RPCError) -> UInt256 {
        guard let text = json?.stringValue, text.hasPrefix("0x") else { throw malformed("\(field) is not a hex quantity") }
        do { return try UInt256(hex: text) } catch { throw malformed("\(field): \(error.message)") }
    }

    static func data(_ json: JSON?, _ field: String) throws(RPCError) -> [UInt8] {
        guard let text = json?.stringValue, text.hasPrefix("0x") else { throw malformed("\(field) is not 0x-prefixed hex data") }
        do { return try Hex.decode(text) } catch { throw malformed("\(field): \(error.message)") }
    }

    static func hash(_ json: JSON?, _ field: String) throws(RPCError) -> Hash32 {
        guard let text = json?.stringValue else { throw malformed("\(field) is not a 32-byte hash") }
        do { return try Hash32(hex: text) } catch { throw malformed("\(field) is not a 32-byte hash") }
    }

    static func address(_ json: JSON?, _ field: String) throws(RPCError) -> EVMAddress {
        guard let text = json?.stringValue else { throw malformed("\(field) is not an address") }
        do { return try EVMAddress(hex: text) } catch { throw malformed("\(field) is not an address: \(error.message)") }
    }

    static func header(_ json: JSON) throws(RPCError) -> BlockHeader {
        guard case .object = json else { throw malformed("block is not an object") }
        return BlockHeader(
            number: try height(json["number"], "block.number"),
            hash: try hash(json["hash"], "block.hash"),
            parentHash: try hash(json["parentHash"], "block.parentHash"),
            timestamp: try height(json["timestamp"], "block.timestamp"))
    }

    static func log(_ json: JSON) throws(RPCError) -> EVMLog {
        guard case .object = json else { throw malformed("log is not an object") }
        guard let topicsJSON = json["topics"]?.arrayValue, topicsJSON.count <= 4 else {
            throw malformed("log.topics is not an array of at most 4 hashes")
        }
        var topics: [Hash32] = []
        topics.reserveCapacity(topicsJSON.count)
        for topic in topicsJSON { topics.append(try hash(topic, "log.topics[]")) }
        return EVMLog(
            address: try address(json["address"], "log.address"), topics: topics,
            data: try data(json["data"], "log.data"),
            blockNumber: try height(json["blockNumber"], "log.blockNumber"),
            blockHash: try hash(json["blockHash"], "log.blockHash"),
            transactionHash: try hash(json["transactionHash"], "log.transactionHash"),
            logIndex: try height(json["logIndex"], "log.logIndex"),
            removed: json["removed"]?.boolValue ?? false,
            blockTimestamp: json["blockTimestamp"] == nil ? nil : try height(json["blockTimestamp"], "log.blockTimestamp"))
    }

    static func receipt(_ json: JSON) throws(RPCError) -> EVMReceipt {
        guard case .object = json else { throw malformed("receipt is not an object") }
        let status = try quantity(json["status"], "receipt.status")
        guard status <= 1 else { throw malformed("receipt.status is \(status)") }
        var logs: [EVMLog] = []
        for item in json["logs"]?.arrayValue ?? [] { logs.append(try log(item)) }
        let to = json["to"]
        let gasPrice = json["effectiveGasPrice"]
        return EVMReceipt(
            transactionHash: try hash(json["transactionHash"], "receipt.transactionHash"),
            blockHash: try hash(json["blockHash"], "receipt.blockHash"),
            blockNumber: try height(json["blockNumber"], "receipt.blockNumber"),
            succeeded: status == 1,
            gasUsed: try height(json["gasUsed"], "receipt.gasUsed"),
            effectiveGasPrice: gasPrice == nil ? .zero : try bigQuantity(gasPrice, "receipt.effectiveGasPrice"),
            from: try address(json["from"], "receipt.from"),
            to: (to == nil || to?.isNull == true) ? nil : try address(to, "receipt.to"),
            logs: logs)
    }

    /// `eth_getBlockByNumber` / `eth_getBlockByHash` without transactions: nil when the node has no such block.
    static func optionalHeader(_ result: JSON) throws(RPCError) -> BlockHeader? {
        result.isNull ? nil : try header(result)
    }

    /// `eth_getTransactionReceipt`: nil while the node does not know the transaction (or it is pending).
    static func optionalReceipt(_ result: JSON) throws(RPCError) -> EVMReceipt? {
        result.isNull ? nil : try receipt(result)
    }

    /// `eth_getBlockReceipts`: every receipt of the block, nil when the node does not know the block.
    static func blockReceipts(_ result: JSON) throws(RPCError) -> [EVMReceipt]? {
        if result.isNull { return nil }
        guard let items = result.arrayValue else { throw malformed("eth_getBlockReceipts is not an array") }
        var out: [EVMReceipt] = []
        out.reserveCapacity(items.count)
        for item in items { out.append(try receipt(item)) }
        return out
    }

    /// `eth_getBlockByNumber` without full transactions: the block's transaction hashes, nil when the node does not
    /// know the block.
    static func transactionHashes(inBlock block: JSON) throws(RPCError) -> [Hash32]? {
        if block.isNull { return nil }
        guard let transactions = block["transactions"]?.arrayValue else { throw malformed("block.transactions is not an array") }
        var out: [Hash32] = []
        out.reserveCapacity(transactions.count)
        for transaction in transactions { out.append(try hash(transaction, "block.transactions[]")) }
        return out
    }

    /// `eth_getBlockByNumber` with full transactions: the hash of `address`'s transaction with `nonce`, nil when the
    /// block holds none (or the node does not know the block).
    static func transaction(from address: EVMAddress, nonce: UInt64, inBlock block: JSON) throws(RPCError) -> Hash32? {
        if block.isNull { return nil }
        guard let transactions = block["transactions"]?.arrayValue else { throw malformed("block.transactions is not an array") }
        for transaction in transactions {
            guard case .object = transaction else { throw malformed("block.transactions[] is not an object (full transactions asked)") }
            if try Self.address(transaction["from"], "transaction.from") == address, try quantity(transaction["nonce"], "transaction.nonce") == nonce {
                return try hash(transaction["hash"], "transaction.hash")
            }
        }
        return nil
    }
}
