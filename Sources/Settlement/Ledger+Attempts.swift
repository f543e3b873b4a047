import Foundation
import Store

extension Ledger {
    /// Persist before broadcast, EVM: in ONE transaction, moves the charge `due → signed` (compare-and-set),
    /// allocates the signer's next nonce (never below `chainNonce`, the node's pending count), signs with it, and
    /// stores the attempt. Nothing is broadcast here.
    /// - Returns: the stored attempt, or nil when the charge was no longer due (another executor got it).
    public func signEVMAttempt(charge: Int64, chain: String, signer: String, chainNonce: UInt64,
                               now: UInt64 = UInt64(Date().timeIntervalSince1970),
                               sign: @escaping @Sendable (UInt64) throws -> SignedPayload) async throws -> Attempt? {
        try await database.write { db in
            try db.statement("UPDATE charges SET state = 'signed', reason = NULL, updated_at = ? WHERE id = ? AND state = 'due'")
                .run([.integer(Int64(now)), .integer(charge)])
            guard db.changes == 1 else { return nil }
            try db.statement("INSERT INTO charge_events(charge, at, from_state, to_state) VALUES (?, ?, 'due', 'signed')")
                .run([.integer(charge), .integer(Int64(now))])
            let current = try db.statement("SELECT next_nonce FROM nonces WHERE chain = ? AND signer = ?")
            current.bind(chain, at: 1)
            current.bind(signer, at: 2)
            let stored = try current.step() ? UInt64(current.int64(0)) : 0
            current.reset()
            let nonce = max(stored, chainNonce)
            try db.statement("""
                INSERT INTO nonces(chain, signer, next_nonce) VALUES (?, ?, ?)
                ON CONFLICT(chain, signer) DO UPDATE SET next_nonce = excluded.next_nonce
                """).run([.text(chain), .text(signer), .integer(Int64(nonce + 1))])
            let payload = try sign(nonce)
            return try Self.insertAttempt(db, charge: charge, chain: chain, signer: signer, payload: payload, nonce: nonce,
                                          blockhash: nil, lastValidHeight: nil, now: now)
        }
    }

    /// Persist before broadcast, Solana: in ONE transaction, moves the charge `due → signed` (compare-and-set) and
    /// stores the attempt signed by `sign` with its blockhash and the last block height at which it can land.
    /// - Returns: the stored attempt, or nil when the charge was no longer due.
    public func signSolanaAttempt(charge: Int64, chain: String, signer: String, now: UInt64 = UInt64(Date().timeIntervalSince1970),
                                  sign: @escaping @Sendable () throws -> (payload: SignedPayload, blockhash: String, lastValidHeight: UInt64)) async throws -> Attempt? {
        try await database.write { db in
            try db.statement("UPDATE charges SET state = 'signed', reason = NULL, updated_at = ? WHERE id = ? AND state = 'due'")
                .run([.integer(Int64(now)), .integer(charge)])
            guard db.changes == 1 else { return nil }
            try db.statement("INSERT INTO charge_events(charge, at, from_state, to_state) VALUES (?, ?, 'due', 'signed')")
                .run([.integer(charge), .integer(Int64(now))])
            let signed = try sign()
            return try Self.insertAttempt(db, charge: charge, chain: chain, signer: signer, payload: signed.payload, nonce: nil,
                                          blockhash: signed.blockhash, lastValidHeight: signed.lastValidHeight, now: now)
        }
    }

    /// Records that an attempt was handed to a node, and moves its charge `signed → broadcast` (idempotent).
    public func markSent(_ attempt: Attempt, headBlock: UInt64? = nil, now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws {
        try await database.write { db in
            try db.statement("""
                UPDATE attempts SET outcome = 'sent', sent_at = coalesce(sent_at, ?), sent_block = coalesce(sent_block, ?)
                WHERE id = ? AND outcome = 'signed'
                """).run([.integer(Int64(now)), headBlock.map { .integer(Int64($0)) } ?? .null, .integer(attempt.id)])
            try db.statement("UPDATE charges SET state = 'broadcast', updated_at = ? WHERE id = ? AND state = 'signed'")
                .run([.integer(Int64(now)), .integer(attempt.charge)])
            if db.changes == 1 {
                try db.statement("INSERT INTO charge_events(charge, at, from_state, to_state) VALUES (?, ?, 'signed', 'broadcast')")
                    .run([.integer(attempt.charge), .integer(Int64(now))])
            }
        }
    }

    /// A same-nonce replacement of a stuck EVM attempt, persisted before it is sent. The charge stays where it is;
    /// the old attempt stays followed until one of the two is mined (the other is then dead: its nonce is used).
    public func replaceEVMAttempt(_ old: Attempt, payload: SignedPayload, now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> Attempt {
        guard let nonce = old.nonce else { throw LedgerError(.invalidInput, "only EVM attempts (with a nonce) are replaced") }
        return try await database.write { db in
            try Self.insertAttempt(db, charge: old.charge, chain: old.chain, signer: old.signer, payload: payload, nonce: nonce,
                                   blockhash: nil, lastValidHeight: nil, now: now)
        }
    }

    /// Records an attempt's outcome (included in `block`, reverted, dead, replaced).
    public func setOutcome(_ attempt: Int64, _ outcome: Attempt.Outcome, block: UInt64? = nil) async throws {
        try await database.write { db in try Self.setOutcome(db, attempt, outcome, block: block) }
    }

    /// Records an attempt's outcome inside the caller's transaction.
    static func setOutcome(_ db: SQLiteConnection, _ attempt: Int64, _ outcome: Attempt.Outcome, block: UInt64?) throws {
        try db.statement("UPDATE attempts SET outcome = ?, block = ? WHERE id = ?")
            .run([.text(outcome.rawValue), block.map { .integer(Int64($0)) } ?? .null, .integer(attempt)])
    }

    /// Attempts whose transaction might still land (signed, sent or included): on start, each is looked up on its
    /// chain before anything new is signed.
    public func unresolvedAttempts(chain: String? = nil) async throws -> [Attempt] {
        try await attempts(where: "outcome IN ('signed', 'sent', 'included') AND (? IS NULL OR chain = ?)", chain.map { .text($0) } ?? .null)
    }

    /// Every attempt of a charge, oldest first.
    public func attempts(charge: Int64) async throws -> [Attempt] {
        try await attempts(where: "charge = ? AND ? IS NOT NULL", .integer(charge))
    }

    private func attempts(where condition: String, _ value: SQLiteValue) async throws -> [Attempt] {
        try await database.read { db in
            let select = try db.statement("""
                SELECT id, charge, sequence, chain, signer, tx_id, raw, nonce, blockhash, last_valid_height, outcome, block,
                       sent_block, max_fee, priority_fee
                FROM attempts WHERE \(condition) ORDER BY charge, sequence
                """)
            select.bind([value, value])
            var out: [Attempt] = []
            while try select.step() {
                guard let outcome = Attempt.Outcome(rawValue: select.text(10)) else { throw StoreError(.corruptValue, "attempt outcome") }
                out.append(Attempt(
                    id: select.int64(0), charge: select.int64(1), sequence: select.int(2), chain: select.text(3), signer: select.text(4),
                    transactionID: select.text(5), raw: select.blob(6), nonce: select.isNull(7) ? nil : UInt64(select.int64(7)),
                    blockhash: select.isNull(8) ? nil : select.text(8), lastValidHeight: select.isNull(9) ? nil : UInt64(select.int64(9)),
                    outcome: outcome, block: select.isNull(11) ? nil : UInt64(select.int64(11)),
                    sentBlock: select.isNull(12) ? nil : UInt64(select.int64(12)),
                    maxFee: select.isNull(13) ? nil : select.text(13), priorityFee: select.isNull(14) ? nil : select.text(14)))
            }
            return out
        }
    }

    static func insertAttempt(_ db: SQLiteConnection, charge: Int64, chain: String, signer: String, payload: SignedPayload, nonce: UInt64?,
                              blockhash: String?, lastValidHeight: UInt64?, now: UInt64) throws -> Attempt {
        let next = try db.statement("SELECT coalesce(max(sequence), 0) + 1 FROM attempts WHERE charge = ?")
        next.bind(charge, at: 1)
        let sequence = try next.step() ? next.int(0) : 1
        next.reset()
        try db.statement("""
            INSERT INTO attempts(charge, sequence, chain, signer, tx_id, raw, nonce, blockhash, last_valid_height, max_fee, priority_fee,
                                 outcome, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'signed', ?)
            """).run([
                .integer(charge), .integer(Int64(sequence)), .text(chain), .text(signer), .text(payload.transactionID), .blob(payload.raw),
                nonce.map { .integer(Int64($0)) } ?? .null, blockhash.map { .text($0) } ?? .null,
                lastValidHeight.map { .integer(Int64($0)) } ?? .null, payload.maxFee.map { .text($0) } ?? .null,
                payload.priorityFee.map { .text($0) } ?? .null, .integer(Int64(now)),
            ])
        return Attempt(id: db.lastInsertRowID, charge: charge, sequence: sequence, chain: chain, signer: signer,
                       transactionID: payload.transactionID, raw: payload.raw, nonce: nonce, blockhash: blockhash,
                       lastValidHeight: lastValidHeight, outcome: .signed, block: nil, sentBlock: nil,
                       maxFee: payload.maxFee, priorityFee: payload.priorityFee)
    }
}
