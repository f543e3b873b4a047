import SettleCore

/// The error the SQLite store throws: SQLite's result code, its message, and the statement that failed.
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }

        /// The database file could not be opened or created.
        public static let cannotOpen = Code("cannotOpen")
        /// A UNIQUE, NOT NULL, CHECK or FOREIGN KEY rule refused the write.
        public static let constraint = Code("constraint")
        /// The database stayed locked past the busy timeout (retryable).
        public static let busy = Code("busy")
        /// The schema is newer than this program, or a migration failed.
        public static let migration = Code("migration")
        /// A stored value is not what the schema promises (corruption or a bug).
        public static let corruptValue = Code("corruptValue")
        /// Another process owns the database (`DatabaseLock`).
        public static let locked = Code("locked")
        /// A database location (a `postgres://` URL) that cannot be used.
        public static let invalidLocation = Code("invalidLocation")
        /// A write under a lease whose epoch is no longer current: another daemon took the work over.
        public static let fenced = Code("fenced")
        /// A statement the store built wrongly (placeholders and values disagree): a bug.
        public static let invalidQuery = Code("invalidQuery")
        /// Any other PostgreSQL failure (the server's SQLSTATE and message are in the text).
        public static let database = Code("database")
        /// Any other SQLite failure.
        public static let sqlite = Code("sqlite")

        public var description: String { raw }
    }

    public var code: Code
    public var message: String
    /// SQLite's extended result code, when the failure came from SQLite.
    public var resultCode: Int32?

    public init(_ code: Code, _ message: String, resultCode: Int32? = nil) {
        self.code = code
        self.message = message
        self.resultCode = resultCode
    }

    public var description: String {
        if let resultCode { return "\(code) (SQLite \(resultCode)): \(message)" }
        return "\(code): \(message)"
    }
}

extension StoreError {
    /// A database whose `module` schema is at `version`, beyond the `known` versions of this build: refused, naming the
    /// release that wrote it (none recorded before 0.15).
    public static func newerSchema(module: String, version: Int, writtenBy: String?, known: Int) -> StoreError {
        let writer = writtenBy.map { "settled \($0)" } ?? "a newer settled"
        return StoreError(.migration, "the database's \(module) schema is at version \(version), written by \(writer); this settled \(SettleVersion.current) "
            + "knows versions up to \(known). Run \(writtenBy.map { "settled \($0) or newer" } ?? "a newer settled") (downgrades are not supported)")
    }
}
