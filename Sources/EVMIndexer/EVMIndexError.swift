/// The error the EVM indexer throws.
public struct EVMIndexError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }

        /// The store holds a different chain id or mode than the configuration.
        public static let chainMismatch = Code("chainMismatch")
        /// The node answers for another chain id than configured.
        public static let wrongChain = Code("wrongChain")
        /// A batch does not start at the cursor.
        public static let cursorMismatch = Code("cursorMismatch")
        /// The node's answers contradict each other (log block hash vs header, header numbers).
        public static let inconsistentNode = Code("inconsistentNode")
        /// The reorg went deeper than the kept header window.
        public static let reorgTooDeep = Code("reorgTooDeep")
        /// Scoped mode with no spender to scope on.
        public static let nothingToIndex = Code("nothingToIndex")

        public var description: String { raw }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
