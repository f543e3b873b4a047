import EVM
import Foundation
import SettleCore
import Settlement
import Store
import TestSupport
import Testing

/// The operator's side of issue 12's nonce safety, through the `settled` binary on the devnet: a transaction the
/// ledger never signed (here: the spender key used outside Settle to pull exactly what an open invoice asks, as a
/// database that lost its last attempt would have) stops signing; `nonce inspect` names the invoice it looks like;
/// `nonce adopt` refuses until that is resolved, then resumes; a second process on the same database is refused.
@Suite("Nonce divergence: stop, inspect, adopt (the binary)", .serialized)
struct NonceDivergenceTests {
    @Test("an unexplained spender transaction stops signing; inspect names the invoice it pays; adopt refuses, then resumes")
    func divergenceThenAdopt() async throws {
        _ = try SettledBinary.require()
        let f = try await ExecutorFixture.make()
        let variable = "SETTLE_TEST_SPENDER_\(UInt32.random(in: 0...UInt32.max))"
        TestEnvironment.set(variable, try await f.devnet.privateKeyHex(7))
        defer { TestEnvironment.unset(variable) }
        let directory = try temporaryDirectory("settle-nonce")
        let chains = directory.appendingPathComponent("chains")
        try FileManager.default.createDirectory(at: chains, withIntermediateDirectories: true)
        try f.devnet.chainConfig(tokens: [("USDC", f.token, 6)], spenders: [f.spender.address], confirmations: 2,
                                 signerKey: "env:\(variable)", treasury: f.treasury)
            .write(to: chains.appendingPathComponent("devnet.toml"), atomically: true, encoding: .utf8)
        let database = try f.ledger.sqlite.path
        let common = ["--chain", "devnet", "--chains-directory", chains.path, "--database", database]

        // The key pulls 12.34 USDC for invoice in_1 outside this ledger (a lost attempt), then the invoice is due here.
        try await f.devnet.transferFrom(token: f.token, spender: f.spender, from: f.customer.address, to: f.treasury, amount: 12_340_000)
        _ = try await f.dueCharge("in_1", cents: 1234)
        #expect(try await f.treasuryTransfers() == [12_340_000])

        let execute = try await SettledBinary.run(["execute", "--once", "--log-level", "error"] + common)
        #expect(execute.status == 0, "\(execute.output)")
        #expect(try await f.treasuryTransfers() == [12_340_000], "signing must stop, not pay twice")
        #expect(try await f.ledger.charge(invoice: "in_1")?.state == .due)
        let alerts = try await f.ledger.openAlerts(chain: "devnet")
        #expect(alerts.map(\.kind) == [.nonceDivergence] && alerts.first?.ledgerNext == 0 && alerts.first?.chainCount == 1)

        let inspect = try await SettledBinary.run(["nonce", "inspect"] + common)
        #expect(inspect.status == 0, "\(inspect.output)")
        #expect(inspect.output.contains("ledger next nonce:   0") && inspect.output.contains("chain count pending: 1"), "\(inspect.output)")
        #expect(inspect.output.contains("LOOKS LIKE the payment of invoice in_1"), "\(inspect.output)")

        let refused = try await SettledBinary.run(["nonce", "adopt"] + common)
        #expect(refused.status != 0, "\(refused.output)")
        #expect(try await f.ledger.openAlerts(chain: "devnet").count == 1)

        // The operator settles it by hand (here: the invoice is closed), then adopts.
        #expect(try await f.ledger.cancel(try #require(try await f.ledger.charge(invoice: "in_1")).id, reason: "paid by a lost attempt") == .cancelled)
        let adopted = try await SettledBinary.run(["nonce", "adopt", "--by", "test"] + common)
        #expect(adopted.status == 0, "\(adopted.output)")
        #expect(try await f.ledger.openAlerts(chain: "devnet").isEmpty)
        #expect(try await f.ledger.nextNonce(chain: "devnet", signer: f.spender.address.checksummed) == 1)

        // Signing resumes at the adopted nonce.
        _ = try await f.dueCharge("in_2", cents: 500)
        let resumed = try await SettledBinary.run(["execute", "--once", "--log-level", "error"] + common)
        #expect(resumed.status == 0, "\(resumed.output)")
        #expect(try await f.treasuryTransfers() == [12_340_000, 5_000_000])
        #expect(try await f.ledger.attempts(charge: try #require(try await f.ledger.charge(invoice: "in_2")).id).first?.nonce == 1)
    }

    @Test("a second process on the same database is refused at start")
    func secondProcessRefused() async throws {
        _ = try SettledBinary.require()
        let directory = try temporaryDirectory("settle-lock")
        let database = directory.appendingPathComponent("settle.sqlite").path
        var held: DatabaseLock? = try DatabaseLock(databasePath: database)
        let second = try await SettledBinary.run(["execute", "--once", "--chain", "x", "--chains-directory", directory.path, "--database", database])
        #expect(second.status != 0)
        #expect(second.output.contains("is in use by process \(getpid())"), "\(second.output)")
        #expect(throws: StoreError.self) { _ = try DatabaseLock(databasePath: database) }  // another open file, same process
        #expect(held != nil)
        held = nil  // released with its holder (the kernel releases it on any exit, kill -9 included)
        _ = try DatabaseLock(databasePath: database)
    }
}
