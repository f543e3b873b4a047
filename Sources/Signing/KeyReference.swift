/// Where a secret key is read from: never the key itself. Written in configuration as `file:PATH` or `env:NAME`.
///
/// - `file:/etc/settle/spender.key`: a file that only its owner may read (mode 0600 or 0400); anything group- or
///   world-accessible is refused.
/// - `env:SETTLE_SPENDER_KEY`: an environment variable holding the key text.
public enum KeyReference: Hashable, Sendable, CustomStringConvertible {
    /// A key file, which must not be group- or world-accessible.
    case file(path: String)
    /// An environment variable holding the key text.
    case environment(name: String)

    /// Parses `file:PATH` or `env:NAME`.
    /// - Throws: `SigningError.invalidKeyReference`.
    public init(parsing text: String) throws(SigningError) {
        if text.hasPrefix("file:"), text.count > 5 {
            self = .file(path: String(text.dropFirst(5)))
        } else if text.hasPrefix("env:"), text.count > 4 {
            let name = String(text.dropFirst(4))
            guard name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) else {
                throw SigningError(.invalidKeyReference, "environment variable name '\(name)' has characters other than A-Z, 0-9 and _")
            }
            self = .environment(name: name)
        } else {
            throw SigningError(
                .invalidKeyReference,
                "a key reference is 'file:/path/to/key' or 'env:VARIABLE_NAME', never the key itself")
        }
    }

    /// `file:PATH` or `env:NAME` (safe to log: it names where the key is, not the key).
    public var description: String {
        switch self {
        case .file(let path): "file:\(path)"
        case .environment(let name): "env:\(name)"
        }
    }
}
