import SettleCore

/// What a wallet still allows Settle to pull after its subscription ended. Implemented by the API layer over the
/// chain views (live allowance, unsigned revoke); billing only asks.
public protocol AllowanceWatch: Sendable {
    /// The data of an `allowance.orphaned` event — at least `chain`, `wallet`, `token`, `allowance` (base units and
    /// display) and `revoke` (an unsigned transaction) — or nil when nothing is left to revoke.
    func orphaned(chain: String, wallet: String, token: String) async throws -> JSON?
}
