import SettleCore
import Signing

/// A Solana address: 32 bytes held inline, written in base58.
///
/// Most addresses are ed25519 public keys; program-derived addresses are deliberately off the curve (see
/// `isOnCurve`). Ordering is lexicographic over the bytes, the order Solana sorts account keys in.
public struct SolanaPublicKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The 32 bytes.
    public var rawValue: Bytes32

    /// The all-zero key, `11111111111111111111111111111111` (the System Program's id).
    public static let zero = SolanaPublicKey(rawValue: .zero)

    /// Wraps 32 bytes.
    @inlinable
    public init(rawValue: Bytes32) {
        self.rawValue = rawValue
    }

    /// The address of an ed25519 public key.
    @inlinable
    public init(_ publicKey: Ed25519PublicKey) {
        self.rawValue = publicKey.rawValue
    }

    /// Copies exactly 32 bytes.
    /// - Throws: `SolanaError.invalidLength` for any other count.
    public init<Bytes: Collection>(bytes: Bytes) throws(SolanaError) where Bytes.Element == UInt8 {
        guard bytes.count == 32, let value = try? Bytes32(bytes) else {
            throw SolanaError(.invalidLength, "a public key is 32 bytes, got \(bytes.count)")
        }
        self.rawValue = value
    }

    /// Parses base58 text, as `solana address` prints it.
    /// - Throws: `SolanaError.invalidBase58Character`, or `.invalidLength` when the text is longer than 44
    ///   characters or does not decode to exactly 32 bytes.
    public init(base58 text: some StringProtocol) throws(SolanaError) {
        let bytes = try Base58.decode(text, count: 32, maxLength: 44, what: "a public key")
        try self.init(bytes: bytes)
    }

    /// The 32 bytes as an array.
    public var bytes: [UInt8] { rawValue.bytes }

    /// Base58 text.
    public var description: String { rawValue.withUnsafeBytes { Base58.encode($0) } }

    @inlinable
    public static func < (lhs: SolanaPublicKey, rhs: SolanaPublicKey) -> Bool { lhs.rawValue < rhs.rawValue }
}
