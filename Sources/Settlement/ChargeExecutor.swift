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

/// One pass of the settlement loop for one chain: recover, confirm, promote what is due, execute it, confirm.
public struct SettlementLoop: Sendable {
    public let ledger: Ledger
    /// The chain file name the executor serves: only charges whose agreement is on it are executed.
    public let chain: String
    public let executor: any ChargeExecutor

    public init(ledger: Ledger, chain: String, executor: any ChargeExecutor) {
        self.ledger = ledger
        self.chain = chain
        self.executor = executor
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
