import Foundation
import Store

/// What `signEVMAttempt` or `signSolanaAttempt` did.
public enum SigningOutcome: Sendable {
    /// Persisted (not yet sent).
    case signed(Attempt)
    /// The charge was no longer due (another executor took it, or it moved).
    case notDue
    /// Signing is stopped on the chain for this signer: a divergence was raised now or is still open.
    case halted(ChainAlert)

    /// The stored attempt, when one was signed.
    public var attempt: Attempt? {
        if case .signed(let attempt) = self { return attempt }
        return nil
    }
}

extension Ledger {
    /// Persist before broadcast, EVM: in ONE transaction, checks the signer's nonce against the chain
    /// (`NonceGuard`: the ledger's next nonce, never the chain's; a chain count the ledger cannot explain raises a
    /// `nonce_divergence` alert and stops signing), moves the charge `due → signed` (compare-and-set), allocates the
    /// nonce, signs with it and stores the attempt. Nothing is broadcast here.
    /// - Parameters:
    ///   - chainPending: the node's pending transaction count for the signer, read just before.
    ///   - head: the chain's head read before signing (stored: the transaction cannot be at or below it).
    public func signEVMAttempt(charge: Int64, chain: String, signer: String, chainPending: UInt64, head: UInt64?,
                               now: UInt64 = UInt64(Date().timeIntervalSince1970),
                               sign: @escaping @Sendable (UInt64) throws -> SignedPayload) async throws -> SigningOutcome {
        try await database.write { db in
            let ledgerNext = try Self.nextNonce(db, chain: chain, signer: signer)
            let open = try Self.openAlert(db, chain: chain, signer: signer, kind: .nonceDivergence)
            switch NonceGuard.check(ledgerNext: ledgerNext, chainPending: chainPending, openAlert: open != nil) {
            case .blocked:
                return .halted(open!)  // swiftlint:disable:this force_unwrapping — `blocked` only when `open` exists
            case .diverged(let next, let pending):
                let alert = try Self.raiseAlert(db, chain: chain, signer: signer, kind: .nonceDivergence, ledgerNext: next, chainCount: pending,
                                                detail: "the chain counts \(pending) transactions from \(signer) but the ledger signed only \(next): another signer uses the key, or this database lost attempts; signing stopped until `settled nonce adopt`",
                                                now: now)
                return .halted(alert)
            case .sign(let nonce):
                try db.statement("UPDATE charges SET state = 'signed', reason = NULL, updated_at = ? WHERE id = ? AND state = 'due'")
                    .run([.integer(Int64(now)), .integer(charge)])
                guard db.changes == 1 else { return .notDue }
                try db.statement("INSERT INTO charge_events(charge, at, from_state, to_state) VALUES (?, ?, 'due', 'signed')")
                    .run([.integer(charge), .integer(Int64(now))])
                guard nonce < UInt64(Int64.max) else { throw LedgerError(.invalidInput, "nonce \(nonce) does not fit the ledger") }
                try db.statement("""
                    INSERT INTO nonces(chain, signer, next_nonce) VALUES (?, ?, ?)
                    ON CONFLICT(chain, signer) DO UPDATE SET next_nonce = excluded.next_nonce
                    """).run([.text(chain), .text(signer), .integer(Int64(nonce + 1))])
                let payload = try sign(nonce)
                return .signed(try Self.insertAttempt(db, charge: charge, chain: chain, signer: signer, payload: payload, nonce: nonce,
                                                      blockhash: nil, lastValidHeight: nil, headAtSigning: head, now: now))
            }
        }
    }

    /// Persist before broadcast, Solana: in ONE transaction, refuses while a `signature_divergence` alert is open for
    /// the signer, moves the charge `due → signed` (compare-and-set) and stores the attempt signed by `sign` with its
    /// blockhash, the last block height at which it can land, and the slot read before the blockhash (it cannot
    /// land at or below it).
    public func signSolanaAttempt(charge: Int64, chain: String, signer: String, slotBefore: UInt64?, now: UInt64 = UInt64(Date().timeIntervalSince1970),
                                  sign: @escaping @Sendable () throws -> (payload: SignedPayload, blockhash: String, lastValidHeight: UInt64)) async throws -> SigningOutcome {
        try await database.write { db in
            if let open = try Self.openAlert(db, chain: chain, signer: signer, kind: .signatureDivergence) { return .halted(open) }
            try db.statement("UPDATE charges SET state = 'signed', reason = NULL, updated_at = ? WHERE id = ? AND state = 'due'")
                .run([.integer(Int64(now)), .integer(charge)])
            guard db.changes == 1 else { return .notDue }
            try db.statement("INSERT INTO charge_events(charge, at, from_state, to_state) VALUES (?, ?, 'due', 'signed')")
                .run([.integer(charge), .integer(Int64(now))])
            let signed = try sign()
            return .signed(try Self.insertAttempt(db, charge: charge, chain: chain, signer: signer, payload: signed.payload, nonce: nil,
                                                  blockhash: signed.blockhash, lastValidHeight: signed.lastValidHeight, headAtSigning: slotBefore,
                                                  now: now))
        }
    }

    /// True when some attempt (any chain) has this transaction id.
    public func knowsAttempt(transactionID: String) async throws -> Bool {
        try await database.read { db in
            let select = try db.statement("SELECT 1 FROM attempts WHERE tx_id = ?")
            select.bind(transactionID, at: 1)
            return try select.step()
        }
    }

    /// Records that a node accepted an attempt, and moves its charge `signed → broadcast` (idempotent).
    public func markSent(_ attempt: Attempt, headBlock: UInt64? = nil, now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws {
        try await database.write { db in
            try db.statement("""
                UPDATE attempts SET outcome = 'sent', sent_at = coalesce(sent_at, ?), sent_block = coalesce(sent_block, ?)
                WHERE id = ? AND outcome = 'signed'
                """).run([.integer(Int64(now)), headBlock.flatMap { Int64(exactly: $0) }.map { .integer($0) } ?? .null, .integer(attempt.id)])
            try db.statement("UPDATE charges SET state = 'broadcast', updated_at = ? WHERE id = ? AND state = 'signed'")
                .run([.integer(Int64(now)), .integer(attempt.charge)])
            if db.changes == 1 {
                try db.statement("INSERT INTO charge_events(charge, at, from_state, to_state) VALUES (?, ?, 'signed', 'broadcast')")
                    .run([.integer(attempt.charge), .integer(Int64(now))])
            }
        }
    }

    /// A same-nonce replacement of an EVM attempt (stuck, or refused as underpriced), persisted before it is sent.
    /// The charge stays where it is; every attempt at the nonce stays followed until one is mined.
    public func replaceEVMAttempt(_ old: Attempt, payload: SignedPayload, now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> Attempt {
        guard let nonce = old.nonce else { throw LedgerError(.invalidInput, "only EVM attempts (with a nonce) are replaced") }
        return try await database.write { db in
            try Self.insertAttempt(db, charge: old.charge, chain: old.chain, signer: old.signer, payload: payload, nonce: nonce,
                                   blockhash: nil, lastValidHeight: nil, headAtSigning: old.headAtSigning, now: now)
        }
    }

    /// Writes what `ChargeLifecycle` decided, in ONE transaction: attempt outcomes, then the charge's compare-and-set
    /// move (skipped when the charge moved meanwhile). `nextAttemptAt` goes with a move to `awaiting_funds`.
    /// - Returns: whether the move happened (true when there was none to make).
    @discardableResult
    public func apply(_ change: LedgerChange, charge: Int64, nextAttemptAt: UInt64? = nil,
                      now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> Bool {
        try await database.write { db in
            for item in change.outcomes { try Self.setOutcome(db, item.attempt, item.outcome, block: item.block) }
            guard let move = change.move else { return true }
            return try Self.move(db, charge, from: move.from, to: move.to, reason: change.reason, nextAttemptAt: nextAttemptAt, now: now)
        }
    }

    /// Records an attempt's outcome (included in `block`, reverted, dead, replaced).
    public func setOutcome(_ attempt: Int64, _ outcome: Attempt.Outcome, block: UInt64? = nil) async throws {
        try await database.write { db in try Self.setOutcome(db, attempt, outcome, block: block) }
    }

    /// Records an attempt's outcome inside the caller's transaction.
    static func setOutcome(_ db: SQLiteConnection, _ attempt: Int64, _ outcome: Attempt.Outcome, block: UInt64?) throws {
        try db.statement("UPDATE attempts SET outcome = ?, block = ? WHERE id = ?")
            .run([.text(outcome.rawValue), block.flatMap { Int64(exactly: $0) }.map { .integer($0) } ?? .null, .integer(attempt)])
    }

    /// Attempts whose transaction might still land (signed, sent or included) of charges still in flight (the states
    /// `ChargeLifecycle` follows): every pass looks each up on its chain before anything new is signed. A settled
    /// payment's attempt stays `included` for good; its charge has left those states, so a pass's work grows with the
    /// payments in flight, not with every payment ever made (the executors skipped such charges anyway, after reading
    /// each one and, on Solana, asking the node for its status).
    public func unresolvedAttempts(chain: String? = nil) async throws -> [Attempt] {
        try await attempts(where: Self.unresolvedCondition, chain.map { .text($0) } ?? .null)
    }

    /// The charges in flight (through `charges_by_state_id`), then their attempts by charge; `+outcome` keeps SQLite
    /// from reading every `included` attempt ever through `attempts_by_outcome` instead.
    static let unresolvedCondition = """
        charge IN (SELECT id FROM charges WHERE state IN (\(ChargeLifecycle.followedStates.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", "))))
        AND +outcome IN ('signed', 'sent', 'included') AND (? IS NULL OR chain = ?)
        """

    /// Every attempt of a charge, oldest first.
    public func attempts(charge: Int64) async throws -> [Attempt] {
        try await attempts(where: "charge = ? AND ? IS NOT NULL", .integer(charge))
    }

    /// Every attempt signed by `signer` on `chain` at `nonce` (EVM), oldest first.
    public func attempts(chain: String, signer: String, nonce: UInt64) async throws -> [Attempt] {
        guard let nonce = Int64(exactly: nonce) else { return [] }
        return try await attempts(where: "chain = ? AND signer = ? AND nonce = ?", [.text(chain), .text(signer), .integer(nonce)])
    }

    /// The signer's next nonce by the ledger (0 when it never signed).
    public func nextNonce(chain: String, signer: String) async throws -> UInt64 {
        try await database.read { db in try Self.nextNonce(db, chain: chain, signer: signer) }
    }

    static func nextNonce(_ db: SQLiteConnection, chain: String, signer: String) throws -> UInt64 {
        let current = try db.statement("SELECT next_nonce FROM nonces WHERE chain = ? AND signer = ?")
        current.bind([.text(chain), .text(signer)])
        defer { current.reset() }
        guard try current.step() else { return 0 }
        guard let next = UInt64(exactly: current.int64(0)) else { throw StoreError(.corruptValue, "negative next nonce") }
        return next
    }

    private func attempts(where condition: String, _ value: SQLiteValue) async throws -> [Attempt] {
        try await attempts(where: condition, [value, value])
    }

    static func attemptsQuery(where condition: String) -> String {
        """
        SELECT id, charge, sequence, chain, signer, tx_id, raw, nonce, blockhash, last_valid_height, outcome, block,
               sent_block, max_fee, priority_fee, head_at_signing
        FROM attempts WHERE \(condition) ORDER BY charge, sequence
        """
    }

    private func attempts(where condition: String, _ values: [SQLiteValue]) async throws -> [Attempt] {
        try await database.read { db in
            let select = try db.statement(Self.attemptsQuery(where: condition))
            select.bind(values)
            var out: [Attempt] = []
            func unsigned(_ column: Int32) throws -> UInt64? {
                guard !select.isNull(column) else { return nil }
                guard let value = UInt64(exactly: select.int64(column)) else { throw StoreError(.corruptValue, "negative attempt number") }
                return value
            }
            while try select.step() {
                guard let outcome = Attempt.Outcome(rawValue: select.text(10)) else { throw StoreError(.corruptValue, "attempt outcome") }
                out.append(Attempt(
                    id: select.int64(0), charge: select.int64(1), sequence: select.int(2), chain: select.text(3), signer: select.text(4),
                    transactionID: select.text(5), raw: select.blob(6), nonce: try unsigned(7),
                    blockhash: select.isNull(8) ? nil : select.text(8), lastValidHeight: try unsigned(9),
                    outcome: outcome, block: try unsigned(11), sentBlock: try unsigned(12), headAtSigning: try unsigned(15),
                    maxFee: select.isNull(13) ? nil : select.text(13), priorityFee: select.isNull(14) ? nil : select.text(14)))
            }
            return out
        }
    }

    static func insertAttempt(_ db: SQLiteConnection, charge: Int64, chain: String, signer: String, payload: SignedPayload, nonce: UInt64?,
                              blockhash: String?, lastValidHeight: UInt64?, headAtSigning: UInt64?, now: UInt64) throws -> Attempt {
        let next = try db.statement("SELECT coalesce(max(sequence), 0) + 1 FROM attempts WHERE charge = ?")
        next.bind(charge, at: 1)
        let sequence = try next.step() ? next.int(0) : 1
        next.reset()
        func integer(_ value: UInt64?) -> SQLiteValue { value.flatMap { Int64(exactly: $0) }.map { .integer($0) } ?? .null }
        try db.statement("""
            INSERT INTO attempts(charge, sequence, chain, signer, tx_id, raw, nonce, blockhash, last_valid_height, max_fee, priority_fee,
                                 outcome, created_at, head_at_signing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'signed', ?, ?)
            """).run([
                .integer(charge), .integer(Int64(sequence)), .text(chain), .text(signer), .text(payload.transactionID), .blob(payload.raw),
                integer(nonce), blockhash.map { .text($0) } ?? .null, integer(lastValidHeight), payload.maxFee.map { .text($0) } ?? .null,
                payload.priorityFee.map { .text($0) } ?? .null, integer(now), integer(headAtSigning),
            ])
        return Attempt(id: db.lastInsertRowID, charge: charge, sequence: sequence, chain: chain, signer: signer,
                       transactionID: payload.transactionID, raw: payload.raw, nonce: nonce, blockhash: blockhash,
                       lastValidHeight: lastValidHeight, outcome: .signed, block: nil, sentBlock: nil, headAtSigning: headAtSigning,
                       maxFee: payload.maxFee, priorityFee: payload.priorityFee)
    }
}
