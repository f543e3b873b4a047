import ChainAdapters
import EVM
import EVMIndexer
import Foundation
import Logging
import SettleCore
import Settlement
import Store
import TestSupport
import Testing
import Transport

// Issue 12: nodes that lose acknowledgements, forget transactions, report failures that are not final, refuse
// sends they actually keep; a database that loses its last commit; a second daemon with the same key. Each scenario
// drives the real executor through `SettlementLoop` for enough passes that an executor trusting the node would sign
// again, and reads the outcome from the CHAIN (the treasury's Transfer logs): exactly one transfer per invoice and
// no second nonce, or the charge left in `unknown` with no second signature.
//
// States are compared as raw strings ("unknown", "cancel_requested") so these tests compile before those states exist.

/// `Tests/Peers/fault_proxy.py` in front of a peer, armed with faults as JSON (one object, or a list of them).
final class FaultProxy: Sendable {
    let peer: Peer
    let http: HTTPClient

    init(upstream: String) throws {
        peer = try Peer(script: "fault_proxy.py", arguments: ["--upstream", upstream])
        http = HTTPClient()
    }

    /// Starts the proxy as `init` does, off the cooperative pool (`onThread`).
    static func start(upstream: String) async throws -> FaultProxy {
        try await onThread { try FaultProxy(upstream: upstream) }
    }

    /// The proxy's JSON-RPC URL.
    var url: String { peer.url("/") }

    /// Replaces the armed faults with `json` (`{"mode": ...}` or `[{...}, {...}]`).
    func arm(_ json: String) async throws {
        let response = try await http.execute(HTTPRequest(url: peer.url("/_fault"), method: .post, body: Array(json.utf8)))
        guard response.status == 200 else { throw PeerError("fault proxy refused \(json): HTTP \(response.status)") }
    }

    func clear() async throws { try await arm(#"{"mode": "none"}"#) }

    deinit {
        http.shutdown()
        peer.stop()
    }
}

/// Helpers shared by the hostile-node scenarios.
enum Hostile {
    /// A clock well past any retry schedule, so charges waiting for funds are due again on the next pass.
    static func future() -> UInt64 { UInt64(Date().timeIntervalSince1970) + 100_000 }

    /// The charge's state as stored, as its raw string ("" when there is no such charge).
    static func state(_ ledger: Ledger, _ invoice: String) async throws -> String {
        try await ledger.charge(invoice: invoice)?.state.rawValue ?? ""
    }

    /// Copies a SQLite database with its WAL and shared-memory files into `directory`; returns the copy's path.
    static func copyDatabase(_ path: String, into directory: URL) throws -> String {
        let target = directory.appendingPathComponent("db").path
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.copyItem(atPath: path + suffix, toPath: target + suffix)
        }
        return target
    }
}

/// EVM helpers for the hostile-node scenarios.
enum HostileEVM {
    static func setAutomine(_ devnet: Devnet, _ enabled: Bool) async throws {
        _ = try await devnet.rpc.call("evm_setAutomine", [.bool(enabled)])
    }

    /// `count` passes of every loop (in order), mining `mine` blocks after each round; errors are part of the
    /// scenario (a hostile node makes calls fail) and do not stop the passes. Returns the clock after the last pass.
    static func passes(_ loops: [SettlementLoop], devnet: Devnet, count: Int, from now: UInt64, mine: Int = 1) async throws -> UInt64 {
        var now = now
        for _ in 0..<count {
            for loop in loops { _ = try? await loop.runOnce(now: now) }
            if mine > 0 { try await devnet.mine(mine) }
            now += 1_000
        }
        return now
    }

    /// The distinct nonces the ledger signed for a charge.
    static func nonces(_ ledger: Ledger, invoice: String) async throws -> Set<UInt64> {
        guard let charge = try await ledger.charge(invoice: invoice) else { return [] }
        return Set(try await ledger.attempts(charge: charge.id).compactMap(\.nonce))
    }

    /// Sends already-signed bytes straight to the devnet (a third party re-broadcasting our public transaction).
    static func sendRaw(_ devnet: Devnet, _ raw: [UInt8]) async throws {
        _ = try await devnet.rpc.call("eth_sendRawTransaction", [.string(Hex.encode(raw, prefix: true))])
    }

    /// Settles a first charge so the ledger has a nonce history for the spender (the scenario is then not "a fresh
    /// database", which a nonce check might reasonably adopt the chain's count for).
    static func settleFirst(_ f: ExecutorFixture, loop: SettlementLoop, invoice: String, cents: UInt64) async throws {
        _ = try await f.dueCharge(invoice, cents: cents)
        _ = try await passes([loop], devnet: f.devnet, count: 4, from: Hostile.future())
        try #require(try await Hostile.state(f.ledger, invoice) == "settled", "precondition: the first charge settles")
    }
}

@Suite("Hostile EVM node: one transfer per invoice, or unknown with no second signature (issue 12)", .serialized)
struct HostileNodeEVMTests {
    /// Scenario 1.
    @Test("unacknowledged replacement: the node took the same-nonce replacement but answered 503; it is mined; no second nonce")
    func unacknowledgedReplacement() async throws {
        let f = try await ExecutorFixture.make()
        let proxy = try await FaultProxy.start(upstream: f.devnet.url)
        try await HostileEVM.setAutomine(f.devnet, false)
        let executor = f.executor(url: proxy.url)
        let loop = SettlementLoop(ledger: f.ledger, chain: "devnet", executor: executor)
        let charge = try await f.dueCharge("in_h1", cents: 3000)
        let now = Hostile.future()
        #expect(try await executor.execute(charge, agreement: f.agreement, now: now) == .broadcast)  // attempt A, in the pool
        let first = try #require(try await f.ledger.attempts(charge: charge.id).first)
        let nonce = try #require(first.nonce)

        // The next confirm replaces A (B, higher fees, same nonce); the node takes B, the client hears 503, forever.
        await executor.setReplaceAfterBlocks(0)
        try await proxy.arm(#"{"mode": "ack_lost", "status": 503, "count": -1, "method": "eth_sendRawTransaction"}"#)
        try? await executor.confirm(now: now)
        await executor.setReplaceAfterBlocks(1_000)  // one replacement is the scenario
        #expect(try await f.ledger.attempts(charge: charge.id).count == 2, "precondition: a replacement was signed")

        _ = try await HostileEVM.passes([loop], devnet: f.devnet, count: 30, from: now + 1)
        let transfers = try await f.treasuryTransfers()
        #expect(transfers == [30_000_000])
        let nonces1 = try await HostileEVM.nonces(f.ledger, invoice: "in_h1")
        #expect(nonces1 == [nonce])
        let state1 = try await Hostile.state(f.ledger, "in_h1")
        #expect(state1 == "settled", "state: \(state1)")
    }

    /// Scenario 2.
    @Test("underpriced but held: the replacement is refused as underpriced by the endpoint, the node keeps and mines it; no second nonce")
    func underpricedButHeldReplacement() async throws {
        let f = try await ExecutorFixture.make()
        let proxy = try await FaultProxy.start(upstream: f.devnet.url)
        try await HostileEVM.setAutomine(f.devnet, false)
        let executor = f.executor(url: proxy.url)
        let loop = SettlementLoop(ledger: f.ledger, chain: "devnet", executor: executor)
        let charge = try await f.dueCharge("in_h2", cents: 3000)
        let now = Hostile.future()
        #expect(try await executor.execute(charge, agreement: f.agreement, now: now) == .broadcast)
        let first = try #require(try await f.ledger.attempts(charge: charge.id).first)
        let nonce = try #require(first.nonce)

        await executor.setReplaceAfterBlocks(0)
        try await proxy.arm(#"{"mode": "underpriced", "forward": true, "count": 1, "method": "eth_sendRawTransaction"}"#)
        try? await executor.confirm(now: now)
        await executor.setReplaceAfterBlocks(1_000)
        #expect(try await f.ledger.attempts(charge: charge.id).count == 2, "precondition: a replacement was signed")

        _ = try await HostileEVM.passes([loop], devnet: f.devnet, count: 30, from: now + 1)
        let transfers = try await f.treasuryTransfers()
        #expect(transfers == [30_000_000])
        let nonces2 = try await HostileEVM.nonces(f.ledger, invoice: "in_h2")
        #expect(nonces2 == [nonce])
        let state2 = try await Hostile.state(f.ledger, "in_h2")
        #expect(state2 == "settled", "state: \(state2)")
    }

    /// Scenario 3.
    @Test("death by absence: the transfer is mined but the node returns no receipt and no transaction for it; no second nonce")
    func deathByAbsence() async throws {
        let f = try await ExecutorFixture.make()
        let proxy = try await FaultProxy.start(upstream: f.devnet.url)
        let executor = f.executor(url: proxy.url)
        let loop = SettlementLoop(ledger: f.ledger, chain: "devnet", executor: executor)
        let charge = try await f.dueCharge("in_h3", cents: 3000)
        let now = Hostile.future()
        #expect(try await executor.execute(charge, agreement: f.agreement, now: now) == .broadcast)  // automine: mined at once
        #expect(try await f.treasuryTransfers() == [30_000_000], "precondition: the transfer is on chain")
        let first = try #require(try await f.ledger.attempts(charge: charge.id).first)
        let nonce = try #require(first.nonce)

        try await proxy.arm(#"{"mode": "null_result", "count": -1, "methods": ["eth_getTransactionReceipt", "eth_getTransactionByHash"]}"#)
        _ = try await HostileEVM.passes([loop], devnet: f.devnet, count: 30, from: now)
        let transfers = try await f.treasuryTransfers()
        #expect(transfers == [30_000_000])
        let nonces3 = try await HostileEVM.nonces(f.ledger, invoice: "in_h3")
        #expect(nonces3 == [nonce])
        // The nonce's transaction is found in the finalized block's body and its receipt among the block's: settled.
        let state3 = try await Hostile.state(f.ledger, "in_h3")
        #expect(state3 == "settled", "state: \(state3)")
    }

    /// Scenario 3 on a node that can show nothing at all about the block that used the nonce (no receipts, no
    /// transaction by hash, no block bodies): the charge goes `unknown` after the bound, never signed again.
    @Test("death by absence on a node without history: no receipt, transaction or block body; unknown, never a second nonce")
    func deathByAbsenceNoHistory() async throws {
        let f = try await ExecutorFixture.make()
        let proxy = try await FaultProxy.start(upstream: f.devnet.url)
        let executor = f.executor(url: proxy.url)
        await executor.setUnknownAfterBlocks(5)
        let loop = SettlementLoop(ledger: f.ledger, chain: "devnet", executor: executor)
        let charge = try await f.dueCharge("in_h3b", cents: 3000)
        let now = Hostile.future()
        #expect(try await executor.execute(charge, agreement: f.agreement, now: now) == .broadcast)
        #expect(try await f.treasuryTransfers() == [30_000_000], "precondition: the transfer is on chain")
        let nonce = try #require(try await f.ledger.attempts(charge: charge.id).first?.nonce)

        try await proxy.arm(#"{"mode": "null_result", "count": -1, "methods": ["eth_getTransactionReceipt", "eth_getTransactionByHash", "eth_getBlockReceipts", "eth_getBlockByNumber"]}"#)
        _ = try await HostileEVM.passes([loop], devnet: f.devnet, count: 30, from: now)
        #expect(try await f.treasuryTransfers() == [30_000_000])
        #expect(try await HostileEVM.nonces(f.ledger, invoice: "in_h3b") == [nonce])
        #expect(try await Hostile.state(f.ledger, "in_h3b") == "unknown")
        // The node comes back with its history: the same evidence now proves the landing, and it settles.
        try await proxy.clear()
        _ = try await HostileEVM.passes([loop], devnet: f.devnet, count: 3, from: now + 100)
        #expect(try await Hostile.state(f.ledger, "in_h3b") == "settled")
        #expect(try await f.treasuryTransfers() == [30_000_000])
    }

    /// Scenario 4.
    @Test("early revert: the pull reverts in a block that is then reorged out and its public bytes are mined again; one transfer, no nonce N+1")
    func earlyRevert() async throws {
        let f = try await ExecutorFixture.make()
        try await HostileEVM.setAutomine(f.devnet, false)
        let executor = f.executor()
        let loop = SettlementLoop(ledger: f.ledger, chain: "devnet", executor: executor)
        let snapshot = try await f.devnet.snapshot()  // before the revocation
        let charge = try await f.dueCharge("in_h4", cents: 3000)

        // The payer revokes; the revocation is pending when preflight runs, so our pull (A) is signed and sent.
        try await f.devnet.approve(token: f.token, owner: f.customer, spender: f.spender.address, amount: 0)
        var now = Hostile.future()
        try await loop.runOnce(now: now)
        let first = try #require(try await f.ledger.attempts(charge: charge.id).first)
        let nonce = try #require(first.nonce)
        #expect(try await Hostile.state(f.ledger, "in_h4") == "broadcast", "precondition: A is in the pool")
        // The payer approves again right after: one block holds revoke, A (reverts), approve.
        try await f.devnet.approve(token: f.token, owner: f.customer, spender: f.spender.address, amount: 100_000_000)
        try await f.devnet.mine(1)
        let receipt = try #require(try await f.executor().node.receipt(try Hash32(hex: first.transactionID)))
        #expect(!receipt.succeeded, "precondition: A reverted")

        // Two passes while that revert is NOT final (finality = 2 blocks): an executor acting on it re-signs at N+1.
        now += 100_000
        try await loop.runOnce(now: now)
        now += 100_000
        try await loop.runOnce(now: now)
        try await f.devnet.mine(1)
        now += 1_000
        try await loop.runOnce(now: now)

        // Reorg: the block with the revert is gone; someone re-broadcasts A's public bytes; this time it succeeds.
        try await f.devnet.revert(snapshot)
        try? await HostileEVM.sendRaw(f.devnet, first.raw)
        try await f.devnet.mine(1)
        _ = try await HostileEVM.passes([loop], devnet: f.devnet, count: 10, from: now + 1_000)

        let transfers = try await f.treasuryTransfers()
        #expect(transfers == [30_000_000])
        let nonces4 = try await HostileEVM.nonces(f.ledger, invoice: "in_h4")
        #expect(nonces4 == [nonce])
        let state4 = try await Hostile.state(f.ledger, "in_h4")
        #expect(state4 == "settled")
    }

    /// Scenario 5.
    @Test("underpriced first send: re-priced at the same nonce, so the next charge's nonce is not stranded behind a gap")
    func underpricedFirstSend() async throws {
        let f = try await ExecutorFixture.make()
        let proxy = try await FaultProxy.start(upstream: f.devnet.url)
        let executor = f.executor(url: proxy.url)
        let loop = SettlementLoop(ledger: f.ledger, chain: "devnet", executor: executor)
        _ = try await f.dueCharge("in_h5a", cents: 3000)
        _ = try await f.dueCharge("in_h5b", cents: 2000)
        try await proxy.arm(#"{"mode": "underpriced", "count": 1, "method": "eth_sendRawTransaction"}"#)

        _ = try await HostileEVM.passes([loop], devnet: f.devnet, count: 30, from: Hostile.future())
        let state5A = try await Hostile.state(f.ledger, "in_h5a")
        #expect(state5A == "settled")
        let state5B = try await Hostile.state(f.ledger, "in_h5b")
        #expect(state5B == "settled")
        let transfers = try await f.treasuryTransfers().sorted()
        #expect(transfers == [20_000_000, 30_000_000])
        let nonces5A = try await HostileEVM.nonces(f.ledger, invoice: "in_h5a")
        #expect(nonces5A.count == 1)
        let nonces5B = try await HostileEVM.nonces(f.ledger, invoice: "in_h5b")
        #expect(nonces5B.count == 1)
    }

    /// Scenario 6.
    @Test("cancel while live: a broadcast charge is marked cancel_requested, and settled once its transfer is final")
    func cancelWhileLive() async throws {
        let f = try await ExecutorFixture.make()
        try await HostileEVM.setAutomine(f.devnet, false)
        let executor = f.executor()
        let loop = SettlementLoop(ledger: f.ledger, chain: "devnet", executor: executor)
        let charge = try await f.dueCharge("in_h6", cents: 3000)
        let now = Hostile.future()
        #expect(try await executor.execute(charge, agreement: f.agreement, now: now) == .broadcast)  // in the pool

        _ = try await f.ledger.cancel(charge.id, reason: "invoice voided", now: now)
        let afterCancel = try await Hostile.state(f.ledger, "in_h6")
        #expect(afterCancel == "cancel_requested")

        _ = try await HostileEVM.passes([loop], devnet: f.devnet, count: 8, from: now + 1)
        let transfers = try await f.treasuryTransfers()
        #expect(transfers == [30_000_000])
        let state6 = try await Hostile.state(f.ledger, "in_h6")
        #expect(state6 == "settled")
    }

    /// Scenario 6, the path that does cancel with money moving today: a revert acted on before it is final leaves the
    /// charge in awaiting_funds, which may be cancelled; the reorged-in transaction then pays a cancelled invoice.
    @Test("cancel after a revert that is not final: cancel_requested, then settled when the reorg lands the same bytes")
    func cancelAfterEarlyRevert() async throws {
        let f = try await ExecutorFixture.make()
        try await HostileEVM.setAutomine(f.devnet, false)
        let executor = f.executor()
        let loop = SettlementLoop(ledger: f.ledger, chain: "devnet", executor: executor)
        let snapshot = try await f.devnet.snapshot()
        let charge = try await f.dueCharge("in_h6b", cents: 3000)
        try await f.devnet.approve(token: f.token, owner: f.customer, spender: f.spender.address, amount: 0)
        var now = Hostile.future()
        try await loop.runOnce(now: now)
        let first = try #require(try await f.ledger.attempts(charge: charge.id).first)
        let nonce = try #require(first.nonce)
        try await f.devnet.mine(1)  // revoke, then A: reverts (not final)
        now += 100_000
        try await loop.runOnce(now: now)

        _ = try await f.ledger.cancel(charge.id, reason: "invoice voided", now: now)
        let afterCancel = try await Hostile.state(f.ledger, "in_h6b")
        #expect(afterCancel == "cancel_requested")

        try await f.devnet.revert(snapshot)
        try? await HostileEVM.sendRaw(f.devnet, first.raw)
        try await f.devnet.mine(1)
        _ = try await HostileEVM.passes([loop], devnet: f.devnet, count: 8, from: now + 1_000)
        let transfers = try await f.treasuryTransfers()
        #expect(transfers == [30_000_000])
        let state6B = try await Hostile.state(f.ledger, "in_h6b")
        #expect(state6B == "settled")
        let nonces6B = try await HostileEVM.nonces(f.ledger, invoice: "in_h6b")
        #expect(nonces6B == [nonce])
    }

    /// Scenario 7.
    @Test("power loss: the attempt committed before the broadcast is lost with the WAL; no second transfer, a nonce_divergence alert")
    func powerLoss() async throws {
        let f = try await ExecutorFixture.make()
        let loop = SettlementLoop(ledger: f.ledger, chain: "devnet", executor: f.executor())
        try await HostileEVM.settleFirst(f, loop: loop, invoice: "in_h7a", cents: 1000)
        let charge = try await f.dueCharge("in_h7b", cents: 3000)

        // The disk as it is right before execute; then execute broadcasts (automine: mined) and the power goes.
        let copy = try Hostile.copyDatabase(try f.ledger.sqlite.path, into: try temporaryDirectory("settle-powerloss"))
        let now = Hostile.future()
        #expect(try await f.executor().execute(charge, agreement: f.agreement, now: now) == .broadcast)
        let sent = try #require(try await f.ledger.attempts(charge: charge.id).first)
        let nonce = try #require(sent.nonce)
        #expect(try await f.treasuryTransfers() == [10_000_000, 30_000_000], "precondition: the pull is on chain")

        // Restart on the restored files.
        let restored = Ledger(database: try Database(path: copy))
        try await restored.migrate()
        #expect(try await Hostile.state(restored, "in_h7b") == "due", "precondition: the restored ledger lost the attempt")
        let after = ExecutorFixture(devnet: f.devnet, customer: f.customer, spender: f.spender, treasury: f.treasury, token: f.token,
                                    config: f.config, ledger: restored, agreement: f.agreement)
        let restarted = SettlementLoop(ledger: restored, chain: "devnet", executor: after.executor())
        _ = try await HostileEVM.passes([restarted], devnet: f.devnet, count: 10, from: now + 1)

        let transfers = try await f.treasuryTransfers()
        #expect(transfers.filter { $0 == 30_000_000 }.count == 1, "treasury transfers: \(transfers)")
        let nonces7B = try await HostileEVM.nonces(restored, invoice: "in_h7b")
        #expect(nonces7B.isSubset(of: [nonce]))
        let alerts = try await restored.sqlite.read { db in
            let select = try db.statement("SELECT count(*) FROM chain_alerts WHERE kind = 'nonce_divergence' AND cleared_at IS NULL")
            return try select.step() ? select.int64(0) : 0
        }
        #expect(alerts > 0)
    }

    /// Scenario 8.
    @Test("two daemons, one key, two databases (cloned): the same invoice is paid once")
    func twoDaemonsSameKey() async throws {
        let f = try await ExecutorFixture.make()
        let loopA = SettlementLoop(ledger: f.ledger, chain: "devnet", executor: f.executor())
        try await HostileEVM.settleFirst(f, loop: loopA, invoice: "in_h8a", cents: 1000)
        // A second operator starts a daemon from a copy of the database, with the same key.
        let copy = try Hostile.copyDatabase(try f.ledger.sqlite.path, into: try temporaryDirectory("settle-twin"))
        let ledgerB = Ledger(database: try Database(path: copy))
        try await ledgerB.migrate()
        let b = ExecutorFixture(devnet: f.devnet, customer: f.customer, spender: f.spender, treasury: f.treasury, token: f.token,
                                config: f.config, ledger: ledgerB, agreement: f.agreement)
        let loopB = SettlementLoop(ledger: ledgerB, chain: "devnet", executor: b.executor())
        _ = try await f.dueCharge("in_h8", cents: 3000)
        _ = try await b.dueCharge("in_h8", cents: 3000)

        _ = try await HostileEVM.passes([loopA, loopB], devnet: f.devnet, count: 15, from: Hostile.future())
        let transfers = try await f.treasuryTransfers()
        #expect(transfers.filter { $0 == 30_000_000 }.count == 1, "treasury transfers: \(transfers)")
        let nonces = try await HostileEVM.nonces(f.ledger, invoice: "in_h8").union(try await HostileEVM.nonces(ledgerB, invoice: "in_h8"))
        #expect(nonces.count <= 1)
    }
}
