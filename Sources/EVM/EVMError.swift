/// The error every `EVM` decoder and encoder throws: what went wrong (`code`), where (`offset`), and a message.
///
/// Codes are opaque so new ones can be added without breaking callers; compare with `==`. None of these errors is
/// retryable: they describe the input, which will fail the same way again.
public struct EVMError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }

        // MARK: Text and fixed sizes
        /// Text that is not hexadecimal (bad character or odd digit count).
        public static let invalidHex = Code("invalidHex")
        /// A byte string of the wrong length for a fixed-size value (address, hash, bytesN).
        public static let invalidLength = Code("invalidLength")
        /// A mixed-case address whose letters do not match its EIP-55 checksum.
        public static let invalidChecksum = Code("invalidChecksum")

        // MARK: RLP
        /// The input ends inside an RLP header or before the declared payload is complete.
        public static let rlpTruncated = Code("rlpTruncated")
        /// A declared RLP length that runs past its enclosing list or does not fit in memory.
        public static let rlpOversizedLength = Code("rlpOversizedLength")
        /// An RLP encoding that is valid but not the unique canonical one (leading zeros, short form available).
        public static let rlpNonCanonical = Code("rlpNonCanonical")
        /// Bytes left over after a complete RLP item.
        public static let rlpTrailingBytes = Code("rlpTrailingBytes")
        /// RLP lists nested deeper than the decoder's limit.
        public static let rlpTooDeep = Code("rlpTooDeep")
        /// An RLP item of the wrong kind or shape (a list where a string belongs, wrong field count, integer too wide).
        public static let rlpUnexpectedShape = Code("rlpUnexpectedShape")

        // MARK: ABI
        /// ABI data that ends before a value it must hold.
        public static let abiTruncated = Code("abiTruncated")
        /// An ABI offset or length that points outside the data, into the head, or is not word-aligned.
        public static let abiInvalidOffset = Code("abiInvalidOffset")
        /// Padding bytes of an ABI word that are not zero (or not the sign extension of an `int<N>`).
        public static let abiNonZeroPadding = Code("abiNonZeroPadding")
        /// An ABI word holding an impossible value (a `bool` other than 0 or 1).
        public static let abiInvalidValue = Code("abiInvalidValue")
        /// An ABI `string` whose bytes are not valid UTF-8.
        public static let abiInvalidUTF8 = Code("abiInvalidUTF8")
        /// An ABI value that does not match its type or does not fit it (encoding side).
        public static let abiTypeMismatch = Code("abiTypeMismatch")
        /// An ABI type name that does not parse (`uint7`, `bytes33`, unbalanced parentheses).
        public static let abiInvalidType = Code("abiInvalidType")
        /// An event log whose topics do not match the expected event.
        public static let logMismatch = Code("logMismatch")

        // MARK: Transactions
        /// A raw transaction of a type this module does not decode (only legacy and EIP-1559).
        public static let unsupportedTransactionType = Code("unsupportedTransactionType")
        /// A transaction field out of range (legacy `v` that encodes no chain id, chain id too large).
        public static let invalidTransaction = Code("invalidTransaction")
        /// A signature that is out of range, high-s (EIP-2), or from which no key recovers.
        public static let invalidSignature = Code("invalidSignature")

        public var description: String { raw }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A message naming the problem.
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
