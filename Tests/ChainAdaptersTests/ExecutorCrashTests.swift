import EVM
import Foundation
import SettleCore
import Settlement
import Signing
import Solana
import Store
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Charges survive kill -9 of the executor", .serialized)
struct ExecutorCrashTests {
    @Test("200 charges, the settled executor killed at random points and restarted until all settle: one transfer each")
    func killRepeatedly() async throws {
        _ = try SettledBinary.require()
        let devnet = try await Devnet.start()
        let accounts = try await devnet.accounts()
        let spender = accounts[7]
        let treasury = accounts[8].address
        let token = try await devnet.deployToken(owner: accounts[0].address)
        let customers = Array(accounts[1...5])
        for customer in customers {
            try await devnet.mint(token: token, to: customer.address, amount: 1_000_000_000_000)
            try await devnet.approve(token: token, owner: customer, spender: spender.address, amount: .max)
        }
        let variable = "SETTLE_TEST_SPENDER_\(UInt32.random(in: 0...UInt32.max))"
        TestEnvironment.set(variable, try await devnet.privateKeyHex(7))
        defer { TestEnvironment.unset(variable) }
        let directory = try temporaryDirectory("settle-exec-crash")
        let chains = directory.appendingPathComponent("chains")
        try FileManager.default.createDirectory(at: chains, withIntermediateDirectories: true)
        try devnet.chainConfig(tokens: [("USDC", token, 6)], spenders: [spender.address], confirmations: 2,
                               signerKey: "env:\(variable)", treasury: treasury)
            .write(to: chains.appendingPathComponent("crash.toml"), atomically: true, encoding: .utf8)
        let database = directory.appendingPathComponent("ledger.sqlite").path
        let db = try Database(path: database)
        let ledger = Ledger(database: db)
        try await ledger.migrate()
        let usd = try Currency(code: "USD")
        var expected: [UInt256] = []
        for i in 0..<200 {
            let customer = customers[i % customers.count]
            let agreement = try await ledger.agreement(customer: "cus_\(i % customers.count)", subscription: nil, chain: "crash", token: "USDC",
                                                       wallet: customer.address.checksummed)
            let cents = UInt64(100 + i)
            _ = try await ledger.createCharge(invoice: "in_\(i)", agreement: agreement.id, amount: Money(minorUnits: cents, currency: usd),
                                              tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 0)
            expected.append(UInt256(cents * 10_000))
        }

        let phases = KillPhases()
        let report = try await SettledBinary.killRepeatedly(
            ["execute", "--chain", "crash", "--chains-directory", chains.path, "--database", database, "--once", "--log-level", "warning"],
            killingRuns: 30, delay: 30...430, seed: 2026, maxRuns: 400, log: directory.appendingPathComponent("settled.log")) { clean in
            await phases.note(killed: !clean, database: db)
            try await devnet.mine(2)  // blocks on top, so what was included becomes final
            return try await ledger.charges(in: Set(ChargeState.allCases).subtracting([.settled])).isEmpty
        }
        let (kills, passes) = (report.kills, report.runs)
        #expect(kills >= 10, "too few kills landed mid-pass")
        let settledCharges = try await ledger.charges(in: [.settled])
        let diagnosis = settledCharges.count == 200 ? "" : try await unsettledReport(ledger, log: directory.appendingPathComponent("settled.log"))
        #expect(settledCharges.count == 200, "\(settledCharges.count) settled after \(passes) passes and \(kills) kills\n\(diagnosis)")

        // The chain: exactly one transfer into the treasury per charge, of exactly its amount.
        let logs = try await devnet.rpc.call("eth_getLogs", [.object([
            ("fromBlock", "0x0"), ("toBlock", "latest"), ("address", .string(token.checksummed)),
            ("topics", [.string(ERC20.transferTopic.description), nil, .string("0x000000000000000000000000" + treasury.lowercaseHex)]),
        ])]).arrayValue ?? []
        let values = try logs.map { try UInt256(hex: $0["data"]?.stringValue ?? "") }
        #expect(values.count == 200)
        #expect(values.sorted() == expected.sorted())
        let hashes = Set(logs.compactMap { $0["transactionHash"]?.stringValue })
        for charge in settledCharges {
            let included = try await ledger.attempts(charge: charge.id).filter { $0.outcome == .included }
            #expect(included.count == 1, "\(charge.invoice)")
            #expect(included.allSatisfy { hashes.contains($0.transactionID.lowercased()) }, "\(charge.invoice)")
        }
        print("executor crash test: 200 charges, \(kills) kills, \(passes) passes, \(values.count) transfers")
        print("executor crash test: kills by phase (the ledger's last recorded move when killed): \(await phases.summary)")
    }
}

@Suite("Solana charges survive kill -9 of the executor", .serialized)
struct SolanaExecutorCrashTests {
    @Test("200 charges on LiteSVM, the settled executor killed at random points and restarted until all settle: one transfer each")
    func killRepeatedly() async throws {
        _ = try SettledBinary.require()
        let net = try await SolanaTestnet.start()
        let keys = try await net.node.rpc.call("settle_keypairs", [7]).arrayValue ?? []
        let secrets = keys.map { $0["secretKey"] ?? .null }
        let signers = try secrets.map { try Ed25519PrivateKey(keypairBytes: ($0.arrayValue ?? []).compactMap { $0.uint64Value.map { UInt8($0) } }) }
        let delegate = signers[0]
        let treasury = SolanaPublicKey(signers[1].publicKey)
        let payers = Array(signers[2...])
        let mint = try await net.createMint()
        _ = try await net.createATA(owner: treasury, mint: mint)
        for payer in payers {
            let owner = SolanaPublicKey(payer.publicKey)
            let account = try await net.createATA(owner: owner, mint: mint)
            try await net.mint(mint, to: account, amount: 1_000_000_000_000)
            try await net.send([TokenInstruction.approve(source: account, delegate: SolanaPublicKey(delegate.publicKey), owner: owner,
                                                         amount: 1_000_000_000_000)], signers: [payer])
        }
        let variable = "SETTLE_TEST_DELEGATE_\(UInt32.random(in: 0...UInt32.max))"
        TestEnvironment.set(variable, secrets[0].text)
        defer { TestEnvironment.unset(variable) }
        let directory = try temporaryDirectory("settle-sol-exec-crash")
        let chains = directory.appendingPathComponent("chains")
        try FileManager.default.createDirectory(at: chains, withIntermediateDirectories: true)
        try """
            family = "solana"
            rpc_urls = ["\(net.peer.url("/"))"]
            [[tokens]]
            symbol = "USDC"
            mint = "\(mint)"
            decimals = 6
            [signer]
            key = "env:\(variable)"
            treasury = "\(treasury)"
            """.write(to: chains.appendingPathComponent("solcrash.toml"), atomically: true, encoding: .utf8)
        let database = directory.appendingPathComponent("ledger.sqlite").path
        let db = try Database(path: database)
        let ledger = Ledger(database: db)
        try await ledger.migrate()
        let usd = try Currency(code: "USD")
        var expected: UInt64 = 0
        for i in 0..<200 {
            let payer = payers[i % payers.count]
            let agreement = try await ledger.agreement(customer: "cus_\(i % payers.count)", subscription: nil, chain: "solcrash", token: "USDC",
                                                       wallet: SolanaPublicKey(payer.publicKey).description)
            _ = try await ledger.createCharge(invoice: "sol_\(i)", agreement: agreement.id, amount: Money(minorUnits: UInt64(100 + i), currency: usd),
                                              tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 0)
            expected += UInt64(100 + i) * 10_000
        }
        let phases = KillPhases()
        let report = try await SettledBinary.killRepeatedly(
            ["execute", "--chain", "solcrash", "--chains-directory", chains.path, "--database", database, "--once", "--log-level", "warning"],
            killingRuns: 30, delay: 30...430, seed: 7, maxRuns: 400, log: directory.appendingPathComponent("settled.log")) { clean in
            await phases.note(killed: !clean, database: db)
            try await net.advance(6)  // let what landed finalize
            return try await ledger.charges(in: Set(ChargeState.allCases).subtracting([.settled])).isEmpty
        }
        let (kills, passes) = (report.kills, report.runs)
        #expect(kills >= 10)
        let settledCount = try await ledger.charges(in: [.settled]).count
        let diagnosis = settledCount == 200 ? "" : try await unsettledReport(ledger, log: directory.appendingPathComponent("settled.log"))
        #expect(settledCount == 200, "\(settledCount) settled after \(passes) passes and \(kills) kills\n\(diagnosis)")
        let balance = try await net.tokenAccount(try SolanaPublicKey.associatedTokenAddress(wallet: treasury, mint: mint, tokenProgram: .token)).amount
        #expect(balance == expected, "treasury holds \(balance), the charges add up to \(expected)")
        var included = 0
        for charge in try await ledger.charges(in: [.settled]) {
            included += try await ledger.attempts(charge: charge.id).filter { $0.outcome == .included }.count
        }
        #expect(included == 200)
        print("solana executor crash test: 200 charges, \(kills) kills, \(passes) passes, treasury \(balance)")
        print("solana executor crash test: kills by phase (the ledger's last recorded move when killed): \(await phases.summary)")
    }
}

/// Where random kills landed, by phase: the ledger's last recorded move (`from→to`) when a run was killed, or
/// "nothing recorded" when the killed run recorded no move (killed while starting, recovering or in preflight).
/// Informative only (printed); what the tests assert comes from the chain.
private actor KillPhases {
    private var lastRow: Int64 = 0
    private var counts: [String: Int] = [:]

    func note(killed: Bool, database: Database) async {
        let last = try? await database.read { db -> (Int64, String) in
            let statement = try db.statement("SELECT rowid, from_state, to_state FROM charge_events ORDER BY rowid DESC LIMIT 1")
            return try statement.step() ? (statement.int64(0), "\(statement.text(1))→\(statement.text(2))") : (0, "none")
        }
        guard let (row, move) = last else { return }
        if killed { counts[row == lastRow ? "nothing recorded" : move, default: 0] += 1 }
        lastRow = row
    }

    var summary: String { counts.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ") }
}

/// For a failing crash test: every charge that did not settle, with its attempts, and the end of the daemon's log.
private func unsettledReport(_ ledger: Ledger, log: URL) async throws -> String {
    var lines: [String] = []
    for charge in try await ledger.charges(in: Set(ChargeState.allCases).subtracting([.settled])) {
        lines.append("\(charge.invoice): \(charge.state) (\(charge.reason ?? "-"))")
        for attempt in try await ledger.attempts(charge: charge.id) {
            lines.append("  attempt \(attempt.sequence) \(attempt.transactionID) nonce \(attempt.nonce.map(String.init) ?? "-"): \(attempt.outcome)")
        }
    }
    let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    lines.append("daemon log, last lines:")
    lines += text.split(separator: "\n").suffix(30).map(String.init)
    return lines.joined(separator: "\n")
}
