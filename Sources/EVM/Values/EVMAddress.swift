import SettleCore
import Signing

/// A 20-byte EVM account address, stored inline (no heap).
///
/// `description` is the EIP-55 mixed-case checksum form. Parsing accepts all-lower-case or all-upper-case hex
/// without a checksum, and checks the checksum of mixed-case input.
public struct EVMAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    // 8 + 8 + 4 bytes whose in-memory layout is the 20 bytes in order.
    @usableFromInline
    var storage: (UInt64, UInt64, UInt32)

    /// The zero address.
    public static let zero = EVMAddress(storage: (0, 0, 0))

    @usableFromInline
    init(storage: (UInt64, UInt64, UInt32)) {
        self.storage = storage
    }

    /// Copies exactly 20 bytes.
    /// - Throws: `EVMError.invalidLength` for any other count.
    public init<Bytes: Collection>(bytes: Bytes) throws(EVMError) where Bytes.Element == UInt8 {
        guard bytes.count == 20 else {
            throw EVMError(.invalidLength, "an address is 20 bytes, got \(bytes.count)")
        }
        var value = EVMAddress.zero
        value.withUnsafeMutableBytes { raw in
            // Contiguous bytes (an array, a slice: every store row) in one copy. Called across modules this generic
            // is not specialized, and the element loop then cost a metadata lookup per byte: most of an API page's time.
            if bytes.withContiguousStorageIfAvailable({ raw.copyMemory(from: UnsafeRawBufferPointer($0)) }) == nil {
                for (i, byte) in bytes.enumerated() { raw[i] = byte }
            }
        }
        self = value
    }

    /// Reads 20 bytes at `offset` of a buffer; the caller guarantees they are in bounds.
    @inlinable
    public init(loading buffer: UnsafeRawBufferPointer, at offset: Int) {
        var value = EVMAddress.zero
        value.withUnsafeMutableBytes { raw in
            raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + 20]))
        }
        self = value
    }

    /// The address of a public key: the last 20 bytes of keccak-256 of its 64-byte `x ‖ y`.
    public init(publicKey: Secp256k1PublicKey) {
        var hasher = Keccak256()
        publicKey.point.first.withUnsafeBytes { hasher.update($0) }
        publicKey.point.second.withUnsafeBytes { hasher.update($0) }
        self = hasher.finalize().withUnsafeBytes { EVMAddress(loading: $0, at: 12) }
    }

    /// Calls `body` with the 20 bytes.
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: storage) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<20])) }
    }

    @inlinable
    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeMutableBytes(of: &storage) { try body(UnsafeMutableRawBufferPointer(rebasing: $0[0..<20])) }
    }

    /// The 20 bytes as an array.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    public static func == (lhs: EVMAddress, rhs: EVMAddress) -> Bool {
        lhs.storage.0 == rhs.storage.0 && lhs.storage.1 == rhs.storage.1 && lhs.storage.2 == rhs.storage.2
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.0)
        hasher.combine(storage.1)
        hasher.combine(storage.2)
    }

    /// Byte-wise (numeric) order.
    public static func < (lhs: EVMAddress, rhs: EVMAddress) -> Bool {
        (UInt64(bigEndian: lhs.storage.0), UInt64(bigEndian: lhs.storage.1), UInt32(bigEndian: lhs.storage.2))
            < (UInt64(bigEndian: rhs.storage.0), UInt64(bigEndian: rhs.storage.1), UInt32(bigEndian: rhs.storage.2))
    }
}
