/// The error every `SettleCore` parser throws: what went wrong (`code`), where, and a message a person can act on.
///
/// Codes are opaque so new ones can be added without breaking callers; compare with `==`.
public struct CoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }

        /// A character that is not a hexadecimal digit.
        public static let invalidHexCharacter = Code("invalidHexCharacter")
        /// A hex string with an odd number of digits where whole bytes were expected.
        public static let oddHexLength = Code("oddHexLength")
        /// A decimal string with a character that is not a digit, or empty.
        public static let invalidDecimal = Code("invalidDecimal")
        /// A number that does not fit the target width.
        public static let overflow = Code("overflow")
        /// A byte string of the wrong length for a fixed-size value.
        public static let invalidLength = Code("invalidLength")
        /// A value that is valid syntax but not in canonical form (for example leading zeros).
        public static let nonCanonical = Code("nonCanonical")
        /// A currency code that is not three ASCII letters.
        public static let invalidCurrency = Code("invalidCurrency")
        /// Text that is not valid JSON (RFC 8259).
        public static let invalidJSON = Code("invalidJSON")

        public var description: String { raw }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A message naming the problem; never contains secret material.
    public var message: String
    /// Byte or character offset of the problem in the input, when known.
    public var offset: Int?

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
