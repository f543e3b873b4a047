/// Exactly 32 bytes stored inline (no heap): the storage behind hashes, Solana public keys and ed25519 keys.
///
/// Ordering is lexicographic over the bytes, which is the order Solana sorts account keys in.
public struct Bytes32: Hashable, Sendable, Comparable {
    // Four 8-byte words whose in-memory layout is the 32 bytes in order.
    @usableFromInline
    internal var storage: (UInt64, UInt64, UInt64, UInt64)

    /// 32 zero bytes.
    public static let zero = Bytes32(storage: (0, 0, 0, 0))

    @usableFromInline
    internal init(storage: (UInt64, UInt64, UInt64, UInt64)) {
        self.storage = storage
    }

    /// Copies exactly 32 bytes.
    /// - Throws: `CoreError.invalidLength` for any other count.
    @inlinable
    public init<Bytes: Collection>(_ bytes: Bytes) throws(CoreError) where Bytes.Element == UInt8 {
        guard bytes.count == 32 else {
            throw CoreError(.invalidLength, "expected 32 bytes, got \(bytes.count)")
        }
        var value = Bytes32.zero
        value.withUnsafeMutableBytes { raw in
            // Contiguous bytes in one copy (see `EVMAddress.init(bytes:)`: unspecialized, the loop is slow).
            if bytes.withContiguousStorageIfAvailable({ raw.copyMemory(from: UnsafeRawBufferPointer($0)) }) == nil {
                for (i, byte) in bytes.enumerated() { raw[i] = byte }
            }
        }
        self = value
    }

    /// Reads 32 bytes starting at `offset` of a raw buffer; the caller guarantees the range is in bounds.
    @inlinable
    public init(loading buffer: UnsafeRawBufferPointer, at offset: Int) {
        var value = Bytes32.zero
        value.withUnsafeMutableBytes { raw in
            raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + 32]))
        }
        self = value
    }

    /// Calls `body` with the 32 bytes.
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: storage, body)
    }

    /// Calls `body` with the 32 bytes, mutable.
    @inlinable
    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeMutableBytes(of: &storage, body)
    }

    /// The bytes as an array.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Appends the 32 bytes to `buffer`.
    @inlinable
    public func append(to buffer: inout [UInt8]) {
        withUnsafeBytes { buffer.append(contentsOf: $0) }
    }

    public static func == (lhs: Bytes32, rhs: Bytes32) -> Bool {
        lhs.storage.0 == rhs.storage.0 && lhs.storage.1 == rhs.storage.1
            && lhs.storage.2 == rhs.storage.2 && lhs.storage.3 == rhs.storage.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.0)
        hasher.combine(storage.1)
        hasher.combine(storage.2)
        hasher.combine(storage.3)
    }

    public static func < (lhs: Bytes32, rhs: Bytes32) -> Bool {
        // Big-endian reading of each word compares bytes in order.
        let l = (UInt64(bigEndian: lhs.storage.0), UInt64(bigEndian: lhs.storage.1),
                 UInt64(bigEndian: lhs.storage.2), UInt64(bigEndian: lhs.storage.3))
        let r = (UInt64(bigEndian: rhs.storage.0), UInt64(bigEndian: rhs.storage.1),
                 UInt64(bigEndian: rhs.storage.2), UInt64(bigEndian: rhs.storage.3))
        return l < r
    }

    /// Lower-case hex without prefix.
    public var hex: String { withUnsafeBytes { Hex.encode($0) } }
}

/// Exactly 64 bytes stored inline: the storage behind signatures.
public struct Bytes64: Hashable, Sendable {
    /// First 32 bytes.
    public var first: Bytes32
    /// Last 32 bytes.
    public var second: Bytes32

    public init(first: Bytes32, second: Bytes32) {
        self.first = first
        self.second = second
    }

    /// Copies exactly 64 bytes.
    /// - Throws: `CoreError.invalidLength` for any other count.
    public init<Bytes: Collection>(_ bytes: Bytes) throws(CoreError) where Bytes.Element == UInt8 {
        guard bytes.count == 64 else {
            throw CoreError(.invalidLength, "expected 64 bytes, got \(bytes.count)")
        }
        let array = Array(bytes)
        first = try Bytes32(array[0..<32])
        second = try Bytes32(array[32..<64])
    }

    /// The bytes as an array.
    public var bytes: [UInt8] { first.bytes + second.bytes }

    /// Appends the 64 bytes to `buffer`.
    public func append(to buffer: inout [UInt8]) {
        first.append(to: &buffer)
        second.append(to: &buffer)
    }

    /// Lower-case hex without prefix.
    public var hex: String { first.hex + second.hex }
}
