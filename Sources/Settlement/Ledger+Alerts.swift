import Foundation
import Store

extension Ledger {
    /// Open alerts (every chain, or one), oldest first.
    public func openAlerts(chain: String? = nil) async throws -> [ChainAlert] {
        let (condition, values): (String, [SQLValue]) = chain.map { (" AND chain = ?", [.text($0)]) } ?? ("", [])
        return try await database.read { db in
            try await db.rows("SELECT \(Self.alertColumns) FROM chain_alerts WHERE cleared_at IS NULL\(condition) ORDER BY id", values).map(Self.alert)
        }
    }

    /// An operator adopts the chain's count as the signer's next nonce and clears its open nonce divergence, in one
    /// transaction. Refuses to move the ledger's nonce backwards.
    /// - Returns: the nonce the ledger had before.
    @discardableResult
    public func adoptNonce(chain: String, signer: String, next: UInt64, by operatorName: String,
                           now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> UInt64 {
        guard let value = Int64(exactly: next) else { throw LedgerError(.invalidInput, "nonce \(next) does not fit the ledger") }
        return try await database.write { db in
            let before = try await Self.lockNonce(db, chain: chain, signer: signer)
            guard next >= before else {
                throw LedgerError(.invalidInput, "the ledger's next nonce is \(before); adopting \(next) would sign a used nonce again")
            }
            try await db.run("UPDATE nonces SET next_nonce = ? WHERE chain = ? AND signer = ?", [.integer(value), .text(chain), .text(signer)])
            try await db.run("""
                UPDATE chain_alerts SET cleared_at = ?, cleared_by = ? WHERE chain = ? AND signer = ? AND kind = 'nonce_divergence' AND cleared_at IS NULL
                """, [.unsigned(now), .text(operatorName), .text(chain), .text(signer)])
            return before
        }
    }

    /// Raises an alert (or returns the one already open for the signer and kind): signing stops until it is cleared.
    @discardableResult
    public func raiseAlert(chain: String, signer: String, kind: ChainAlert.Kind, detail: String,
                           now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> ChainAlert {
        try await database.write { db in
            try await Self.raiseAlert(db, chain: chain, signer: signer, kind: kind, ledgerNext: nil, chainCount: nil, detail: detail, now: now)
        }
    }

    /// An operator clears an open alert after inspecting it (`settled nonce adopt` on a Solana chain).
    /// - Returns: whether one was open.
    @discardableResult
    public func clearAlert(chain: String, signer: String, kind: ChainAlert.Kind, by operatorName: String,
                           now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> Bool {
        try await database.write { db in
            try await db.run("""
                UPDATE chain_alerts SET cleared_at = ?, cleared_by = ? WHERE chain = ? AND signer = ? AND kind = ? AND cleared_at IS NULL
                """, [.unsigned(now), .text(operatorName), .text(chain), .text(signer), .text(kind.rawValue)]) > 0
        }
    }

    static let alertColumns = "id, chain, signer, kind, detail, ledger_next, chain_count, raised_at"

    static func openAlert(_ db: any SQLSession, chain: String, signer: String, kind: ChainAlert.Kind) async throws -> ChainAlert? {
        try await db.row("SELECT \(alertColumns) FROM chain_alerts WHERE chain = ? AND signer = ? AND kind = ? AND cleared_at IS NULL",
                         [.text(chain), .text(signer), .text(kind.rawValue)]).map(alert)
    }

    static func raiseAlert(_ db: any SQLSession, chain: String, signer: String, kind: ChainAlert.Kind, ledgerNext: UInt64?, chainCount: UInt64?,
                           detail: String, now: UInt64) async throws -> ChainAlert {
        if let open = try await openAlert(db, chain: chain, signer: signer, kind: kind) { return open }
        guard let inserted = try await db.row("""
            INSERT INTO chain_alerts(chain, signer, kind, detail, ledger_next, chain_count, raised_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id
            """, [.text(chain), .text(signer), .text(kind.rawValue), .text(detail), .unsigned(ledgerNext), .unsigned(chainCount), .unsigned(now)]) else {
            throw StoreError(.corruptValue, "an inserted alert returned no id")
        }
        return ChainAlert(id: try inserted.int64(0), chain: chain, signer: signer, kind: kind, detail: detail, ledgerNext: ledgerNext,
                          chainCount: chainCount, raisedAt: now)
    }

    private static func alert(_ row: SQLRow) throws -> ChainAlert {
        guard let kind = ChainAlert.Kind(rawValue: try row.text(3)) else { throw StoreError(.corruptValue, "alert kind \(try row.text(3))") }
        return ChainAlert(id: try row.int64(0), chain: try row.text(1), signer: try row.text(2), kind: kind, detail: try row.text(4),
                          ledgerNext: try row.optionalUInt64(5), chainCount: try row.optionalUInt64(6), raisedAt: try row.uint64(7))
    }
}
