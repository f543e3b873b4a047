import SettleConfiguration
import Signing

/// The API's bearer tokens and what each may do. Tokens are kept as SHA-256 digests and compared in constant time;
/// only a token's name is ever logged.
public struct BearerTokens: Sendable {
    /// What a token may do (`[[api.tokens]] scope`). `admin` includes `read`.
    public typealias Scope = DaemonConfig.APIToken.Scope

    struct Entry: Sendable {
        var name: String
        var digest: [UInt8]
        var scope: Scope
    }

    let entries: [Entry]

    /// - Parameter tokens: name, secret token text and scope of each.
    public init(_ tokens: [(name: String, token: String, scope: Scope)]) {
        entries = tokens.map { Entry(name: $0.name, digest: SHA256.hash(Array($0.token.utf8)).bytes, scope: $0.scope) }
    }

    /// True when no token is configured (the API then refuses every request that needs one).
    public var isEmpty: Bool { entries.isEmpty }

    /// The name of the token in `authorization` (an `Authorization` header value) when it has at least `scope`.
    /// - Throws: 401 when the header is missing, malformed or names no token; 403 when the token's scope is too small.
    public func authorize(_ authorization: String?, needs scope: Scope) throws(APIError) -> String {
        guard let authorization, !authorization.isEmpty else {
            throw APIError(.unauthorized, "unauthorized", "missing Authorization header: send 'Authorization: Bearer <token>'")
        }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw APIError(.unauthorized, "unauthorized", "the Authorization header must be 'Bearer <token>'")
        }
        let digest = SHA256.hash(Array(parts[1].utf8)).bytes
        // Check every entry, so timing does not tell which one matched.
        var match: Entry?
        for entry in entries where Self.constantTimeEqual(entry.digest, digest) { match = entry }
        guard let match else { throw APIError(.unauthorized, "unauthorized", "unknown bearer token") }
        guard match.scope >= scope else {
            throw APIError(.forbidden, "forbidden", "token '\(match.name)' has scope \(match.scope.rawValue); this needs \(scope.rawValue)")
        }
        return match.name
    }

    /// The token whose text is `token` (name and scope), or nil: for the dashboard's sign-in form.
    public func match(token: String) -> (name: String, scope: Scope)? {
        let digest = SHA256.hash(Array(token.utf8)).bytes
        var match: Entry?
        for entry in entries where Self.constantTimeEqual(entry.digest, digest) { match = entry }
        return match.map { ($0.name, $0.scope) }
    }

    /// The scope the token named `name` has now, or nil when no token has that name (it was removed).
    public func scope(named name: String) -> Scope? {
        entries.first { $0.name == name }?.scope
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

extension DaemonConfig.APIToken.Scope: Comparable {
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs == .read && rhs == .admin }
}
