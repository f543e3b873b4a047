/// The life of one charge's attempts after the first signature, as a pure state machine: the executors gather
/// evidence (receipts with block hashes, finalized heights, nonce use, signature statuses, send results) and feed it
/// in as events; the machine answers with the actions to carry out. No I/O happens here.
///
/// ```
///             acknowledged                 landed, succeeded            final and matching
///   signed ───────────────▶ broadcast ──────────────────────▶ included ───────────────────▶ settled
///     │  ▲ reorged out ◀───────────────────────────────────────────┘
///     │  every attempt PROVEN dead (positive evidence only) ─────────────────────────────▶ due (a new nonce is safe)
///     │  landed, reverted, FINAL ────────────────────────────────────────────────────────▶ awaiting_funds
///     │  window closed but nothing proven for `unknownAfterBlocks` ──────────────────────▶ unknown (alert; never re-signed)
///     └─ cancel while live ──▶ cancel_requested ──▶ cancelled once every attempt is proven dead (or reverted final)
///                                             └──▶ settled if one lands (alert: paid after cancel)
///   final, but not exactly the pinned amount to the treasury ──────────────────────────────▶ mismatch (terminal; alert)
/// ```
/// Invariants (property-tested): a charge never holds live attempts at two different nonces; it goes back to `due`
/// (where a new nonce may be signed) only when every attempt is proven dead; it is `settled` only with a final,
/// successful, matching landing of one of its attempts.
public struct ChargeLifecycle: Hashable, Sendable {
    /// An attempt as the machine sees it (no bytes).
    public struct Tracked: Hashable, Sendable {
        public var id: Int64
        public var sequence: Int
        /// EVM only.
        public var nonce: UInt64?
        public var outcome: Attempt.Outcome
        public var block: UInt64?
        /// The head when a node first acknowledged it (EVM: for "not mined after N blocks").
        public var sentBlock: UInt64?

        public init(id: Int64, sequence: Int, nonce: UInt64?, outcome: Attempt.Outcome, block: UInt64? = nil, sentBlock: UInt64? = nil) {
            self.id = id
            self.sequence = sequence
            self.nonce = nonce
            self.outcome = outcome
            self.block = block
            self.sentBlock = sentBlock
        }

        public init(_ attempt: Attempt) {
            self.init(id: attempt.id, sequence: attempt.sequence, nonce: attempt.nonce, outcome: attempt.outcome, block: attempt.block,
                      sentBlock: attempt.sentBlock)
        }

        /// Might still land (or has landed and is not final yet).
        public var isLive: Bool { outcome == .signed || outcome == .sent || outcome == .included }
    }

    /// Bounds of the policy.
    public struct Policy: Hashable, Sendable {
        /// EVM: blocks an acknowledged attempt may stay unmined before it is replaced at the same nonce with higher
        /// fees; nil where there is no replacement (Solana re-sends the same bytes until the blockhash expires).
        public var replaceAfterBlocks: UInt64?
        /// Blocks past an attempt's window with no proof either way before the charge goes `unknown`.
        public var unknownAfterBlocks: UInt64
        /// Send acknowledged attempts again on every pass (Solana: a transaction not re-sent is often dropped before
        /// it lands). EVM pools keep what they acknowledged; a stuck one is replaced instead. Attempts never
        /// acknowledged, and attempts reorged out, are always sent again.
        public var resendAcknowledged: Bool

        public init(replaceAfterBlocks: UInt64?, unknownAfterBlocks: UInt64, resendAcknowledged: Bool) {
            self.replaceAfterBlocks = replaceAfterBlocks
            self.unknownAfterBlocks = unknownAfterBlocks
            self.resendAcknowledged = resendAcknowledged
        }

        /// EVM: replace after `replaceAfterBlocks`, never re-send what a node acknowledged.
        public static func evm(replaceAfterBlocks: UInt64, unknownAfterBlocks: UInt64) -> Policy {
            Policy(replaceAfterBlocks: replaceAfterBlocks, unknownAfterBlocks: unknownAfterBlocks, resendAcknowledged: false)
        }

        /// Solana: the same bytes again every pass while the blockhash is valid; never replaced.
        public static func solana(unknownAfterBlocks: UInt64) -> Policy {
            Policy(replaceAfterBlocks: nil, unknownAfterBlocks: unknownAfterBlocks, resendAcknowledged: true)
        }
    }

    /// What happened.
    public enum Event: Hashable, Sendable {
        /// What one pass read from the chain.
        case observed(LifecycleEvidence)
        /// A node accepted the attempt's bytes (`head`: the chain's head then, when known).
        case acknowledged(attempt: Int64, head: UInt64?)
        /// A node refused the attempt as underpriced (EVM). Not a death: another node may hold it.
        case refusedUnderpriced(attempt: Int64)
    }

    public private(set) var state: ChargeState
    public private(set) var attempts: [Tracked]
    public let policy: Policy

    public init(state: ChargeState, attempts: [Tracked], policy: Policy) {
        self.state = state
        self.attempts = attempts.sorted { $0.sequence < $1.sequence }
        self.policy = policy
    }

    /// The states in which a charge has attempts to follow.
    public static let followedStates: Set<ChargeState> = [.signed, .broadcast, .included, .unknown, .cancelRequested]

    /// Feeds one event; returns what to do. The machine applies its own `record` actions to itself, so feeding the
    /// same evidence again returns no second `record`.
    public mutating func event(_ event: Event) -> [LifecycleAction] {
        guard Self.followedStates.contains(state) else { return [] }
        let actions: [LifecycleAction]
        var ackHead: UInt64?
        switch event {
        case .acknowledged(let id, let head):
            guard let attempt = attempts.first(where: { $0.id == id }), attempt.outcome == .signed else { return [] }
            ackHead = head
            actions = [.record(LedgerChange(outcomes: [OutcomeChange(attempt: id, outcome: .sent)],
                                            move: state == .signed ? (.signed, .broadcast) : nil))]
        case .refusedUnderpriced(let id):
            // Re-price the newest attempt at the same nonce; an older one refused says nothing new.
            let newest = attempts.filter(\.isLive).last
            actions = newest?.id == id && newest?.nonce != nil && policy.replaceAfterBlocks != nil ? [.replace(attempt: id)] : []
        case .observed(let evidence):
            actions = observe(evidence)
        }
        for case .record(let change) in actions { apply(change, ackHead: ackHead) }
        return actions
    }

    private mutating func apply(_ change: LedgerChange, ackHead: UInt64?) {
        for item in change.outcomes {
            guard let index = attempts.firstIndex(where: { $0.id == item.attempt }) else { continue }
            attempts[index].outcome = item.outcome
            attempts[index].block = item.block
            if item.outcome == .sent, attempts[index].sentBlock == nil { attempts[index].sentBlock = ackHead }
        }
        if let move = change.move, move.from == state { state = move.to }
    }

    private func observe(_ evidence: LifecycleEvidence) -> [LifecycleAction] {
        let live = attempts.filter(\.isLive)
        guard let newest = live.last else { return [] }
        if let landing = landed(live, evidence) { return decideLanded(landing, live: live, received: evidence.received[landing.attempt.id]) }
        return decideUnlanded(live, evidence, newest: newest)
    }

    private typealias Landing = (attempt: Tracked, block: UInt64, succeeded: Bool, final: Bool, matches: Bool?)

    /// The canonical landing to act on: a final one first, else the lowest block.
    private func landed(_ live: [Tracked], _ evidence: LifecycleEvidence) -> Landing? {
        let landings: [Landing] = live.compactMap { attempt in
            guard case .landed(let block, let succeeded, let final, let matches) = evidence.sighting(attempt.id) else { return nil }
            return (attempt, block, succeeded, final, matches)
        }
        return landings.min { ($0.final ? 0 : 1, $0.block) < ($1.final ? 0 : 1, $1.block) }
    }

    private func decideLanded(_ landing: Landing, live: [Tracked], received: String?) -> [LifecycleAction] {
        let x = landing.attempt
        // Attempts at the same nonce can never land once one did, finally.
        let siblings = live.filter { $0.id != x.id && $0.nonce != nil && $0.nonce == x.nonce }
        let others = live.filter { $0.id != x.id && !siblings.contains($0) }
        // Final and successful but what arrived is not readable yet: no conclusion, treat it as not final.
        guard landing.final, !(landing.succeeded && landing.matches == nil) else {
            if landing.succeeded {
                var outcomes: [OutcomeChange] = []
                if x.outcome != .included || x.block != landing.block {
                    outcomes.append(OutcomeChange(attempt: x.id, outcome: .included, block: landing.block))
                }
                let target: ChargeState? = state == .cancelRequested || state == .included ? nil : .included
                return change(outcomes, to: target, reason: nil)
            }
            // Reverted, not final: a reorg may still mine the same bytes with another result. Wait.
            return change([], to: state == .signed ? .broadcast : nil, reason: nil)
        }
        let dead = siblings.map { OutcomeChange(attempt: $0.id, outcome: .dead) }
        if landing.succeeded {
            let included = OutcomeChange(attempt: x.id, outcome: .included, block: landing.block)
            guard landing.matches == true else {
                // Final, and not exactly the pinned amount to the treasury: terminal. Stripe stays unpaid.
                var actions = change([included] + dead, to: .mismatch, reason: received ?? "the final transaction does not carry the pinned transfer")
                actions.append(.alert(.mismatch))
                return actions
            }
            var actions = change([included] + dead, to: .settled, reason: state == .cancelRequested ? "landed after cancellation was requested" : nil)
            if state == .cancelRequested { actions.append(.alert(.paidAfterCancel)) }
            return actions
        }
        let reverted = OutcomeChange(attempt: x.id, outcome: .reverted, block: landing.block)
        // Anything else still live (never at this nonce) keeps the charge where it is until it resolves.
        guard others.isEmpty else { return change([reverted] + dead, to: nil, reason: nil) }
        return change([reverted] + dead, to: state == .cancelRequested ? .cancelled : .awaitingFunds, reason: "reverted")
    }

    private func decideUnlanded(_ live: [Tracked], _ evidence: LifecycleEvidence, newest: Tracked) -> [LifecycleAction] {
        var outcomes: [OutcomeChange] = []
        var actions: [LifecycleAction] = []
        // Included before, in no canonical block now: reorged out. Its bytes go out again.
        let reorged = live.filter { $0.outcome == .included }
        for attempt in reorged { outcomes.append(OutcomeChange(attempt: attempt.id, outcome: .sent)) }
        let proofs = live.compactMap { attempt -> String? in
            if case .dead(let proof) = evidence.sighting(attempt.id) { return proof }
            return nil
        }
        if proofs.count == live.count {
            outcomes = live.map { OutcomeChange(attempt: $0.id, outcome: .dead) }
            return change(outcomes, to: state == .cancelRequested ? .cancelled : .due, reason: proofs[0])
        }
        var pastBlocks: UInt64?
        for attempt in live {
            switch evidence.sighting(attempt.id) {
            case .dead: break
            case .pastValidity(let blocks): pastBlocks = max(pastBlocks ?? 0, blocks)
            case .unseen, .landed:
                // Never acknowledged (or acknowledged at no known head, so never due for replacement): send again.
                if attempt.outcome != .sent || attempt.sentBlock == nil || policy.resendAcknowledged { actions.append(.send(attempt: attempt.id)) }
            }
        }
        var target: ChargeState?
        if state == .included { target = .broadcast }
        if let pastBlocks, pastBlocks >= policy.unknownAfterBlocks, state != .unknown, state != .cancelRequested {
            target = .unknown
            actions.append(.alert(.unknown(reason: "no node proves whether the charge's transaction landed, \(pastBlocks) blocks after its window closed")))
        } else if pastBlocks == nil, let after = policy.replaceAfterBlocks, newest.nonce != nil {
            let stale = newest.sentBlock.map { evidence.head >= $0 &+ after } ?? false
            if stale { actions.append(.replace(attempt: newest.id)) }
        }
        return change(outcomes, to: target, reason: target == .broadcast ? "reorged out" : nil) + actions
    }

    /// A `record` action when something changes, else nothing.
    private func change(_ outcomes: [OutcomeChange], to target: ChargeState?, reason: String?) -> [LifecycleAction] {
        let changed = outcomes.filter { item in
            guard let current = attempts.first(where: { $0.id == item.attempt }) else { return false }
            return current.outcome != item.outcome || current.block != item.block
        }
        let move = target.flatMap { $0 == state ? nil : (from: state, to: $0) }
        guard !changed.isEmpty || move != nil else { return [] }
        return [.record(LedgerChange(outcomes: changed, move: move, reason: reason))]
    }
}
