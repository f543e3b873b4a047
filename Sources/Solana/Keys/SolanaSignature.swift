import SettleCore
import Signing

/// A transaction signature: 64 bytes held inline, written in base58. The first signature of a transaction is
/// its id.
public struct SolanaSignature: Hashable, Sendable, CustomStringConvertible {
    /// The 64 bytes (`R ‖ S`).
    public var rawValue: Bytes64

    /// The 64 zero bytes that stand in for a signature not yet made.
    public static let zero = SolanaSignature(rawValue: Bytes64(first: .zero, second: .zero))

    /// Wraps 64 bytes.
    public init(rawValue: Bytes64) {
        self.rawValue = rawValue
    }

    /// The signature an ed25519 key made.
    public init(_ signature: Ed25519Signature) {
        self.rawValue = signature.rawValue
    }

    /// Copies exactly 64 bytes.
    /// - Throws: `SolanaError.invalidLength` for any other count.
    public init<Bytes: Collection>(bytes: Bytes) throws(SolanaError) where Bytes.Element == UInt8 {
        guard bytes.count == 64, let value = try? Bytes64(bytes) else {
            throw SolanaError(.invalidLength, "a signature is 64 bytes, got \(bytes.count)")
        }
        self.rawValue = value
    }

    /// Parses base58 text, as explorers and RPC responses print signatures.
    /// - Throws: `SolanaError.invalidBase58Character`, or `.invalidLength` when the text is longer than 88
    ///   characters or does not decode to exactly 64 bytes.
    public init(base58 text: some StringProtocol) throws(SolanaError) {
        let bytes = try Base58.decode(text, count: 64, maxLength: 88, what: "a signature")
        try self.init(bytes: bytes)
    }

    /// The signature in the form `Signing` verifies.
    public var ed25519: Ed25519Signature { Ed25519Signature(rawValue: rawValue) }

    /// The 64 bytes as an array.
    public var bytes: [UInt8] { rawValue.bytes }

    /// Base58 text.
    public var description: String { Base58.encode(rawValue.bytes) }
}
