import SettleCore

/// A 32-byte EVM hash (transaction hash, block hash, log topic, storage key), stored inline.
///
/// `description` is `0x` and 64 lower-case hex digits.
public struct Hash32: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The 32 bytes.
    public var bytes32: Bytes32

    /// 32 zero bytes.
    public static let zero = Hash32(Bytes32.zero)

    /// Wraps 32 bytes.
    @inlinable
    public init(_ bytes: Bytes32) {
        self.bytes32 = bytes
    }

    /// Copies exactly 32 bytes.
    /// - Throws: `EVMError.invalidLength` for any other count.
    public init<Bytes: Collection>(bytes: Bytes) throws(EVMError) where Bytes.Element == UInt8 {
        guard let value = try? Bytes32(bytes) else {
            throw EVMError(.invalidLength, "a hash is 32 bytes, got \(bytes.count)")
        }
        self.bytes32 = value
    }

    /// Parses 64 hex digits with an optional `0x` prefix.
    /// - Throws: `EVMError.invalidHex` or `.invalidLength`.
    public init(hex: some StringProtocol) throws(EVMError) {
        try self.init(bytes: try decodeHex(hex))
    }

    /// Keccak-256 of `bytes`.
    public static func keccak<Bytes: Sequence>(_ bytes: Bytes) -> Hash32 where Bytes.Element == UInt8 {
        Hash32(Keccak256.hash(bytes))
    }

    /// The bytes as an array.
    public var bytes: [UInt8] { bytes32.bytes }

    /// `0x` and lower-case hex.
    public var description: String { bytes32.withUnsafeBytes { Hex.encode($0, prefix: true) } }

    public static func < (lhs: Hash32, rhs: Hash32) -> Bool { lhs.bytes32 < rhs.bytes32 }
}

/// Decodes hex, mapping `CoreError` to `EVMError.invalidHex` with the same offset.
func decodeHex(_ text: some StringProtocol) throws(EVMError) -> [UInt8] {
    do {
        return try Hex.decode(text)
    } catch {
        throw EVMError(.invalidHex, error.message, offset: error.offset)
    }
}
