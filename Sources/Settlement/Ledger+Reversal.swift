import Foundation
import Store

extension Ledger {
    /// The transactions of settled and reported charges on `chain` that sit above `deepFinal` (not yet final by the
    /// deeper watch policy): each is checked every pass until its block is that deep.
    public func watchedAttempts(chain: String, above deepFinal: UInt64) async throws -> [(charge: Charge, attempt: Attempt)] {
        let ids: [SQLRow] = try await database.read { db in
            try await db.rows(Self.watchedQuery, [.text(chain), .unsigned(deepFinal)])
        }
        var result: [(Charge, Attempt)] = []
        for row in ids {
            let (chargeID, attemptID) = (try row.int64(0), try row.int64(1))
            guard let charge = try await charge(id: chargeID),
                  let attempt = try await attempts(charge: chargeID).first(where: { $0.id == attemptID }) else { continue }
            result.append((charge, attempt))
        }
        return result
    }

    /// Landed attempts above a block (through `attempts_by_outcome_block`: the recent ones, not every payment ever
    /// made) whose charge is settled or reported.
    static let watchedQuery = """
        SELECT c.id, a.id FROM attempts a JOIN charges c ON c.id = a.charge
        WHERE a.chain = ? AND a.outcome = 'included' AND c.state IN ('settled', 'reported') AND a.block > ?
        ORDER BY a.block
        """

    /// An operator collects a reversed charge again: the same signed bytes are sent again (the attempt becomes
    /// unacknowledged, the charge `signed`), so the customer is charged at most once and an EVM nonce is not left
    /// unused. Nothing else ever moves a charge out of `reversed`.
    /// - Returns: false when the charge is not reversed.
    @discardableResult
    public func recollect(_ charge: Int64, by operatorName: String, now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> Bool {
        try await database.write { db in
            guard let attempt = try await db.row("SELECT id FROM attempts WHERE charge = ? AND outcome = 'included' ORDER BY sequence DESC LIMIT 1",
                                                 [.integer(charge)]) else { return false }
            let id = try attempt.int64(0)
            guard try await Self.move(db, charge, from: .reversed, to: .signed, reason: "recollect by \(operatorName): the same signed transaction again",
                                nextAttemptAt: nil, now: now) else { return false }
            try await db.run("UPDATE attempts SET outcome = 'signed', block = NULL, sent_block = NULL WHERE id = ?", [.integer(id)])
            return true
        }
    }
}
