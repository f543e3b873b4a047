/// The error every `Solana` codec throws: what went wrong (`code`), a message a person can act on, and the byte
/// or character offset in the input when one is known.
///
/// Codes are opaque so new ones can be added without breaking callers; compare with `==`. None is retryable:
/// every code describes input or a request that will fail the same way again.
public struct SolanaError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }

        /// A character outside the base58 (Bitcoin) alphabet.
        public static let invalidBase58Character = Code("invalidBase58Character")
        /// A value of the wrong size: a public key that is not 32 bytes, a signature that is not 64, a token
        /// account that is neither 165 bytes nor a Token-2022 account with extensions.
        public static let invalidLength = Code("invalidLength")
        /// Input that ends before the structure it encodes is complete.
        public static let truncated = Code("truncated")
        /// Bytes left over after a complete structure.
        public static let trailingBytes = Code("trailingBytes")
        /// A compact-u16 in a longer form than needed (for example `0x80 0x00` for zero).
        public static let nonCanonicalCompactU16 = Code("nonCanonicalCompactU16")
        /// A compact-u16 whose value exceeds 65535 or that runs past three bytes.
        public static let compactU16Overflow = Code("compactU16Overflow")
        /// A versioned message whose version this library does not know (only legacy and v0 exist).
        public static let unsupportedVersion = Code("unsupportedVersion")
        /// A message whose header, account indexes or lookups break Solana's sanitize rules.
        public static let invalidMessage = Code("invalidMessage")
        /// More accounts than a message can index (256), or more signers than its header can count.
        public static let tooManyAccounts = Code("tooManyAccounts")
        /// An account found in an address lookup table at an index above 255.
        public static let lookupIndexOverflow = Code("lookupIndexOverflow")
        /// A transaction whose signature count differs from its message's required signers.
        public static let signatureCountMismatch = Code("signatureCountMismatch")
        /// A signer that the message does not require, or a required signer with no key given.
        public static let signerMismatch = Code("signerMismatch")
        /// More than 16 seeds, or a seed longer than 32 bytes, for a program-derived address.
        public static let maxSeedLengthExceeded = Code("maxSeedLengthExceeded")
        /// Seeds whose derived address lies on the ed25519 curve (not a valid program address).
        public static let invalidSeeds = Code("invalidSeeds")
        /// No bump seed in 255...0 gives an address off the curve.
        public static let noViableBump = Code("noViableBump")
        /// An optional (`COption`) tag other than 0 or 1.
        public static let invalidOptionTag = Code("invalidOptionTag")
        /// A token account state byte other than 0, 1, 2.
        public static let invalidAccountState = Code("invalidAccountState")
        /// A token account whose state is `Uninitialized`; SPL Token refuses to read it.
        public static let uninitializedAccount = Code("uninitializedAccount")
        /// A Token-2022 account whose account-type byte is not `Account` (2).
        public static let invalidAccountType = Code("invalidAccountType")

        public var description: String { raw }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A message naming the problem; never contains secret material.
    public var message: String
    /// Byte or character offset of the problem in the input, when known.
    public var offset: Int?

    /// Creates an error.
    public init(_ code: Code, _ message: String, offset: Int? = nil) {
        self.code = code
        self.message = message
        self.offset = offset
    }

    public var description: String {
        if let offset { return "\(code): \(message) (at offset \(offset))" }
        return "\(code): \(message)"
    }
}
