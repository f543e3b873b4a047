import Foundation
import SettleCore
import Store

/// A merchant's sign-in to the dashboard: an API token exchanged for a cookie. The cookie's value is a bearer
/// capability (32 random bytes, `ds_` prefix); the database keeps only its SHA-256 and the token's name and scope, never
/// the token.
public struct DashboardSession: Hashable, Sendable {
    /// SHA-256 of the cookie's value, hex.
    public var key: String
    /// The `[[api.tokens]]` entry signed in with (its name; the scope is re-checked on every request).
    public var tokenName: String
    /// `read` or `admin`, as the token had at sign-in.
    public var scope: String
    /// Sent back in the `X-Settle-CSRF` header (or the `csrf` form field) by every state-changing request.
    public var csrf: String
    public var createdAt: UInt64
    public var expiresAt: UInt64
    /// When it was signed out (nil while open).
    public var endedAt: UInt64?

    public init(key: String, tokenName: String, scope: String, csrf: String, createdAt: UInt64, expiresAt: UInt64, endedAt: UInt64? = nil) {
        self.key = key
        self.tokenName = tokenName
        self.scope = scope
        self.csrf = csrf
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.endedAt = endedAt
    }

    /// A new cookie value and the key it is stored under.
    public static func newID() -> (id: String, key: String) {
        let id = "ds_" + PageSession.randomToken()
        return (id, PageSession.key(of: id))
    }
}

/// Dashboard sessions, in the billing module's tables (SQLite or PostgreSQL).
public struct DashboardSessionStore: Sendable {
    public let database: any SQLStore

    public init(database: any SQLStore) {
        self.database = database
    }

    public func create(_ session: DashboardSession) async throws {
        try await database.write { db in
            try await db.run("""
                INSERT INTO dashboard_sessions(key, token_name, scope, csrf, created_at, expires_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, NULL)
                """, [.text(session.key), .text(session.tokenName), .text(session.scope), .text(session.csrf), .unsigned(session.createdAt),
                      .unsigned(session.expiresAt)])
        }
    }

    /// The session stored under `key`, or nil.
    public func session(key: String) async throws -> DashboardSession? {
        try await database.read { db in
            guard let row = try await db.row("""
                SELECT key, token_name, scope, csrf, created_at, expires_at, ended_at FROM dashboard_sessions WHERE key = ?
                """, [.text(key)]) else { return nil }
            return DashboardSession(key: try row.text(0), tokenName: try row.text(1), scope: try row.text(2), csrf: try row.text(3),
                                    createdAt: try row.uint64(4), expiresAt: try row.uint64(5), endedAt: row.isNull(6) ? nil : try row.uint64(6))
        }
    }

    /// Signs the session out (once).
    public func end(key: String, now: UInt64) async throws {
        try await database.write { db in
            _ = try await db.run("UPDATE dashboard_sessions SET ended_at = ? WHERE key = ? AND ended_at IS NULL", [.unsigned(now), .text(key)])
        }
    }

    /// Removes sessions that ended or expired before `cutoff` (they open nothing; kept a while for the record).
    @discardableResult
    public func prune(before cutoff: UInt64) async throws -> Int {
        try await database.write { db in
            try await db.run("DELETE FROM dashboard_sessions WHERE expires_at < ? OR ended_at < ?", [.unsigned(cutoff), .unsigned(cutoff)])
        }
    }
}
