import SettleCore

/// Keccak-256 as Ethereum uses it (original Keccak padding `0x01`, not SHA3-256's `0x06`).
///
/// One-shot: `Keccak256.hash(bytes)` or the free function `keccak256(_:)`. Incremental: `update(_:)` then
/// `finalize()`. The state is 25 inline `UInt64` lanes; hashing never allocates.
public struct Keccak256: Sendable {
    /// The rate in bytes (1600 − 2·256 bits).
    public static let blockSize = 136

    @usableFromInline
    var state = KeccakState()
    /// A partial block waiting for more input (the first 17 lanes are used).
    @usableFromInline
    var pending = KeccakState()
    @usableFromInline
    var pendingCount = 0

    /// A hasher with no input yet.
    public init() {}

    /// Feeds bytes.
    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        var input = buffer[...]
        if pendingCount > 0 {
            let take = min(input.count, Self.blockSize - pendingCount)
            let start = pendingCount
            withUnsafeMutableBytes(of: &pending.lanes) { raw in
                UnsafeMutableRawBufferPointer(rebasing: raw[start..<start + take])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: input.prefix(take)))
            }
            pendingCount += take
            input = input.dropFirst(take)
            guard pendingCount == Self.blockSize else { return }
            withUnsafeBytes(of: pending.lanes) { state.absorb(block: $0) }
            pendingCount = 0
        }
        while input.count >= Self.blockSize {
            state.absorb(block: UnsafeRawBufferPointer(rebasing: input.prefix(Self.blockSize)))
            input = input.dropFirst(Self.blockSize)
        }
        if !input.isEmpty {
            let count = input.count
            withUnsafeMutableBytes(of: &pending.lanes) { raw in
                UnsafeMutableRawBufferPointer(rebasing: raw[0..<count])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: input))
            }
            pendingCount = count
        }
    }

    /// Feeds bytes from any sequence (contiguous storage is read in place).
    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done == nil {
            Array(bytes).withUnsafeBytes { update($0) }
        }
    }

    /// The digest of everything fed so far (the hasher itself is left unchanged).
    public func finalize() -> Bytes32 {
        withUnsafeBytes(of: pending.lanes) { raw in
            Self.finish(state: state, tail: UnsafeRawBufferPointer(rebasing: raw[0..<pendingCount]))
        }
    }

    /// Pads `tail` (fewer than 136 bytes), absorbs it and returns the digest.
    @usableFromInline
    static func finish(state: KeccakState, tail: UnsafeRawBufferPointer) -> Bytes32 {
        var state = state
        var block = KeccakState()
        withUnsafeMutableBytes(of: &block.lanes) { raw in
            UnsafeMutableRawBufferPointer(rebasing: raw[0..<tail.count]).copyMemory(from: tail)
            raw[tail.count] ^= 0x01
            raw[blockSize - 1] ^= 0x80
            state.absorb(block: UnsafeRawBufferPointer(raw))
        }
        return state.digest
    }

    /// Keccak-256 of a raw buffer: the fast path (no allocation).
    public static func hash(_ buffer: UnsafeRawBufferPointer) -> Bytes32 {
        var state = KeccakState()
        var input = buffer[...]
        while input.count >= blockSize {
            state.absorb(block: UnsafeRawBufferPointer(rebasing: input.prefix(blockSize)))
            input = input.dropFirst(blockSize)
        }
        return finish(state: state, tail: UnsafeRawBufferPointer(rebasing: input))
    }

    /// Keccak-256 of a byte sequence (contiguous storage is read in place).
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> Bytes32 where Bytes.Element == UInt8 {
        if let digest = bytes.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) {
            return digest
        }
        return Array(bytes).withUnsafeBytes { hash($0) }
    }
}

/// Keccak-256 of a raw buffer (no allocation).
public func keccak256(_ buffer: UnsafeRawBufferPointer) -> Bytes32 {
    Keccak256.hash(buffer)
}

/// Keccak-256 of a byte sequence.
public func keccak256<Bytes: Sequence>(_ bytes: Bytes) -> Bytes32 where Bytes.Element == UInt8 {
    Keccak256.hash(bytes)
}
