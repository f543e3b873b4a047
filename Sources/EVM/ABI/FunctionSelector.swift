import SettleCore

/// The first four bytes of calldata: keccak-256 of a function's canonical signature, truncated.
public struct FunctionSelector: Hashable, Sendable, CustomStringConvertible {
    /// The four bytes, big-endian (first byte in the most significant position).
    public let rawValue: UInt32

    /// Wraps four bytes given as a big-endian integer.
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Copies exactly four bytes.
    /// - Throws: `EVMError.invalidLength` for any other count.
    public init<Bytes: Collection>(bytes: Bytes) throws(EVMError) where Bytes.Element == UInt8 {
        guard bytes.count == 4 else {
            throw EVMError(.invalidLength, "a selector is 4 bytes, got \(bytes.count)")
        }
        rawValue = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The selector of a signature such as `transfer(address,uint256)` (spaces are removed, as eth-utils does).
    public init(signature: some StringProtocol) {
        let digest = Keccak256.hash(signature.utf8.filter { $0 != UInt8(ascii: " ") })
        rawValue = digest.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).bigEndian }
    }

    /// The selector of `name(types…)` with canonical type names.
    public init(name: String, parameters: [ABIType]) {
        self.init(signature: ABI.signature(name: name, parameters: parameters))
    }

    /// The four bytes.
    public var bytes: [UInt8] {
        [UInt8(truncatingIfNeeded: rawValue >> 24), UInt8(truncatingIfNeeded: rawValue >> 16),
         UInt8(truncatingIfNeeded: rawValue >> 8), UInt8(truncatingIfNeeded: rawValue)]
    }

    /// `0x` and eight hex digits.
    public var description: String { Hex.encode(bytes, prefix: true) }
}
