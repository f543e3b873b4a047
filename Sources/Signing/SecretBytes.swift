import CSodium

/// Heap storage for secret key bytes: locked against swapping where the system allows, zeroed on release,
/// and never printed. Only `Signing` sees inside it.
///
/// `@unchecked Sendable` is safe: the buffer is written once in `init` and only read afterwards.
final class SecretBytes: @unchecked Sendable {
    private let base: UnsafeMutablePointer<UInt8>
    let count: Int

    init(count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws(SigningError) -> Void) throws(SigningError) {
        Sodium.ensureInitialized()
        base = .allocate(capacity: count)
        base.initialize(repeating: 0, count: count)
        self.count = count
        _ = sodium_mlock(base, count)
        // Every stored property is set: if `fill` throws, the object is released and `deinit` wipes the buffer.
        try fill(UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(base), count: count))
    }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    deinit {
        sodium_munlock(base, count)  // zeroes the memory before unlocking
        base.deallocate()
    }
}

/// Wipes a temporary buffer that held secret material.
func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { sodium_memzero($0.mutableBytePointer, $0.count) }
    bytes.removeAll()
}

/// One-time libsodium initialisation.
enum Sodium {
    private static let initialized: Bool = sodium_init() >= 0

    static func ensureInitialized() {
        precondition(initialized, "libsodium failed to initialise")
    }

    /// Fills `count` bytes from the system CSPRNG.
    static func randomBytes(_ count: Int) -> [UInt8] {
        ensureInitialized()
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { randombytes_buf($0.mutableBytePointer, count) }
        return out
    }
}

/// One byte of static storage: the pointer C functions get for an empty buffer (they never read it).
// Never written after initialisation, and C callers never read it (length 0), so sharing it is safe.
nonisolated(unsafe) private let emptyBufferByte: UnsafeMutablePointer<UInt8> = {
    let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    pointer.initialize(to: 0)
    return pointer
}()

extension UnsafeRawBufferPointer {
    /// A non-nil typed pointer for C APIs that require one even for zero-length input.
    var bytePointer: UnsafePointer<UInt8> {
        baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? UnsafePointer(emptyBufferByte)
    }
}

extension UnsafeMutableRawBufferPointer {
    /// A non-nil typed pointer for C APIs that require one.
    var mutableBytePointer: UnsafeMutablePointer<UInt8> {
        baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? emptyBufferByte
    }
}
