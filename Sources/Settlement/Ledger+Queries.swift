import Store

/// Read-only views the HTTP API pages through: charges and agreements in id order (a stable cursor), and counts
/// for metrics.
extension Ledger {
    /// Up to `limit` charges with an id above `afterID`, in id order, optionally only in `states`.
    public func charges(states: Set<ChargeState>?, afterID: Int64?, limit: Int) async throws -> [Charge] {
        let list = (states ?? []).map(\.rawValue).sorted()
        if states != nil, list.isEmpty { return [] }
        let (sql, values) = Self.chargesPage(states: states == nil ? nil : list, afterID: afterID ?? 0, limit: limit)
        return try await database.read { db in try await db.rows(sql, values).map(Self.charge) }
    }

    /// A page of charges after `afterID`, in `states` (non-empty) or all.
    ///
    /// Filtered by state, each state is one range of `charges_by_state_id` and the ranges are merged in id order
    /// (`UNION ALL … ORDER BY id`), so a page reads about `limit` rows however rare the states are.
    static func chargesPage(states: [String]?, afterID: Int64, limit: Int) -> (sql: String, values: [SQLValue]) {
        guard let states else {
            return ("SELECT \(columns) FROM charges WHERE id > ? ORDER BY id LIMIT ?", [.integer(afterID), .integer(Int64(limit))])
        }
        let arms = states.map { _ in "SELECT \(columns) FROM charges WHERE state = ? AND id > ?" }
        let values: [SQLValue] = states.flatMap { [SQLValue.text($0), .integer(afterID)] } + [.integer(Int64(limit))]
        return (arms.joined(separator: " UNION ALL ") + " ORDER BY id LIMIT ?", values)
    }

    /// Up to `limit` agreements with an id above `afterID`, in id order.
    public func agreements(afterID: Int64?, limit: Int) async throws -> [Agreement] {
        try await database.read { db in
            try await db.rows("SELECT id, customer, subscription, chain, token, wallet FROM agreements WHERE id > ? ORDER BY id LIMIT ?",
                              [.integer(afterID ?? 0), .integer(Int64(limit))]).map(Self.agreement)
        }
    }

    /// How many charges are in `state`: reads only those (`charges_by_state`), for `/healthz`, which anyone may ask.
    public func chargeCount(in state: ChargeState) async throws -> Int {
        try await database.read { db in try await db.row(Self.chargeCountQuery, [.text(state.rawValue)])?.int(0) ?? 0 }
    }

    static let chargeCountQuery = "SELECT count(*) FROM charges WHERE state = ?"

    /// How many charges are in each state (every state present, zero when none). Reads every charge: for `/metrics`.
    public func chargeCounts() async throws -> [ChargeState: Int] {
        try await database.read { db in
            var counts = Dictionary(uniqueKeysWithValues: ChargeState.allCases.map { ($0, 0) })
            for row in try await db.rows("SELECT state, count(*) FROM charges GROUP BY state", []) {
                guard let state = ChargeState(rawValue: try row.text(0)) else { throw StoreError(.corruptValue, "charge in an unknown state") }
                counts[state] = try row.int(1)
            }
            return counts
        }
    }
}
