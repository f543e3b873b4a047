import Foundation
import Store

extension Ledger {
    /// Open alerts (every chain, or one), oldest first.
    public func openAlerts(chain: String? = nil) async throws -> [ChainAlert] {
        try await database.read { db in
            let select = try db.statement("""
                SELECT id, chain, signer, kind, detail, ledger_next, chain_count, raised_at FROM chain_alerts
                WHERE cleared_at IS NULL AND (? IS NULL OR chain = ?) ORDER BY id
                """)
            select.bind([chain.map { .text($0) } ?? .null, chain.map { .text($0) } ?? .null])
            var out: [ChainAlert] = []
            while try select.step() { out.append(try Self.alert(select)) }
            return out
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
            let before = try Self.nextNonce(db, chain: chain, signer: signer)
            guard next >= before else {
                throw LedgerError(.invalidInput, "the ledger's next nonce is \(before); adopting \(next) would sign a used nonce again")
            }
            try db.statement("""
                INSERT INTO nonces(chain, signer, next_nonce) VALUES (?, ?, ?)
                ON CONFLICT(chain, signer) DO UPDATE SET next_nonce = excluded.next_nonce
                """).run([.text(chain), .text(signer), .integer(value)])
            try db.statement("""
                UPDATE chain_alerts SET cleared_at = ?, cleared_by = ? WHERE chain = ? AND signer = ? AND kind = 'nonce_divergence' AND cleared_at IS NULL
                """).run([.integer(Int64(clamping: now)), .text(operatorName), .text(chain), .text(signer)])
            return before
        }
    }

    /// Raises an alert (or returns the one already open for the signer and kind): signing stops until it is cleared.
    @discardableResult
    public func raiseAlert(chain: String, signer: String, kind: ChainAlert.Kind, detail: String,
                           now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> ChainAlert {
        try await database.write { db in
            try Self.raiseAlert(db, chain: chain, signer: signer, kind: kind, ledgerNext: nil, chainCount: nil, detail: detail, now: now)
        }
    }

    /// An operator clears an open alert after inspecting it (`settled nonce adopt` on a Solana chain).
    /// - Returns: whether one was open.
    @discardableResult
    public func clearAlert(chain: String, signer: String, kind: ChainAlert.Kind, by operatorName: String,
                           now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> Bool {
        try await database.write { db in
            try db.statement("""
                UPDATE chain_alerts SET cleared_at = ?, cleared_by = ? WHERE chain = ? AND signer = ? AND kind = ? AND cleared_at IS NULL
                """).run([.integer(Int64(clamping: now)), .text(operatorName), .text(chain), .text(signer), .text(kind.rawValue)])
            return db.changes > 0
        }
    }

    static func openAlert(_ db: SQLiteConnection, chain: String, signer: String, kind: ChainAlert.Kind) throws -> ChainAlert? {
        let select = try db.statement("""
            SELECT id, chain, signer, kind, detail, ledger_next, chain_count, raised_at FROM chain_alerts
            WHERE chain = ? AND signer = ? AND kind = ? AND cleared_at IS NULL
            """)
        select.bind([.text(chain), .text(signer), .text(kind.rawValue)])
        defer { select.reset() }
        return try select.step() ? try alert(select) : nil
    }

    static func raiseAlert(_ db: SQLiteConnection, chain: String, signer: String, kind: ChainAlert.Kind, ledgerNext: UInt64?, chainCount: UInt64?,
                           detail: String, now: UInt64) throws -> ChainAlert {
        if let open = try openAlert(db, chain: chain, signer: signer, kind: kind) { return open }
        func integer(_ value: UInt64?) -> SQLiteValue { value.flatMap { Int64(exactly: $0) }.map { .integer($0) } ?? .null }
        try db.statement("""
            INSERT INTO chain_alerts(chain, signer, kind, detail, ledger_next, chain_count, raised_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).run([.text(chain), .text(signer), .text(kind.rawValue), .text(detail), integer(ledgerNext), integer(chainCount), integer(now)])
        return ChainAlert(id: db.lastInsertRowID, chain: chain, signer: signer, kind: kind, detail: detail, ledgerNext: ledgerNext,
                          chainCount: chainCount, raisedAt: now)
    }

    private static func alert(_ row: SQLiteStatement) throws -> ChainAlert {
        guard let kind = ChainAlert.Kind(rawValue: row.text(3)) else { throw StoreError(.corruptValue, "alert kind \(row.text(3))") }
        return ChainAlert(id: row.int64(0), chain: row.text(1), signer: row.text(2), kind: kind, detail: row.text(4),
                          ledgerNext: row.isNull(5) ? nil : UInt64(exactly: row.int64(5)),
                          chainCount: row.isNull(6) ? nil : UInt64(exactly: row.int64(6)), raisedAt: UInt64(clamping: row.int64(7)))
    }
}
