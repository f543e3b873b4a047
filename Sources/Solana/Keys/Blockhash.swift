import SettleCore

/// A 32-byte hash written in base58: a message's recent blockhash (or a durable nonce).
public struct Blockhash: Hashable, Sendable, CustomStringConvertible {
    /// The 32 bytes.
    public var rawValue: Bytes32

    /// The all-zero hash.
    public static let zero = Blockhash(rawValue: .zero)

    /// Wraps 32 bytes.
    @inlinable
    public init(rawValue: Bytes32) {
        self.rawValue = rawValue
    }

    /// Copies exactly 32 bytes.
    /// - Throws: `SolanaError.invalidLength` for any other count.
    public init<Bytes: Collection>(bytes: Bytes) throws(SolanaError) where Bytes.Element == UInt8 {
        guard bytes.count == 32, let value = try? Bytes32(bytes) else {
            throw SolanaError(.invalidLength, "a blockhash is 32 bytes, got \(bytes.count)")
        }
        self.rawValue = value
    }

    /// Parses base58 text, as `getLatestBlockhash` returns it.
    /// - Throws: `SolanaError.invalidBase58Character` or `.invalidLength`.
    public init(base58 text: some StringProtocol) throws(SolanaError) {
        let bytes = try Base58.decode(text, count: 32, maxLength: 44, what: "a blockhash")
        try self.init(bytes: bytes)
    }

    /// The 32 bytes as an array.
    public var bytes: [UInt8] { rawValue.bytes }

    /// Base58 text.
    public var description: String { rawValue.withUnsafeBytes { Base58.encode($0) } }
}
