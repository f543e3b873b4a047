/// A change to one attempt's recorded outcome.
public struct OutcomeChange: Hashable, Sendable {
    public var attempt: Int64
    public var outcome: Attempt.Outcome
    public var block: UInt64?

    public init(attempt: Int64, outcome: Attempt.Outcome, block: UInt64? = nil) {
        self.attempt = attempt
        self.outcome = outcome
        self.block = block
    }
}

/// What the ledger records for a charge in ONE transaction: attempt outcomes, then the charge's compare-and-set move.
public struct LedgerChange: Hashable, Sendable {
    public var outcomes: [OutcomeChange]
    /// The charge's move, from the state the decision was made in (skipped if the charge moved meanwhile).
    public var move: (from: ChargeState, to: ChargeState)?
    public var reason: String?

    public init(outcomes: [OutcomeChange], move: (from: ChargeState, to: ChargeState)?, reason: String? = nil) {
        self.outcomes = outcomes
        self.move = move
        self.reason = reason
    }

    public static func == (a: LedgerChange, b: LedgerChange) -> Bool {
        a.outcomes == b.outcomes && a.move?.from == b.move?.from && a.move?.to == b.move?.to && a.reason == b.reason
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(outcomes)
        hasher.combine(move?.from)
        hasher.combine(move?.to)
        hasher.combine(reason)
    }
}

/// Why the merchant must be told something no retry will fix.
public enum LifecycleAlert: Hashable, Sendable {
    /// No evidence shows whether the charge's transaction landed, although its window has closed: the charge is
    /// `unknown` and is never signed again by itself (`action.required`).
    case unknown(reason: String)
    /// A transfer landed for a charge whose cancellation was requested (the invoice was closed meanwhile).
    case paidAfterCancel
    /// The final transaction does not carry exactly the pinned transfer.
    case mismatch
}

/// What the executor must do after an event. Nothing here reads or writes by itself.
public enum LifecycleAction: Hashable, Sendable {
    /// Write the change to the ledger (one transaction).
    case record(LedgerChange)
    /// Send the attempt's persisted bytes (again). Always safe: the same bytes land at most once.
    case send(attempt: Int64)
    /// EVM: sign the same payment again at the SAME nonce with higher fees, persist it, then send it.
    case replace(attempt: Int64)
    /// Tell the merchant and the operator.
    case alert(LifecycleAlert)
}
