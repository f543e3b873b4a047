import Foundation
import SettleCore
import Store

extension Ledger {
    /// One settled payment for the dashboard's overview: its token, amount and when it settled.
    public struct Collected: Hashable, Sendable {
        public var chain: String
        public var token: String
        public var amount: TokenAmount
        public var settledAt: UInt64
    }

    /// The payments that settled at or after `since` (each charge once, at its latest move to settled), oldest first.
    public func collected(since: UInt64) async throws -> [Collected] {
        try await database.read { db in
            try await db.rows("""
                SELECT c.pay_chain, c.pay_token, c.token_amount, c.token_decimals, MAX(e.at) FROM charge_events e JOIN charges c ON c.id = e.charge
                WHERE e.to_state = 'settled' AND e.at >= ? AND c.state IN ('settled', 'reported')
                GROUP BY c.id, c.pay_chain, c.pay_token, c.token_amount, c.token_decimals ORDER BY MAX(e.at)
                """, [.unsigned(since)]).map { row in
                let decimals = try row.int64(3)
                guard (0...255).contains(decimals) else { throw StoreError(.corruptValue, "token decimals \(decimals)") }
                return Collected(chain: try row.text(0), token: try row.text(1),
                                 amount: TokenAmount(baseUnits: try UInt256(bigEndian: try row.blob(2)), decimals: Int(decimals)), settledAt: try row.uint64(4))
            }
        }
    }

    /// The newest `limit` charges (highest id first), optionally only in `states` and on `chain`: the dashboard's list.
    /// Each state is a range of `charges_by_state_id` read backwards.
    public func recentCharges(states: Set<ChargeState>?, chain: String?, limit: Int) async throws -> [Charge] {
        let list = (states ?? []).map(\.rawValue).sorted()
        if states != nil, list.isEmpty { return [] }
        let chainFilter = chain == nil ? "" : " AND pay_chain = ?"
        let chainValue: [SQLValue] = chain.map { [.text($0)] } ?? []
        let sql: String
        var values: [SQLValue]
        if states == nil {
            sql = "SELECT \(Self.columns) FROM charges WHERE 1 = 1\(chainFilter) ORDER BY id DESC LIMIT ?"
            values = chainValue
        } else {
            sql = list.map { _ in "SELECT \(Self.columns) FROM charges WHERE state = ?\(chainFilter)" }.joined(separator: " UNION ALL ") + " ORDER BY id DESC LIMIT ?"
            values = list.flatMap { [SQLValue.text($0)] + chainValue }
        }
        values.append(.integer(Int64(max(1, min(limit, 1_000)))))
        return try await database.read { [values] db in try await db.rows(sql, values).map(Self.charge) }
    }

    /// A charge's state moves with their times, oldest first.
    public func timeline(_ charge: Int64) async throws -> [(at: UInt64, from: ChargeState, to: ChargeState, reason: String?)] {
        try await database.read { db in
            try await db.rows("SELECT at, from_state, to_state, reason FROM charge_events WHERE charge = ? ORDER BY id", [.integer(charge)]).map { row in
                guard let from = ChargeState(rawValue: try row.text(1)), let to = ChargeState(rawValue: try row.text(2)) else {
                    throw StoreError(.corruptValue, "charge event with an unknown state")
                }
                return (try row.uint64(0), from, to, try row.optionalText(3))
            }
        }
    }
}
