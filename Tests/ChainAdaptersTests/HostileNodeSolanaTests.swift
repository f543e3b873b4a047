import ChainAdapters
import Foundation
import SettleCore
import Settlement
import Solana
import Store
import TestSupport
import Testing

// Issue 12 on Solana (LiteSVM peer behind `fault_proxy.py`): a node without the signature in its status cache and
// without old history, a node reporting a failure that is not final, and a lost acknowledgement. Ground truth is the
// treasury's token balance. See HostileNodeEVMTests.swift for `FaultProxy` and `Hostile`.

/// Solana helpers for the hostile-node scenarios.
enum HostileSolana {
    typealias Fixture = SolanaExecutorTests.Fixture

    /// `count` passes, advancing `advance` slots after each (a new blockhash each time, so a re-signed transfer is a
    /// new transaction); errors do not stop the passes. Returns the clock after the last pass.
    static func passes(_ loop: SettlementLoop, net: SolanaTestnet, count: Int, from now: UInt64, advance: Int = 1) async throws -> UInt64 {
        var now = now
        for _ in 0..<count {
            _ = try? await loop.runOnce(now: now)
            if advance > 0 { try await net.advance(advance) }
            now += 1_000
        }
        return now
    }

    static func loop(_ f: Fixture, proxy: FaultProxy) -> (SolanaExecutor, SettlementLoop) {
        let executor = f.executor(url: proxy.url)
        return (executor, SettlementLoop(ledger: f.ledger, chain: "litesvm", executor: executor))
    }
}

@Suite("Hostile Solana node: one transfer per invoice, or unknown with no second signature (issue 12)", .serialized)
struct HostileNodeSolanaTests {
    /// Scenario 9.
    @Test("death by absence without full history: the transfer landed, the node shows no status and no old ledger; no second signature")
    func deathByAbsenceWithoutHistory() async throws {
        let f = try await HostileSolana.Fixture.make()
        let proxy = try await FaultProxy.start(upstream: f.net.peer.url("/"))
        let (executor, loop) = HostileSolana.loop(f, proxy: proxy)
        await executor.setUnknownAfterBlocks(20)
        let charge = try await f.dueCharge("in_s9", cents: 3000)
        let now = Hostile.future()
        #expect(try await executor.execute(charge, agreement: f.agreement, now: now) == .broadcast)
        #expect(try await f.treasuryBalance() == 30_000_000, "precondition: the transfer landed")
        try await executor.confirm(now: now)

        // The node forgets the signature's status and cannot reach back to its slot; the blockhash expires at finalized.
        try await proxy.arm(#"[{"mode": "null_statuses", "count": -1}, {"mode": "short_history", "count": -1}]"#)
        try await f.net.advance(200)
        _ = try await HostileSolana.passes(loop, net: f.net, count: 30, from: now + 1)

        let balance = try await f.treasuryBalance()
        #expect(balance == 30_000_000)
        let attempts = try await f.ledger.attempts(charge: charge.id)
        #expect(attempts.count == 1, "attempts: \(attempts.map { "\($0.sequence) \($0.outcome)" })")
        // Nothing proves it landed or not (the status is gone, the node lacks the slots): unknown, never re-signed.
        let state9 = try await Hostile.state(f.ledger, "in_s9")
        #expect(state9 == "unknown", "state: \(state9)")
    }

    /// Scenario 10.
    @Test("early failure: a node reports the landed transfer as failed at confirmed; nothing is re-signed, settled once finalized")
    func earlyFailure() async throws {
        let f = try await HostileSolana.Fixture.make()
        let proxy = try await FaultProxy.start(upstream: f.net.peer.url("/"))
        let (executor, loop) = HostileSolana.loop(f, proxy: proxy)
        let charge = try await f.dueCharge("in_s10", cents: 3000)
        let now = Hostile.future()
        #expect(try await executor.execute(charge, agreement: f.agreement, now: now) == .broadcast)
        #expect(try await f.treasuryBalance() == 30_000_000, "precondition: the transfer landed")

        try await proxy.arm(#"{"mode": "fail_status", "count": -1}"#)
        var later = try await HostileSolana.passes(loop, net: f.net, count: 10, from: now)
        try await proxy.clear()  // the node catches up with the cluster: the transfer succeeded, and is final
        try await f.net.advance(10)
        later = try await HostileSolana.passes(loop, net: f.net, count: 5, from: later)

        let balance = try await f.treasuryBalance()
        #expect(balance == 30_000_000)
        let attempts = try await f.ledger.attempts(charge: charge.id)
        #expect(attempts.count == 1, "attempts: \(attempts.map { "\($0.sequence) \($0.outcome)" })")
        let state10 = try await Hostile.state(f.ledger, "in_s10")
        #expect(state10 == "settled")
    }

    /// Scenario 11.
    @Test("ack lost: sendTransaction reaches the node but every answer is 503; one transfer, settled")
    func ackLost() async throws {
        let f = try await HostileSolana.Fixture.make()
        let proxy = try await FaultProxy.start(upstream: f.net.peer.url("/"))
        let (_, loop) = HostileSolana.loop(f, proxy: proxy)
        let charge = try await f.dueCharge("in_s11", cents: 3000)
        try await proxy.arm(#"{"mode": "ack_lost", "status": 503, "count": -1, "method": "sendTransaction"}"#)

        _ = try await HostileSolana.passes(loop, net: f.net, count: 12, from: Hostile.future())
        let balance = try await f.treasuryBalance()
        #expect(balance == 30_000_000)
        let attempts = try await f.ledger.attempts(charge: charge.id)
        #expect(attempts.count == 1, "attempts: \(attempts.map { "\($0.sequence) \($0.outcome)" })")
        let state11 = try await Hostile.state(f.ledger, "in_s11")
        #expect(state11 == "settled")
    }

    /// Scenario 11 with 9's node: the send was never acknowledged (the attempt is still `signed`), and the node then
    /// shows no status and no old ledger. The recover path must not declare it dead either.
    @Test("ack lost, then forgotten: an unacknowledged transfer that landed is never re-signed")
    func ackLostThenForgotten() async throws {
        let f = try await HostileSolana.Fixture.make()
        let proxy = try await FaultProxy.start(upstream: f.net.peer.url("/"))
        let (executor, loop) = HostileSolana.loop(f, proxy: proxy)
        await executor.setUnknownAfterBlocks(20)
        let charge = try await f.dueCharge("in_s11b", cents: 3000)
        try await proxy.arm("""
            [{"mode": "ack_lost", "status": 503, "count": -1, "method": "sendTransaction"},
             {"mode": "null_statuses", "count": -1}, {"mode": "short_history", "count": -1}]
            """)
        let now = Hostile.future()
        _ = try? await loop.runOnce(now: now)
        #expect(try await f.treasuryBalance() == 30_000_000, "precondition: the transfer landed")
        try await f.net.advance(200)

        _ = try await HostileSolana.passes(loop, net: f.net, count: 30, from: now + 1)
        let balance = try await f.treasuryBalance()
        #expect(balance == 30_000_000)
        let attempts = try await f.ledger.attempts(charge: charge.id)
        #expect(attempts.count == 1, "attempts: \(attempts.map { "\($0.sequence) \($0.outcome)" })")
        let state11B = try await Hostile.state(f.ledger, "in_s11b")
        #expect(state11B == "unknown", "state: \(state11B)")
    }

    /// Power loss on Solana: no nonce shows the lost attempt, the payer's token account does.
    @Test("power loss: the restored ledger lost the attempt; the delegate's transfer it cannot explain stops signing, no second transfer")
    func powerLoss() async throws {
        let f = try await HostileSolana.Fixture.make()
        let charge = try await f.dueCharge("in_s7", cents: 3000)
        let copy = try Hostile.copyDatabase(try f.ledger.sqlite.path, into: try temporaryDirectory("settle-sol-powerloss"))
        let now = Hostile.future()
        #expect(try await f.executor().execute(charge, agreement: f.agreement, now: now) == .broadcast)
        #expect(try await f.treasuryBalance() == 30_000_000, "precondition: the transfer landed")

        let restored = Ledger(database: try Database(path: copy))
        try await restored.migrate()
        #expect(try await Hostile.state(restored, "in_s7") == "due", "precondition: the restored ledger lost the attempt")
        let after = HostileSolana.Fixture(net: f.net, payer: f.payer, delegate: f.delegate, treasury: f.treasury, mint: f.mint,
                                          config: f.config, ledger: restored, agreement: f.agreement)
        _ = try await HostileSolana.passes(SettlementLoop(ledger: restored, chain: "litesvm", executor: after.executor()),
                                           net: f.net, count: 5, from: now + 1)
        #expect(try await f.treasuryBalance() == 30_000_000)
        #expect(try await restored.attempts(charge: charge.id).isEmpty)
        #expect(try await restored.openAlerts(chain: "litesvm").map(\.kind) == [.signatureDivergence])
    }

    /// Two daemons with the same delegate key on two databases.
    @Test("two daemons, one delegate, two databases: the same invoice is paid once")
    func twoDaemons() async throws {
        let f = try await HostileSolana.Fixture.make()
        let ledgerB = Ledger(database: try Database(path: try temporaryDirectory("settle-sol-twin").appendingPathComponent("db").path))
        try await ledgerB.migrate()
        let agreementB = try await ledgerB.agreement(customer: "cus_s", subscription: nil, chain: "litesvm", token: "USDC",
                                                     wallet: SolanaPublicKey(f.payer.publicKey).description)
        let b = HostileSolana.Fixture(net: f.net, payer: f.payer, delegate: f.delegate, treasury: f.treasury, mint: f.mint,
                                      config: f.config, ledger: ledgerB, agreement: agreementB)
        _ = try await f.dueCharge("in_s8", cents: 3000)
        _ = try await b.dueCharge("in_s8", cents: 3000)
        let loopA = SettlementLoop(ledger: f.ledger, chain: "litesvm", executor: f.executor())
        let loopB = SettlementLoop(ledger: ledgerB, chain: "litesvm", executor: b.executor())
        var now = Hostile.future()
        for _ in 0..<6 {
            _ = try? await loopA.runOnce(now: now)
            _ = try? await loopB.runOnce(now: now)
            try await f.net.advance(1)
            now += 1_000
        }
        #expect(try await f.treasuryBalance() == 30_000_000)
        let attempts = try await f.ledger.attempts(charge: try #require(try await f.ledger.charge(invoice: "in_s8")).id).count
            + (try await ledgerB.attempts(charge: try #require(try await ledgerB.charge(invoice: "in_s8")).id).count)
        #expect(attempts == 1)
        #expect(try await ledgerB.openAlerts(chain: "litesvm").map(\.kind) == [.signatureDivergence])
    }
}
