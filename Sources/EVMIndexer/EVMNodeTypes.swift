import EVM
import SettleCore

/// A block header as far as indexing needs it.
public struct BlockHeader: Hashable, Sendable {
    public var number: UInt64
    public var hash: Hash32
    public var parentHash: Hash32
    public var timestamp: UInt64

    public init(number: UInt64, hash: Hash32, parentHash: Hash32, timestamp: UInt64) {
        self.number = number
        self.hash = hash
        self.parentHash = parentHash
        self.timestamp = timestamp
    }
}

/// One log entry from `eth_getLogs` or a receipt.
public struct EVMLog: Hashable, Sendable {
    public var address: EVMAddress
    public var topics: [Hash32]
    public var data: [UInt8]
    public var blockNumber: UInt64
    public var blockHash: Hash32
    public var transactionHash: Hash32
    public var logIndex: UInt64
    public var removed: Bool
    /// The block's timestamp, when the node includes it in logs (newer nodes do); saves a header fetch.
    public var blockTimestamp: UInt64?

    public init(address: EVMAddress, topics: [Hash32], data: [UInt8], blockNumber: UInt64, blockHash: Hash32,
                transactionHash: Hash32, logIndex: UInt64, removed: Bool, blockTimestamp: UInt64? = nil) {
        self.address = address
        self.topics = topics
        self.data = data
        self.blockNumber = blockNumber
        self.blockHash = blockHash
        self.transactionHash = transactionHash
        self.logIndex = logIndex
        self.removed = removed
        self.blockTimestamp = blockTimestamp
    }
}

/// A transaction receipt.
public struct EVMReceipt: Hashable, Sendable {
    public var transactionHash: Hash32
    public var blockHash: Hash32
    public var blockNumber: UInt64
    /// True for status 1 (success), false for 0 (reverted).
    public var succeeded: Bool
    public var gasUsed: UInt64
    public var effectiveGasPrice: UInt256
    public var from: EVMAddress
    public var to: EVMAddress?
    public var logs: [EVMLog]
}

/// A block selector for `eth_getBlockByNumber`, `eth_call` and friends.
public enum BlockTag: Hashable, Sendable, CustomStringConvertible {
    case number(UInt64)
    case latest, safe, finalized, pending, earliest

    public var description: String {
        switch self {
        case .number(let n): return "0x" + String(n, radix: 16)
        case .latest: return "latest"
        case .safe: return "safe"
        case .finalized: return "finalized"
        case .pending: return "pending"
        case .earliest: return "earliest"
        }
    }

    var json: JSON { .string(description) }
}

/// An `eth_getLogs` filter.
public struct LogFilter: Hashable, Sendable {
    public var fromBlock: UInt64
    public var toBlock: UInt64
    public var addresses: [EVMAddress]
    /// Positional topics; nil is a wildcard, several values are OR-ed.
    public var topics: [[Hash32]?]

    public init(fromBlock: UInt64, toBlock: UInt64, addresses: [EVMAddress], topics: [[Hash32]?]) {
        self.fromBlock = fromBlock
        self.toBlock = toBlock
        self.addresses = addresses
        self.topics = topics
    }

    var json: JSON {
        var topicsJSON: [JSON] = topics.map { slot in
            guard let slot else { return .null }
            return slot.count == 1 ? .string(slot[0].description) : .array(slot.map { .string($0.description) })
        }
        while let last = topicsJSON.last, last.isNull { topicsJSON.removeLast() }
        return .object([
            ("fromBlock", BlockTag.number(fromBlock).json), ("toBlock", BlockTag.number(toBlock).json),
            ("address", .array(addresses.map { .string($0.lowercaseHexPrefixed) })),
            ("topics", .array(topicsJSON)),
        ])
    }
}

extension EVMAddress {
    /// `0x` + lower-case hex, the form nodes accept everywhere.
    var lowercaseHexPrefixed: String { "0x" + lowercaseHex }
}
