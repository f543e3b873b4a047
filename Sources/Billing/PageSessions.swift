import Foundation
import SettleCore
import Signing
import Store

/// A checkout or portal session: a short-lived link a merchant gives one customer for one purpose. Its id is a bearer
/// capability (32 random bytes) shown once, in the URL; the database keeps only its SHA-256, so a copy of the
/// database opens no page.
public struct PageSession: Hashable, Sendable {
    public enum Purpose: String, Sendable, CaseIterable {
        case checkout, portal
    }

    /// SHA-256 of the id, hex.
    public var key: String
    public var purpose: Purpose
    public var customer: String
    /// The creation request as the merchant sent it (JSON), checked then.
    public var request: [UInt8]
    /// The page's token for state-changing requests (sent back in a header; never in a cookie).
    public var csrf: String
    public var createdAt: UInt64
    public var expiresAt: UInt64
    /// How far the page got (`CheckoutState` for a checkout).
    public var state: String
    /// What the steps found (JSON): the proven wallet, the approval, the invoices charged.
    public var result: [UInt8]?
    public var updatedAt: UInt64

    public init(key: String, purpose: Purpose, customer: String, request: [UInt8], csrf: String, createdAt: UInt64, expiresAt: UInt64,
                state: String, result: [UInt8]? = nil, updatedAt: UInt64) {
        self.key = key
        self.purpose = purpose
        self.customer = customer
        self.request = request
        self.csrf = csrf
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.state = state
        self.result = result
        self.updatedAt = updatedAt
    }

    /// A new unguessable id with its prefix (`cs_` checkout, `ps_` portal), and the key it is stored under.
    public static func newID(_ purpose: Purpose) -> (id: String, key: String) {
        let id = (purpose == .checkout ? "cs_" : "ps_") + randomToken()
        return (id, key(of: id))
    }

    /// The stored key of an id.
    public static func key(of id: String) -> String {
        Hex.encode(SHA256.hash(Array(id.utf8)).bytes, prefix: false)
    }

    /// 32 random bytes from the system's CSPRNG, base64url without padding.
    public static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// Checkout and portal sessions, in the billing module's tables (SQLite or PostgreSQL).
public struct PageSessionStore: Sendable {
    public let database: any SQLStore

    public init(database: any SQLStore) {
        self.database = database
    }

    public func create(_ session: PageSession) async throws {
        try await database.write { db in
            try await db.run("""
                INSERT INTO page_sessions(key, purpose, customer, request, csrf, created_at, expires_at, state, result, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(session.key), .text(session.purpose.rawValue), .text(session.customer), .blob(session.request), .text(session.csrf),
                      .unsigned(session.createdAt), .unsigned(session.expiresAt), .text(session.state), session.result.map { .blob($0) } ?? .null,
                      .unsigned(session.updatedAt)])
        }
    }

    /// The session stored under `key`, or nil.
    public func session(key: String) async throws -> PageSession? {
        try await database.read { db in
            guard let row = try await db.row("""
                SELECT key, purpose, customer, request, csrf, created_at, expires_at, state, result, updated_at FROM page_sessions WHERE key = ?
                """, [.text(key)]) else { return nil }
            guard let purpose = PageSession.Purpose(rawValue: try row.text(1)) else {
                throw StoreError(.corruptValue, "page session with purpose '\(try row.text(1))'")
            }
            return PageSession(key: try row.text(0), purpose: purpose, customer: try row.text(2), request: try row.blob(3), csrf: try row.text(4),
                               createdAt: try row.uint64(5), expiresAt: try row.uint64(6), state: try row.text(7),
                               result: row.isNull(8) ? nil : try row.blob(8), updatedAt: try row.uint64(9))
        }
    }

    /// Moves the session from `state` to `next` with `result`, if it is still in `state` (another request, or another
    /// daemon, may have moved it first).
    /// - Returns: whether this call moved it.
    @discardableResult
    public func move(key: String, from state: String, to next: String, result: [UInt8]?, now: UInt64) async throws -> Bool {
        let values: [SQLValue] = [.text(next), result.map { .blob($0) } ?? .null, .unsigned(now), .text(key), .text(state)]
        let changed: Int = try await database.write { db in
            try await db.run("UPDATE page_sessions SET state = ?, result = ?, updated_at = ? WHERE key = ? AND state = ?", values)
        }
        return changed == 1
    }
}
