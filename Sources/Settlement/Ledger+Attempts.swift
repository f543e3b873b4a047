import Foundation
import Leases
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
    /// Persist before broadcast, EVM: in ONE transaction, checks the work's lease (`fence`: a daemon that lost it
    /// cannot sign), locks the signer's nonce row, checks it against the chain (`NonceGuard`: the ledger's next
    /// nonce, never the chain's; a chain count the ledger cannot explain raises a `nonce_divergence` alert and stops
    /// signing), moves the charge `due → signed` (compare-and-set), allocates the nonce, signs with it and stores the
    /// attempt. Nothing is broadcast here. Two daemons signing for one signer queue on the nonce row: each gets its
    /// own nonce, never the same one.
    /// - Parameters:
    ///   - chainPending: the node's pending transaction count for the signer, read just before.
    ///   - head: the chain's head read before signing (stored: the transaction cannot be at or below it).
    ///   - fence: the lease the executor works under; the transaction commits only while it is current.
    public func signEVMAttempt(charge: Int64, chain: String, signer: String, chainPending: UInt64, head: UInt64?, fence: Lease? = nil,
                               now: UInt64 = UInt64(Date().timeIntervalSince1970),
                               sign: @escaping @Sendable (UInt64) throws -> SignedPayload) async throws -> SigningOutcome {
        try await database.write { db in
            if let fence { try await LeaseFence.check(db, fence) }
            let ledgerNext = try await Self.lockNonce(db, chain: chain, signer: signer)
            let open = try await Self.openAlert(db, chain: chain, signer: signer, kind: .nonceDivergence)
            switch NonceGuard.check(ledgerNext: ledgerNext, chainPending: chainPending, openAlert: open != nil) {
            case .blocked:
                return .halted(open!)  // swiftlint:disable:this force_unwrapping — `blocked` only when `open` exists
            case .diverged(let next, let pending):
                let alert = try await Self.raiseAlert(db, chain: chain, signer: signer, kind: .nonceDivergence, ledgerNext: next, chainCount: pending,
                                                      detail: "the chain counts \(pending) transactions from \(signer) but the ledger signed only \(next): another signer uses the key, or this database lost attempts; signing stopped until `settled nonce adopt`",
                                                      now: now)
                return .halted(alert)
            case .sign(let nonce):
                guard try await Self.takeDue(db, charge, now: now) else { return .notDue }
                guard nonce < UInt64(Int64.max) else { throw LedgerError(.invalidInput, "nonce \(nonce) does not fit the ledger") }
                try await db.run("UPDATE nonces SET next_nonce = ? WHERE chain = ? AND signer = ?",
                                 [.integer(Int64(nonce + 1)), .text(chain), .text(signer)])
                let payload = try sign(nonce)
                return .signed(try await Self.insertAttempt(db, charge: charge, chain: chain, signer: signer, payload: payload, nonce: nonce,
                                                            blockhash: nil, lastValidHeight: nil, headAtSigning: head, now: now))
            }
        }
    }

    /// Persist before broadcast, Solana: in ONE transaction, checks the lease (`fence`), refuses while a
    /// `signature_divergence` alert is open for the signer, moves the charge `due → signed` (compare-and-set) and
    /// stores the attempt signed by `sign` with its blockhash, the last block height at which it can land, and the slot
    /// read before the blockhash (it cannot land at or below it).
    public func signSolanaAttempt(charge: Int64, chain: String, signer: String, slotBefore: UInt64?, fence: Lease? = nil,
                                  now: UInt64 = UInt64(Date().timeIntervalSince1970),
                                  sign: @escaping @Sendable () throws -> (payload: SignedPayload, blockhash: String, lastValidHeight: UInt64)) async throws -> SigningOutcome {
        try await database.write { db in
            if let fence { try await LeaseFence.check(db, fence) }
            if let open = try await Self.openAlert(db, chain: chain, signer: signer, kind: .signatureDivergence) { return .halted(open) }
            guard try await Self.takeDue(db, charge, now: now) else { return .notDue }
            let signed = try sign()
            return .signed(try await Self.insertAttempt(db, charge: charge, chain: chain, signer: signer, payload: signed.payload, nonce: nil,
                                                        blockhash: signed.blockhash, lastValidHeight: signed.lastValidHeight,
                                                        headAtSigning: slotBefore, now: now))
        }
    }

    /// `due → signed` (compare-and-set) with its history row, inside the caller's transaction.
    private static func takeDue(_ db: any SQLSession, _ charge: Int64, now: UInt64) async throws -> Bool {
        guard try await db.run("UPDATE charges SET state = 'signed', reason = NULL, updated_at = ? WHERE id = ? AND state = 'due'",
                               [.unsigned(now), .integer(charge)]) == 1 else { return false }
        try await event(db, charge, from: ChargeState.due.rawValue, to: ChargeState.signed.rawValue, reason: nil, now: now)
        return true
    }

    /// True when some attempt (any chain) has this transaction id.
    public func knowsAttempt(transactionID: String) async throws -> Bool {
        try await database.read { db in try await db.row("SELECT 1 FROM attempts WHERE tx_id = ?", [.text(transactionID)]) != nil }
    }

    /// Records that a node accepted an attempt, and moves its charge `signed → broadcast` (idempotent).
    public func markSent(_ attempt: Attempt, headBlock: UInt64? = nil, now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws {
        try await database.write { db in
            try await db.run("""
                UPDATE attempts SET outcome = 'sent', sent_at = coalesce(sent_at, ?), sent_block = coalesce(sent_block, ?)
                WHERE id = ? AND outcome = 'signed'
                """, [.unsigned(now), headBlock.flatMap { Int64(exactly: $0) }.map { .integer($0) } ?? .null, .integer(attempt.id)])
            if try await db.run("UPDATE charges SET state = 'broadcast', updated_at = ? WHERE id = ? AND state = 'signed'",
                                [.unsigned(now), .integer(attempt.charge)]) == 1 {
                try await Self.event(db, attempt.charge, from: ChargeState.signed.rawValue, to: ChargeState.broadcast.rawValue, reason: nil, now: now)
            }
        }
    }

    /// A same-nonce replacement of an EVM attempt (stuck, or refused as underpriced), persisted before it is sent.
    /// The charge stays where it is; every attempt at the nonce stays followed until one is mined.
    public func replaceEVMAttempt(_ old: Attempt, payload: SignedPayload, fence: Lease? = nil,
                                  now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> Attempt {
        guard let nonce = old.nonce else { throw LedgerError(.invalidInput, "only EVM attempts (with a nonce) are replaced") }
        return try await database.write { db in
            if let fence { try await LeaseFence.check(db, fence) }
            return try await Self.insertAttempt(db, charge: old.charge, chain: old.chain, signer: old.signer, payload: payload, nonce: nonce,
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
            for item in change.outcomes { try await Self.setOutcome(db, item.attempt, item.outcome, block: item.block) }
            guard let move = change.move else { return true }
            return try await Self.move(db, charge, from: move.from, to: move.to, reason: change.reason, nextAttemptAt: nextAttemptAt, now: now)
        }
    }

    /// Records an attempt's outcome (included in `block`, reverted, dead, replaced).
    public func setOutcome(_ attempt: Int64, _ outcome: Attempt.Outcome, block: UInt64? = nil) async throws {
        try await database.write { db in try await Self.setOutcome(db, attempt, outcome, block: block) }
    }

    /// Records an attempt's outcome inside the caller's transaction.
    static func setOutcome(_ db: any SQLSession, _ attempt: Int64, _ outcome: Attempt.Outcome, block: UInt64?) async throws {
        try await db.run("UPDATE attempts SET outcome = ?, block = ? WHERE id = ?",
                         [.text(outcome.rawValue), block.flatMap { Int64(exactly: $0) }.map { .integer($0) } ?? .null, .integer(attempt)])
    }

    /// Attempts whose transaction might still land (signed, sent or included) of charges still in flight (the states
    /// `ChargeLifecycle` follows): every pass looks each up on its chain before anything new is signed. A settled
    /// payment's attempt stays `included` for good; its charge has left those states, so a pass's work grows with the
    /// payments in flight, not with every payment ever made (the executors skipped such charges anyway, after reading
    /// each one and, on Solana, asking the node for its status).
    public func unresolvedAttempts(chain: String? = nil) async throws -> [Attempt] {
        if let chain { return try await attempts(where: Self.unresolvedCondition + " AND chain = ?", [.text(chain)]) }
        return try await attempts(where: Self.unresolvedCondition, [])
    }

    /// The charges in flight (through `charges_by_state_id`), then their attempts by charge; `outcome || ''` keeps
    /// SQLite from reading every `included` attempt ever through `attempts_by_outcome_block` instead.
    static let unresolvedCondition = """
        charge IN (SELECT id FROM charges WHERE state IN (\(ChargeLifecycle.followedStates.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", "))))
        AND outcome || '' IN ('signed', 'sent', 'included')
        """

    /// Every attempt of a charge, oldest first.
    public func attempts(charge: Int64) async throws -> [Attempt] {
        try await attempts(where: "charge = ?", [.integer(charge)])
    }

    /// Every attempt signed by `signer` on `chain` at `nonce` (EVM), oldest first.
    public func attempts(chain: String, signer: String, nonce: UInt64) async throws -> [Attempt] {
        guard let nonce = Int64(exactly: nonce) else { return [] }
        return try await attempts(where: "chain = ? AND signer = ? AND nonce = ?", [.text(chain), .text(signer), .integer(nonce)])
    }

    /// The signer's next nonce by the ledger (0 when it never signed).
    public func nextNonce(chain: String, signer: String) async throws -> UInt64 {
        try await database.read { db in
            try await db.row("SELECT next_nonce FROM nonces WHERE chain = ? AND signer = ?", [.text(chain), .text(signer)])?.uint64(0) ?? 0
        }
    }

    /// The signer's next nonce, with its row locked until the caller's transaction ends (created at 0 first, so two
    /// first signers queue on one row instead of racing an insert).
    static func lockNonce(_ db: any SQLSession, chain: String, signer: String) async throws -> UInt64 {
        try await db.run("INSERT INTO nonces(chain, signer, next_nonce) VALUES (?, ?, 0) ON CONFLICT(chain, signer) DO NOTHING",
                         [.text(chain), .text(signer)])
        guard let row = try await db.row("SELECT next_nonce FROM nonces WHERE chain = ? AND signer = ?\(db.forUpdate)", [.text(chain), .text(signer)]) else {
            throw StoreError(.corruptValue, "the nonce row of \(signer) on \(chain) vanished")
        }
        return try row.uint64(0)
    }

    static func attemptsQuery(where condition: String) -> String {
        """
        SELECT id, charge, sequence, chain, signer, tx_id, raw, nonce, blockhash, last_valid_height, outcome, block,
               sent_block, max_fee, priority_fee, head_at_signing
        FROM attempts WHERE \(condition) ORDER BY charge, sequence
        """
    }

    private func attempts(where condition: String, _ values: [SQLValue]) async throws -> [Attempt] {
        try await database.read { db in try await db.rows(Self.attemptsQuery(where: condition), values).map(Self.attempt) }
    }

    static func attempt(_ row: SQLRow) throws -> Attempt {
        guard let outcome = Attempt.Outcome(rawValue: try row.text(10)) else { throw StoreError(.corruptValue, "attempt outcome") }
        return Attempt(
            id: try row.int64(0), charge: try row.int64(1), sequence: try row.int(2), chain: try row.text(3), signer: try row.text(4),
            transactionID: try row.text(5), raw: try row.blob(6), nonce: try row.optionalUInt64(7),
            blockhash: try row.optionalText(8), lastValidHeight: try row.optionalUInt64(9),
            outcome: outcome, block: try row.optionalUInt64(11), sentBlock: try row.optionalUInt64(12), headAtSigning: try row.optionalUInt64(15),
            maxFee: try row.optionalText(13), priorityFee: try row.optionalText(14))
    }

    /// Stores a signed attempt inside the caller's transaction. Its sequence number comes from the charge's own
    /// counter, bumped (and the charge row locked) in this transaction: never `max + 1` over attempts, which two
    /// writers could both read.
    static func insertAttempt(_ db: any SQLSession, charge: Int64, chain: String, signer: String, payload: SignedPayload, nonce: UInt64?,
                              blockhash: String?, lastValidHeight: UInt64?, headAtSigning: UInt64?, now: UInt64) async throws -> Attempt {
        guard let counted = try await db.row("UPDATE charges SET attempt_count = attempt_count + 1 WHERE id = ? RETURNING attempt_count",
                                             [.integer(charge)]) else {
            throw LedgerError(.notFound, "no charge \(charge)")
        }
        let sequence = try counted.int(0)
        func integer(_ value: UInt64?) -> SQLValue { value.flatMap { Int64(exactly: $0) }.map { .integer($0) } ?? .null }
        guard let inserted = try await db.row("""
            INSERT INTO attempts(charge, sequence, chain, signer, tx_id, raw, nonce, blockhash, last_valid_height, max_fee, priority_fee,
                                 outcome, created_at, head_at_signing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'signed', ?, ?) RETURNING id
            """, [
                .integer(charge), .integer(Int64(sequence)), .text(chain), .text(signer), .text(payload.transactionID), .blob(payload.raw),
                integer(nonce), blockhash.sqlValue, integer(lastValidHeight), payload.maxFee.sqlValue,
                payload.priorityFee.sqlValue, integer(now), integer(headAtSigning),
            ]) else { throw StoreError(.corruptValue, "an inserted attempt returned no id") }
        return Attempt(id: try inserted.int64(0), charge: charge, sequence: sequence, chain: chain, signer: signer,
                       transactionID: payload.transactionID, raw: payload.raw, nonce: nonce, blockhash: blockhash,
                       lastValidHeight: lastValidHeight, outcome: .signed, block: nil, sentBlock: nil, headAtSigning: headAtSigning,
                       maxFee: payload.maxFee, priorityFee: payload.priorityFee)
    }
}
