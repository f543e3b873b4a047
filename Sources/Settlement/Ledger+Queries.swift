import Store

/// Read-only views the HTTP API pages through: charges and agreements in id order (a stable cursor), and counts
/// for metrics.
extension Ledger {
    /// Up to `limit` charges with an id above `afterID`, in id order, optionally only in `states`.
    public func charges(states: Set<ChargeState>?, afterID: Int64?, limit: Int) async throws -> [Charge] {
        try await database.read { db in
            let list = (states ?? []).map(\.rawValue).sorted()
            let select = try db.statement(Self.chargesPageQuery(states: states == nil ? nil : list.count))
            var values: [SQLiteValue] = [.integer(afterID ?? 0)]
            values += list.map { .text($0) }
            values.append(.integer(Int64(limit)))
            select.bind(values)
            var out: [Charge] = []
            while try select.step() { out.append(try Self.row(select)) }
            return out
        }
    }

    /// A page of charges: parameters are the id to start after, then `states` state names (when filtered), then the limit.
    ///
    /// Filtered by state, each state is one range of `charges_by_state_id` and the ranges are merged in id order
    /// (`UNION ALL … ORDER BY id`), so a page reads about `limit` rows however rare the states are.
    static func chargesPageQuery(states: Int?) -> String {
        guard let states else { return "SELECT \(columns) FROM charges WHERE id > ?1 ORDER BY id LIMIT ?2" }
        guard states > 0 else { return "SELECT \(columns) FROM charges WHERE 0 LIMIT ?\(states + 2)" }
        let arms = (0..<states).map { "SELECT \(columns) FROM charges WHERE state = ?\($0 + 2) AND id > ?1" }
        return arms.joined(separator: " UNION ALL ") + " ORDER BY id LIMIT ?\(states + 2)"
    }

    /// Up to `limit` agreements with an id above `afterID`, in id order.
    public func agreements(afterID: Int64?, limit: Int) async throws -> [Agreement] {
        try await database.read { db in
            let select = try db.statement("SELECT id, customer, subscription, chain, token, wallet FROM agreements WHERE id > ? ORDER BY id LIMIT ?")
            select.bind([.integer(afterID ?? 0), .integer(Int64(limit))])
            var out: [Agreement] = []
            while try select.step() {
                out.append(Agreement(id: select.int64(0), customer: select.text(1), subscription: select.isNull(2) ? nil : select.text(2),
                                     chain: select.text(3), token: select.text(4), wallet: select.text(5)))
            }
            return out
        }
    }

    /// How many charges are in `state`: reads only those (`charges_by_state`), for `/healthz`, which anyone may ask.
    public func chargeCount(in state: ChargeState) async throws -> Int {
        try await database.read { db in
            let select = try db.statement(Self.chargeCountQuery)
            select.bind(state.rawValue, at: 1)
            return try select.step() ? select.int(0) : 0
        }
    }

    static let chargeCountQuery = "SELECT count(*) FROM charges WHERE state = ?"

    /// How many charges are in each state (every state present, zero when none). Reads every charge: for `/metrics`.
    public func chargeCounts() async throws -> [ChargeState: Int] {
        try await database.read { db in
            var counts = Dictionary(uniqueKeysWithValues: ChargeState.allCases.map { ($0, 0) })
            let select = try db.statement("SELECT state, count(*) FROM charges GROUP BY state")
            while try select.step() {
                guard let state = ChargeState(rawValue: select.text(0)) else { throw StoreError(.corruptValue, "charge in an unknown state") }
                counts[state] = select.int(1)
            }
            return counts
        }
    }
}
