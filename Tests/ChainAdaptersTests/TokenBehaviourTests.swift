import ChainAdapters
import EVM
import Foundation
import SettleConfiguration
import SettleCore
import Settlement
import TestSupport
import Testing

/// Issue 13, "paid means received": real token behaviours on the devnet (Vyper tokens written for the tests, see
/// evm_devnet.py). Ground truth is the treasury's balance and Transfer logs on chain.
@Suite("Token behaviours: settled only when exactly the amount arrived", .serialized)
struct TokenBehaviourTests {
    /// Runs a due charge of `cents` to the end: executed, mined, final.
    static func run(_ f: ExecutorFixture, invoice: String, cents: UInt64) async throws -> Charge {
        let executor = f.executor()
        let charge = try await f.dueCharge(invoice, cents: cents)
        _ = try await executor.execute(charge, agreement: f.agreement)
        try await f.devnet.mine(3)
        try await executor.confirm()
        return try #require(try await f.ledger.charge(id: charge.id))
    }

    @Test("the agreement moves to another token while the pull is in flight: matched against the charge's pinned terms, settled")
    func agreementChangedInFlight() async throws {
        let f = try await ExecutorFixture.make()
        let executor = f.executor()
        let charge = try await f.dueCharge("in_pinned", cents: 2500)
        #expect(try await executor.execute(charge, agreement: f.agreement) == .broadcast)
        _ = try await f.ledger.upsertAgreement(customer: f.agreement.customer, subscription: f.agreement.subscription, chain: "devnet",
                                               token: "DAI", wallet: f.spender.address.checksummed, pricing: { _, _ in (18, .parity, 0, nil) })
        try await f.devnet.mine(3)
        try await executor.confirm()
        let after = try #require(try await f.ledger.charge(id: charge.id))
        #expect(after.state == .settled, "\(after.state) \(after.reason ?? "")")
        #expect(after.terms.token == "USDC" && after.tokenAmount.baseUnits == 25_000_000)
        #expect(try await f.treasuryTransfers() == [25_000_000])
    }

    @Test("the chain file's treasury changed under a pinned charge: nothing is signed; the pinned one is paid when the file is back")
    func treasuryChangedUnderCharge() async throws {
        let f = try await ExecutorFixture.make()
        let created = try await f.ledger.createCharge(invoice: "in_pin", agreement: f.agreement.id, amount: Money(minorUnits: 500, currency: try Currency(code: "USD")),
                                                      tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 0, asset: f.token.checksummed,
                                                      treasury: f.customer.address.checksummed).charge
        #expect(created.terms.treasury == f.customer.address.checksummed && created.terms.asset == f.token.checksummed)
        try await f.ledger.transition(created.id, from: .ingested, to: .due)
        let due = try #require(try await f.ledger.charge(id: created.id))
        await #expect(throws: LedgerError.self) { try await f.executor().execute(due, agreement: f.agreement) }
        #expect(try await f.ledger.attempts(charge: due.id).isEmpty)
        #expect(try await f.treasuryTransfers().isEmpty)
    }

    @Test("USDT-style transferFrom without a return value works")
    func noReturnValue() async throws {
        let f = try await ExecutorFixture.make(kind: "noreturn")
        let charge = try await Self.run(f, invoice: "in_nr", cents: 2500)
        #expect(charge.state == .settled, "\(charge.reason ?? "")")
        #expect(try await f.devnet.balance(token: f.token, owner: f.treasury) == 25_000_000)
    }

    @Test("fee on transfer: the treasury got 1% less; mismatch (terminal) with what arrived, never settled")
    func feeOnTransfer() async throws {
        let f = try await ExecutorFixture.make(kind: "fee")
        let charge = try await Self.run(f, invoice: "in_fee", cents: 2500)
        #expect(try await f.devnet.balance(token: f.token, owner: f.treasury) == 24_750_000)
        #expect(charge.state == .mismatch)
        #expect(charge.reason?.contains("received 24750000 of 25000000") == true, "\(charge.reason ?? "")")
        // Terminal: later passes change nothing and sign nothing.
        try await f.devnet.mine(3)
        try await f.executor().confirm()
        #expect(try await f.ledger.charge(id: charge.id)?.state == .mismatch)
        #expect(try await f.ledger.attempts(charge: charge.id).count == 1)
    }

    @Test("fee on transfer, the merchant opted in (gross_up_fee_bps): the pull is grossed up, the treasury gets exactly the amount; settled")
    func feeGrossedUp() async throws {
        let base = try await ExecutorFixture.make(kind: "fee")
        let text = base.devnet.chainConfig(tokens: [("USDC", base.token, 6)], spenders: [base.spender.address], confirmations: 2)
            .replacingOccurrences(of: "decimals = 6", with: "decimals = 6\ngross_up_fee_bps = 100")
        let f = ExecutorFixture(devnet: base.devnet, customer: base.customer, spender: base.spender, treasury: base.treasury, token: base.token,
                                config: try ChainConfig.parse(text, file: "devnet.toml"), ledger: base.ledger, agreement: base.agreement)
        #expect(f.config.token("USDC")?.grossUpFeeBps == 100)
        let before = try await f.devnet.balance(token: f.token, owner: f.customer.address)
        let charge = try await Self.run(f, invoice: "in_gross", cents: 2500)
        #expect(charge.state == .settled, "\(charge.state) \(charge.reason ?? "")")
        #expect(try await f.devnet.balance(token: f.token, owner: f.treasury) == 25_000_000)
        // The customer paid the fee too, and no more than it needs: 25,000,000 / 0.99 rounded to deliver exactly.
        #expect(before - (try await f.devnet.balance(token: f.token, owner: f.customer.address)) == 25_252_525)
    }

    @Test("a token whose Transfer log says the full amount but credits half: caught by the treasury's balance")
    func lyingLogs() async throws {
        let f = try await ExecutorFixture.make(kind: "lying")
        let charge = try await Self.run(f, invoice: "in_lie", cents: 2500)
        #expect(try await f.treasuryTransfers() == [25_000_000], "the log claims the full amount")
        #expect(try await f.devnet.balance(token: f.token, owner: f.treasury) == 12_500_000)
        #expect(charge.state == .mismatch)
        #expect(charge.reason?.contains("balance went from 0 to 12500000") == true, "\(charge.reason ?? "")")
    }

    @Test("a token that returns false instead of reverting: a failed pull (awaiting funds, retried), never settled or mismatch")
    func returnsFalse() async throws {
        let f = try await ExecutorFixture.make(kind: "false")
        let executor = f.executor()
        let charge = try await f.dueCharge("in_false", cents: 2500)
        // The payer's transfer away is pooled first; the preflight still sees the balance; our pull then finds none.
        _ = try await f.devnet.rpc.call("evm_setAutomine", [false])
        let balance = try await f.devnet.balance(token: f.token, owner: f.customer.address)
        try await f.devnet.transfer(token: f.token, from: f.customer, to: f.spender.address, amount: balance)
        #expect(try await executor.execute(charge, agreement: f.agreement) == .broadcast)
        _ = try await f.devnet.rpc.call("evm_setAutomine", [true])
        try await f.devnet.mine(3)
        try await executor.confirm()
        let after = try #require(try await f.ledger.charge(id: charge.id))
        #expect(after.state == .awaitingFunds, "\(after.state) \(after.reason ?? "")")
        #expect(after.reason == "reverted")
        #expect(try await f.devnet.balance(token: f.token, owner: f.treasury) == 0)
        #expect(try await f.ledger.attempts(charge: charge.id).map(\.outcome) == [.reverted])
    }
}

/// Issue 13, "reasons for every stop": a pull that would revert is never sent; the charge waits with the reason.
@Suite("Estimate-time refusals: a reason, no transaction, retried on schedule", .serialized)
struct EstimateRefusalTests {
    @Test("paused token, blocklisted payer, treasury and spender: each its reason, nothing sent; settles once the cause clears",
          arguments: ["pause", "payer", "treasury", "spender"])
    func refusal(_ cause: String) async throws {
        let f = try await ExecutorFixture.make(kind: "pausable_blocklist")
        switch cause {
        case "pause": _ = try await f.devnet.rpc.call("settle_pause", [.string(f.token.checksummed)])
        case "payer": _ = try await f.devnet.rpc.call("settle_blocklist", [.string(f.token.checksummed), .string(f.customer.address.checksummed)])
        case "treasury": _ = try await f.devnet.rpc.call("settle_blocklist", [.string(f.token.checksummed), .string(f.treasury.checksummed)])
        default: _ = try await f.devnet.rpc.call("settle_blocklist", [.string(f.token.checksummed), .string(f.spender.address.checksummed)])
        }
        let executor = f.executor()
        let charge = try await f.dueCharge("in_\(cause)", cents: 1500)
        let pending = try await f.devnet.rpc.call("eth_getTransactionCount", [.string(f.spender.address.checksummed), "pending"])
        #expect(try await executor.execute(charge, agreement: f.agreement, now: 1_000) == .awaitingFunds)
        let waiting = try #require(try await f.ledger.charge(id: charge.id))
        let expected = ["pause": "token_paused", "payer": "payer_blocked", "treasury": "treasury_blocked", "spender": "spender_blocked"][cause]
        #expect(waiting.reason == expected)
        #expect(waiting.nextAttemptAt == 1_600)
        #expect(try await f.ledger.attempts(charge: charge.id).isEmpty)
        #expect(try await f.devnet.rpc.call("eth_getTransactionCount", [.string(f.spender.address.checksummed), "pending"]) == pending,
                "no transaction (no fee) while the cause holds")
        // The cause clears; the retry pays.
        switch cause {
        case "pause": _ = try await f.devnet.rpc.call("settle_unpause", [.string(f.token.checksummed)])
        case "payer": _ = try await f.devnet.rpc.call("settle_unblocklist", [.string(f.token.checksummed), .string(f.customer.address.checksummed)])
        case "treasury": _ = try await f.devnet.rpc.call("settle_unblocklist", [.string(f.token.checksummed), .string(f.treasury.checksummed)])
        default: _ = try await f.devnet.rpc.call("settle_unblocklist", [.string(f.token.checksummed), .string(f.spender.address.checksummed)])
        }
        let loop = SettlementLoop(ledger: f.ledger, chain: "devnet", executor: executor)
        try await loop.runOnce(now: 1_600)
        try await f.devnet.mine(3)
        try await loop.runOnce(now: 1_601)
        #expect(try await f.ledger.charge(id: charge.id)?.state == .settled)
        #expect(try await f.treasuryTransfers() == [15_000_000])
    }
}

/// Issue 13, "reversed after paid": a reorg deeper than a 2-confirmation policy removes a settled transfer.
@Suite("Reversed after paid", .serialized)
struct ReversalTests {
    @Test("a reorg deeper than the policy removes a settled transfer: reversed, told once; recollect sends the same bytes; paid once")
    func deepReorg() async throws {
        let f = try await ExecutorFixture.make()
        let executor = f.executor()
        let charge = try await f.dueCharge("in_rev", cents: 2500)
        let snapshot = try await f.devnet.snapshot()
        #expect(try await executor.execute(charge, agreement: f.agreement) == .broadcast)
        try await f.devnet.mine(3)
        try await executor.confirm()
        #expect(try await f.ledger.charge(id: charge.id)?.state == .settled)
        let sent = try #require(try await f.ledger.attempts(charge: charge.id).first)
        // Still within twice the confirmations: watched. The chain goes back past the transfer and grows longer.
        try await f.devnet.revert(snapshot)
        try await f.devnet.mine(2)
        #expect(try await f.treasuryTransfers().isEmpty, "precondition: the transfer is gone")
        try await executor.confirm()
        let reversed = try #require(try await f.ledger.charge(id: charge.id))
        #expect(reversed.state == .reversed, "\(reversed.state)")
        #expect(reversed.reason?.contains(sent.transactionID) == true)
        // Never collected again by itself.
        try await f.devnet.mine(3)
        try await executor.confirm()
        #expect(try await f.ledger.charge(id: charge.id)?.state == .reversed)
        #expect(try await f.treasuryTransfers().isEmpty)
        // The operator collects it again: the same transaction, once.
        #expect(try await f.ledger.recollect(charge.id, by: "test"))
        let loop = SettlementLoop(ledger: f.ledger, chain: "devnet", executor: executor)
        try await loop.runOnce()
        try await f.devnet.mine(3)
        try await loop.runOnce()
        #expect(try await f.ledger.charge(id: charge.id)?.state == .settled)
        #expect(try await f.ledger.attempts(charge: charge.id).map(\.transactionID) == [sent.transactionID])
        #expect(try await f.treasuryTransfers() == [25_000_000])
        // Deep enough (more than twice the confirmations): no longer watched.
        try await f.devnet.mine(5)
        #expect(try await f.ledger.watchedAttempts(chain: "devnet", above: try await f.devnet.blockNumber() - 4).isEmpty)
    }
}

@Suite("Numbers from a node never trap")
struct NodeNumberTests {
    @Test("a gas estimate near 2^64 saturates instead of overflowing", arguments: [UInt64.max, UInt64.max - 1, UInt64.max / 5 * 4 + 7, 21_000])
    func gasLimit(_ estimate: UInt64) {
        let limit = EVMFees.gasLimit(estimate: estimate)
        #expect(limit >= estimate)
        if estimate == 21_000 { #expect(limit == 25_200) }
    }
}

