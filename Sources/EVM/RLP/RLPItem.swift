import SettleCore

/// A recursive-length-prefix value: a byte string or a list of items.
///
/// Encode with `encoded()`; decode canonical bytes with `RLPItem(decoding:)`, which rejects every non-canonical
/// form (see `RLPItem+Decoding.swift`).
public indirect enum RLPItem: Hashable, Sendable {
    /// A byte string (possibly empty).
    case bytes([UInt8])
    /// A list of items (possibly empty).
    case list([RLPItem])

    /// An unsigned integer as RLP encodes it: big-endian without leading zeros (zero is the empty string).
    public static func uint(_ value: UInt256) -> RLPItem {
        .bytes(value.minimalBigEndianBytes)
    }

    /// An unsigned integer as RLP encodes it.
    public static func uint(_ value: UInt64) -> RLPItem {
        uint(UInt256(value))
    }

    /// The byte string, or `EVMError.rlpUnexpectedShape` for a list.
    public func bytesValue(field: String = "item") throws(EVMError) -> [UInt8] {
        guard case .bytes(let bytes) = self else {
            throw EVMError(.rlpUnexpectedShape, "\(field): expected a byte string, found a list")
        }
        return bytes
    }

    /// The list's items, or `EVMError.rlpUnexpectedShape` for a byte string.
    public func listValue(field: String = "item") throws(EVMError) -> [RLPItem] {
        guard case .list(let items) = self else {
            throw EVMError(.rlpUnexpectedShape, "\(field): expected a list, found a byte string")
        }
        return items
    }

    /// The byte string read as a canonical unsigned integer of at most 32 bytes.
    /// - Throws: `EVMError.rlpNonCanonical` for a leading zero byte, `.rlpUnexpectedShape` for a list or more
    ///   than 32 bytes.
    public func uint256Value(field: String = "item") throws(EVMError) -> UInt256 {
        let bytes = try bytesValue(field: field)
        guard bytes.first != 0 else {
            throw EVMError(.rlpNonCanonical, "\(field): integer has a leading zero byte")
        }
        guard let value = try? UInt256(bigEndian: bytes) else {
            throw EVMError(.rlpUnexpectedShape, "\(field): integer of \(bytes.count) bytes exceeds 256 bits")
        }
        return value
    }

    /// The byte string read as a canonical unsigned integer that fits 64 bits.
    /// - Throws: as `uint256Value`, and `.rlpUnexpectedShape` past 2^64 − 1.
    public func uint64Value(field: String = "item") throws(EVMError) -> UInt64 {
        guard let value = try uint256Value(field: field).exactUInt64 else {
            throw EVMError(.rlpUnexpectedShape, "\(field): integer exceeds 64 bits")
        }
        return value
    }
}
