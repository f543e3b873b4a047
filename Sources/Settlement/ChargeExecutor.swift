import Foundation

/// One chain's executor as the settlement loop drives it (EVM and Solana implement it in `ChainAdapters`).
public protocol ChargeExecutor: Sendable {
    /// After a start: looks up (and re-sends where nothing shows it) every persisted attempt, before anything new.
    func recover() async throws
    /// Runs one due charge as far as it can go now.
    @discardableResult
    func execute(_ charge: Charge, agreement: Agreement, now: UInt64) async throws -> ChargeState
    /// Follows attempts toward finality (and settles, re-sends or declares dead).
    func confirm(now: UInt64) async throws
}

/// Billing's last word before a charge is signed: the invoice read again from its source (Stripe), still open, for
/// the same amount, collection method and agreement. When it answers false nothing is signed this pass; billing has
/// moved the charge where the invoice now says (cancelled, re-priced), or could not read it (tried next pass).
public protocol CollectionGate: Sendable {
    /// True only when the invoice, read now, still asks for exactly this charge.
    func mayCollect(_ charge: Charge, now: UInt64) async -> Bool
}

/// One pass of the settlement loop for one chain: follow what is in flight, promote what is due, ask billing, execute.
public struct SettlementLoop: Sendable {
    public let ledger: Ledger
    /// The chain file name the executor serves: only charges pinned to it are executed.
    public let chain: String
    public let executor: any ChargeExecutor
    /// Asked before each signature (nil: charges with no billing source to ask, such as `settled charge create`).
    public let gate: (any CollectionGate)?

    public init(ledger: Ledger, chain: String, executor: any ChargeExecutor, gate: (any CollectionGate)? = nil) {
        self.ledger = ledger
        self.chain = chain
        self.executor = executor
        self.gate = gate
    }

    /// What one pass did.
    public struct Report: Sendable, Hashable {
        public var executed = 0
        public var failed = 0
    }

    /// Runs one pass at `now`: every unresolved attempt is looked up first (nothing new is signed before), then due
    /// charges are executed. An error on one charge is counted and the pass goes on with the others.
    @discardableResult
    public func runOnce(now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> Report {
        var report = Report()
        try await executor.confirm(now: now)
        for charge in try await ledger.charges(in: [.ingested, .awaitingFunds], dueBy: now) {
            try await ledger.transition(charge.id, from: charge.state, to: .due, now: now)
        }
        for charge in try await ledger.charges(in: [.due], dueBy: now) {
            guard charge.terms.chain == chain, let agreement = try await ledger.agreement(id: charge.agreement) else { continue }
            if let gate, await !gate.mayCollect(charge, now: now) { continue }
            do {
                try await executor.execute(charge, agreement: agreement, now: now)
                report.executed += 1
            } catch {
                report.failed += 1
            }
        }
        try await executor.confirm(now: now)
        return report
    }
}
