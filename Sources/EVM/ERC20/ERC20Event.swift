import SettleCore

/// A decoded ERC-20 `Transfer` or `Approval` log.
public enum ERC20Event: Hashable, Sendable {
    /// `Transfer(from, to, value)`.
    case transfer(from: EVMAddress, to: EVMAddress, value: UInt256)
    /// `Approval(owner, spender, value)`.
    case approval(owner: EVMAddress, spender: EVMAddress, value: UInt256)

    /// Decodes a log's topics and data.
    ///
    /// Requires exactly three topics (topic 0 the event's, topics 1 and 2 zero-padded addresses) and exactly one
    /// data word. An ERC-721 `Transfer` (four topics, no data) is rejected with `.logMismatch`.
    /// - Throws: `EVMError.logMismatch`, `.abiNonZeroPadding`, or `.abiTruncated`.
    public init<Bytes: Collection>(topics: [Hash32], data: Bytes) throws(EVMError) where Bytes.Element == UInt8 {
        guard topics.count == 3 else {
            throw EVMError(.logMismatch, "an ERC-20 event has 3 topics, got \(topics.count)")
        }
        let isTransfer: Bool
        switch topics[0] {
        case ERC20.transferTopic: isTransfer = true
        case ERC20.approvalTopic: isTransfer = false
        default: throw EVMError(.logMismatch, "topic 0 is neither Transfer nor Approval")
        }
        guard data.count == 32 else {
            if data.count < 32 { throw EVMError(.abiTruncated, "log data is \(data.count) bytes, expected 32") }
            throw EVMError(.logMismatch, "log data is \(data.count) bytes, expected 32")
        }
        let first = try Self.address(topics[1], index: 1)
        let second = try Self.address(topics[2], index: 2)
        let value = Array(data).withUnsafeBytes { UInt256(loadingBigEndian: $0) }  // exactly 32 bytes, checked above
        self = isTransfer
            ? .transfer(from: first, to: second, value: value)
            : .approval(owner: first, spender: second, value: value)
    }

    /// The token amount moved or approved.
    public var value: UInt256 {
        switch self {
        case .transfer(_, _, let value), .approval(_, _, let value): return value
        }
    }

    /// An indexed address: 12 zero bytes then the address.
    private static func address(_ topic: Hash32, index: Int) throws(EVMError) -> EVMAddress {
        let padded = topic.bytes32.withUnsafeBytes { $0.prefix(12).allSatisfy { $0 == 0 } }
        guard padded else {
            throw EVMError(.abiNonZeroPadding, "topic \(index) is not a zero-padded address")
        }
        return topic.bytes32.withUnsafeBytes { EVMAddress(loading: $0, at: 12) }
    }

    /// The topics and data a token contract emits for this event (the inverse of `init(topics:data:)`).
    public var log: (topics: [Hash32], data: [UInt8]) {
        func topic(_ address: EVMAddress) -> Hash32 {
            var bytes = [UInt8](repeating: 0, count: 12)
            bytes.append(contentsOf: address.bytes)
            return (try? Hash32(bytes: bytes)) ?? .zero  // 32 bytes by construction
        }
        switch self {
        case .transfer(let from, let to, let value):
            return ([ERC20.transferTopic, topic(from), topic(to)], value.bigEndianBytes)
        case .approval(let owner, let spender, let value):
            return ([ERC20.approvalTopic, topic(owner), topic(spender)], value.bigEndianBytes)
        }
    }
}
