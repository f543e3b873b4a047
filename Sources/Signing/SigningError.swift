/// The error every `Signing` operation throws. Its message never contains key material.
public struct SigningError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }

        /// Bytes that are not a valid private key (wrong length, zero, or not below the group order).
        public static let invalidPrivateKey = Code("invalidPrivateKey")
        /// A public key that does not decode to a curve point.
        public static let invalidPublicKey = Code("invalidPublicKey")
        /// A signature whose parts are out of range or that recovers no key.
        public static let invalidSignature = Code("invalidSignature")
        /// Key text in no format this loader knows (hex, JSON byte array, base58).
        public static let malformedKey = Code("malformedKey")
        /// A 64-byte keypair whose public half does not belong to its secret half.
        public static let keypairMismatch = Code("keypairMismatch")
        /// A key file that group or others may read or write.
        public static let insecureKeyFile = Code("insecureKeyFile")
        /// A key file that cannot be opened, is not a regular file, or is too large.
        public static let unreadableKeyFile = Code("unreadableKeyFile")
        /// An environment variable that is unset or empty.
        public static let missingEnvironmentVariable = Code("missingEnvironmentVariable")
        /// A key reference that is neither `file:PATH` nor `env:NAME`.
        public static let invalidKeyReference = Code("invalidKeyReference")

        public var description: String { raw }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A message naming the problem and what to do; never the key.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
