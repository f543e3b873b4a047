import SettleCore
import Settlement
import Testing

/// One transition per row: the machine's answer to one piece of evidence.
@Suite("Charge lifecycle: transitions")
struct ChargeLifecycleTests {
    static let evm = ChargeLifecycle.Policy.evm(replaceAfterBlocks: 12, unknownAfterBlocks: 50)
    static let solana = ChargeLifecycle.Policy.solana(unknownAfterBlocks: 50)

    static func a(_ id: Int64, _ outcome: Attempt.Outcome, nonce: UInt64? = 7, sent: UInt64? = 100, block: UInt64? = nil) -> ChargeLifecycle.Tracked {
        .init(id: id, sequence: Int(id), nonce: nonce, outcome: outcome, block: block, sentBlock: outcome == .signed ? nil : sent)
    }

    static func moves(_ actions: [LifecycleAction]) -> [String] {
        actions.map { action in
            switch action {
            case .record(let change):
                let outcomes = change.outcomes.map { "\($0.attempt)=\($0.outcome.rawValue)" }.joined(separator: ",")
                let move = change.move.map { "\($0.from.rawValue)→\($0.to.rawValue)" } ?? "-"
                return "record[\(outcomes)|\(move)]"
            case .send(let id): return "send \(id)"
            case .replace(let id): return "replace \(id)"
            case .alert(let alert):
                switch alert {
                case .unknown: return "alert unknown"
                case .paidAfterCancel: return "alert paid-after-cancel"
                case .mismatch: return "alert mismatch"
                }
            }
        }
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var state: ChargeState
        var attempts: [ChargeLifecycle.Tracked]
        var policy = ChargeLifecycleTests.evm
        var event: ChargeLifecycle.Event
        var expect: [String]
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "acknowledged: signed → broadcast", state: .signed, attempts: [a(1, .signed)],
            event: .acknowledged(attempt: 1, head: 100), expect: ["record[1=sent|signed→broadcast]"]),
        Row(name: "unacknowledged and unseen: send again, never dead", state: .signed, attempts: [a(1, .signed)],
            event: .observed(.init(head: 200)), expect: ["send 1"]),
        Row(name: "a signed replacement counts: its landing settles", state: .broadcast, attempts: [a(1, .sent), a(2, .signed)],
            event: .observed(.init(head: 120, sightings: [2: .landed(block: 110, succeeded: true, final: true, matches: true)])),
            expect: ["record[2=included,1=dead|broadcast→settled]"]),
        Row(name: "landed, not final: included", state: .broadcast, attempts: [a(1, .sent)],
            event: .observed(.init(head: 105, sightings: [1: .landed(block: 104, succeeded: true, final: false, matches: nil)])),
            expect: ["record[1=included|broadcast→included]"]),
        Row(name: "reverted, not final: nothing is concluded", state: .broadcast, attempts: [a(1, .sent)],
            event: .observed(.init(head: 105, sightings: [1: .landed(block: 104, succeeded: false, final: false, matches: nil)])),
            expect: []),
        Row(name: "reverted and final: awaiting funds, nonce consumed", state: .broadcast, attempts: [a(1, .sent), a(2, .sent)],
            event: .observed(.init(head: 120, sightings: [1: .landed(block: 104, succeeded: false, final: true, matches: nil)])),
            expect: ["record[1=reverted,2=dead|broadcast→awaiting_funds]"]),
        Row(name: "final but not the pinned transfer: mismatch (terminal), alert", state: .included, attempts: [a(1, .included, block: 104)],
            event: .observed(.init(head: 120, sightings: [1: .landed(block: 104, succeeded: true, final: true, matches: false)],
                                   received: [1: "received 99 of 100"])),
            expect: ["record[|included→mismatch]", "alert mismatch"]),
        Row(name: "reorged out: back to broadcast, same bytes again", state: .included, attempts: [a(1, .included, block: 104)],
            event: .observed(.init(head: 106)), expect: ["record[1=sent|included→broadcast]", "send 1"]),
        Row(name: "nonce used but the node shows no transaction: wait, no death", state: .broadcast, attempts: [a(1, .sent)],
            event: .observed(.init(head: 130, sightings: [1: .pastValidity(blocks: 10)])), expect: []),
        Row(name: "past the window long enough: unknown, alert, never re-signed", state: .broadcast, attempts: [a(1, .sent)],
            event: .observed(.init(head: 200, sightings: [1: .pastValidity(blocks: 50)])),
            expect: ["record[|broadcast→unknown]", "alert unknown"]),
        Row(name: "every attempt proven dead: due again", state: .broadcast, attempts: [a(1, .sent), a(2, .signed)],
            event: .observed(.init(head: 200, sightings: [1: .dead(proof: "p"), 2: .dead(proof: "p")])),
            expect: ["record[1=dead,2=dead|broadcast→due]"]),
        Row(name: "one proven dead, its replacement unseen: not due", state: .broadcast, attempts: [a(1, .sent), a(2, .signed)],
            event: .observed(.init(head: 105, sightings: [1: .dead(proof: "p")])), expect: ["send 2"]),
        Row(name: "stuck past replaceAfterBlocks: replaced at the same nonce", state: .broadcast, attempts: [a(1, .sent)],
            event: .observed(.init(head: 112)), expect: ["replace 1"]),
        Row(name: "acknowledged, not yet stuck: nothing (the pool holds it)", state: .broadcast, attempts: [a(1, .sent)],
            event: .observed(.init(head: 105)), expect: []),
        Row(name: "refused as underpriced: re-priced, not dead", state: .signed, attempts: [a(1, .signed)],
            event: .refusedUnderpriced(attempt: 1), expect: ["replace 1"]),
        Row(name: "cancel requested, proven dead: cancelled", state: .cancelRequested, attempts: [a(1, .sent)],
            event: .observed(.init(head: 200, sightings: [1: .dead(proof: "p")])), expect: ["record[1=dead|cancel_requested→cancelled]"]),
        Row(name: "cancel requested, lands: settled and the merchant is told", state: .cancelRequested, attempts: [a(1, .sent)],
            event: .observed(.init(head: 200, sightings: [1: .landed(block: 150, succeeded: true, final: true, matches: true)])),
            expect: ["record[1=included|cancel_requested→settled]", "alert paid-after-cancel"]),
        Row(name: "unknown, then a final landing shows up: settled", state: .unknown, attempts: [a(1, .sent)],
            event: .observed(.init(head: 300, sightings: [1: .landed(block: 150, succeeded: true, final: true, matches: true)])),
            expect: ["record[1=included|unknown→settled]"]),
        Row(name: "Solana: failed at confirmed is not acted on", state: .broadcast, attempts: [a(1, .sent, nonce: nil)], policy: solana,
            event: .observed(.init(head: 105, sightings: [1: .landed(block: 104, succeeded: false, final: false, matches: nil)])),
            expect: []),
        Row(name: "Solana: never replaced, re-sent while valid", state: .broadcast, attempts: [a(1, .sent, nonce: nil)], policy: solana,
            event: .observed(.init(head: 500)), expect: ["send 1"]),
    ]

    @Test("one event, one answer", arguments: rows)
    func transition(_ row: Row) {
        var machine = ChargeLifecycle(state: row.state, attempts: row.attempts, policy: row.policy)
        #expect(Self.moves(machine.event(row.event)) == row.expect)
    }

    @Test("the same evidence twice records once", arguments: rows)
    func idempotent(_ row: Row) {
        var machine = ChargeLifecycle(state: row.state, attempts: row.attempts, policy: row.policy)
        _ = machine.event(row.event)
        let again = Self.moves(machine.event(row.event)).filter { $0.hasPrefix("record") }
        #expect(again.isEmpty, "\(again)")
    }

    @Test("evidence rules: absence is never death")
    func rules() {
        #expect(SightingRules.evm(nonce: 5, finalizedCount: 5, transactionAtNonce: nil, ours: ["0xa"], blocksPast: 0) == .unseen)
        #expect(SightingRules.evm(nonce: 5, finalizedCount: 6, transactionAtNonce: nil, ours: ["0xa"], blocksPast: 3) == .pastValidity(blocks: 3))
        #expect(SightingRules.evm(nonce: 5, finalizedCount: 6, transactionAtNonce: "0xA", ours: ["0xa"], blocksPast: 3) == .pastValidity(blocks: 3))
        if case .dead = SightingRules.evm(nonce: 5, finalizedCount: 6, transactionAtNonce: "0xb", ours: ["0xa"], blocksPast: 3) {} else {
            Issue.record("a foreign transaction at a finalized nonce proves death")
        }
        #expect(SightingRules.solana(finalizedHeight: 100, lastValidHeight: 100, firstAvailableSlot: 0, earliestSlot: 10) == .unseen)
        #expect(SightingRules.solana(finalizedHeight: 101, lastValidHeight: 100, firstAvailableSlot: 11, earliestSlot: 10) == .pastValidity(blocks: 1))
        #expect(SightingRules.solana(finalizedHeight: 101, lastValidHeight: 100, firstAvailableSlot: nil, earliestSlot: 10) == .pastValidity(blocks: 1))
        #expect(SightingRules.solana(finalizedHeight: 101, lastValidHeight: nil, firstAvailableSlot: 0, earliestSlot: 10) == .unseen)
        if case .dead = SightingRules.solana(finalizedHeight: 101, lastValidHeight: 100, firstAvailableSlot: 10, earliestSlot: 10) {} else {
            Issue.record("expired at finalized and absent from a node with the history proves death")
        }
    }

    @Test("nonce guard: the ledger's nonce, never the chain's; a count the ledger cannot explain stops signing")
    func nonceGuard() {
        #expect(NonceGuard.check(ledgerNext: 4, chainPending: 4, openAlert: false) == .sign(nonce: 4))
        #expect(NonceGuard.check(ledgerNext: 4, chainPending: 2, openAlert: false) == .sign(nonce: 4))
        #expect(NonceGuard.check(ledgerNext: 4, chainPending: 5, openAlert: false) == .diverged(ledgerNext: 4, chainPending: 5))
        #expect(NonceGuard.check(ledgerNext: 0, chainPending: 1, openAlert: false) == .diverged(ledgerNext: 0, chainPending: 1))
        #expect(NonceGuard.check(ledgerNext: 4, chainPending: 4, openAlert: true) == .blocked)
    }

    @Test("send answers: only acceptance or 'already known' acknowledges", arguments: [
        (nil, "acknowledged"), ("already known", "acknowledged"), ("Transaction AlreadyProcessed", "acknowledged"),
        ("nonce too low", "nonceUsed"), ("replacement transaction underpriced", "underpriced"), ("transaction underpriced", "underpriced"),
        ("insufficient funds for gas * price + value", "insufficientFunds"), ("HTTP 503", "unacknowledged"), ("timeout", "unacknowledged"),
    ] as [(String?, String)])
    func sendVerdicts(_ refusal: String?, _ expected: String) {
        let verdict = SendVerdict.classify(refusal: refusal)
        let name: String = switch verdict {
        case .acknowledged: "acknowledged"
        case .nonceUsed: "nonceUsed"
        case .underpriced: "underpriced"
        case .insufficientFunds: "insufficientFunds"
        case .unacknowledged: "unacknowledged"
        }
        #expect(name == expected)
    }

    @Test("arrival: 'nothing moved' (pulled again later) only when the balances prove it; exact means exact")
    func arrival() {
        func verdict(_ transfers: Int, _ received: UInt64, _ balances: ArrivalRule.BalanceCheck, grossedUp: Bool = false) -> ArrivalRule.Verdict {
            ArrivalRule.decide(tokenTransfers: transfers, received: UInt256(received), amount: 100, grossedUp: grossedUp, balances: balances,
                               describe: { "received \($0)" })
        }
        #expect(verdict(0, 0, .agrees) == .nothingMoved)
        if case .other = verdict(0, 0, .unavailable) {} else { Issue.record("no logs and no state is not proof that nothing moved") }
        #expect(verdict(0, 0, .disagrees("lied")) == .other("lied"))
        #expect(verdict(1, 100, .agrees) == .exact)
        #expect(verdict(1, 100, .unavailable) == .exact)
        #expect(verdict(1, 100, .disagrees("lied")) == .other("lied"))
        #expect(verdict(2, 99, .agrees) == .other("received 99"))
        #expect(verdict(1, 101, .agrees) == .other("received 101"))
        #expect(verdict(1, 101, .agrees, grossedUp: true) == .exact)
        #expect(verdict(1, 102, .agrees, grossedUp: true) == .other("received 102"))
    }
}

