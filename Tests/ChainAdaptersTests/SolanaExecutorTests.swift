import ChainAdapters
import SettleConfiguration
import Foundation
import Logging
import SettleCore
import Settlement
import Signing
import Solana
import SolanaIndexer
import Store
import TestSupport
import Testing
import Transport

@Suite("Solana executor on LiteSVM: persist before send, blockhash expiry", .serialized)
struct SolanaExecutorTests {
    struct Fixture {
        let net: SolanaTestnet
        let payer: Ed25519PrivateKey
        let delegate: Ed25519PrivateKey
        let treasury: SolanaPublicKey
        let mint: SolanaPublicKey
        let config: SolanaChainConfig
        let ledger: Ledger
        let agreement: Agreement

        static func make() async throws -> Fixture {
            let net = try await SolanaTestnet.start()
            let keys = try await net.keypairs(3)
            let mint = try await net.createMint()
            let payerKey = SolanaPublicKey(keys[0].publicKey)
            let source = try await net.createATA(owner: payerKey, mint: mint)
            let treasury = SolanaPublicKey(keys[2].publicKey)
            _ = try await net.createATA(owner: treasury, mint: mint)
            try await net.mint(mint, to: source, amount: 1_000_000_000)
            try await net.send([TokenInstruction.approve(source: source, delegate: SolanaPublicKey(keys[1].publicKey), owner: payerKey,
                                                         amount: 100_000_000)], signers: [keys[0]])
            let config = try SolanaChainConfig.parse("""
                family = "solana"
                rpc_urls = ["\(net.peer.url("/"))"]
                [[tokens]]
                symbol = "USDC"
                mint = "\(mint)"
                decimals = 6
                """, file: "litesvm.toml")
            let ledger = Ledger(database: try Database(path: try temporaryDirectory("settle-sol-exec").appendingPathComponent("db").path))
            try await ledger.migrate()
            let agreement = try await ledger.agreement(customer: "cus_s", subscription: nil, chain: "litesvm", token: "USDC", wallet: payerKey.description)
            return Fixture(net: net, payer: keys[0], delegate: keys[1], treasury: treasury, mint: mint, config: config, ledger: ledger, agreement: agreement)
        }

        func executor(url: String? = nil) -> SolanaExecutor {
            let rpc = JSONRPCClient(endpoints: [RPCEndpoint(url: url ?? net.peer.url("/"), label: "litesvm")], http: net.http,
                                    retry: RetryPolicy(maximumAttempts: 1))
            var logger = Logger(label: "executor")
            logger.logLevel = .critical
            return SolanaExecutor(config: config, node: SolanaNode(rpc: rpc), ledger: ledger, key: delegate, treasury: treasury, logger: logger)
        }

        func dueCharge(_ invoice: String, cents: UInt64) async throws -> Charge {
            let charge = try await ledger.createCharge(invoice: invoice, agreement: agreement.id, amount: Money(minorUnits: cents, currency: try Currency(code: "USD")),
                                                       tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 0).charge
            try await ledger.transition(charge.id, from: .ingested, to: .due)
            return try #require(try await ledger.charge(id: charge.id))
        }

        func treasuryBalance() async throws -> UInt64 {
            try await net.tokenAccount(try SolanaPublicKey.associatedTokenAddress(wallet: treasury, mint: mint, tokenProgram: .token)).amount
        }
    }

    @Test("a due charge is pulled once by the delegate and settled at finalized when the transfer matches")
    func happyPath() async throws {
        let f = try await Fixture.make()
        let executor = f.executor()
        let charge = try await f.dueCharge("in_s1", cents: 2500)
        #expect(try await executor.execute(charge, agreement: f.agreement) == .broadcast)
        let attempt = try #require(try await f.ledger.attempts(charge: charge.id).first)
        #expect(attempt.blockhash != nil && attempt.lastValidHeight != nil)
        try await executor.confirm()
        #expect(try await f.ledger.charge(id: charge.id)?.state == .included)
        try await f.net.advance(10)
        try await executor.confirm()
        #expect(try await f.ledger.charge(id: charge.id)?.state == .settled)
        #expect(try await f.treasuryBalance() == 25_000_000)
    }

    @Test("a persisted attempt that never landed: re-sent while valid; after expiry and absence at finalized, a new attempt lands once")
    func expiredBlockhash() async throws {
        let f = try await Fixture.make()
        let proxy = try await Peer.start(script: "fault_proxy.py", arguments: ["--upstream", f.net.peer.url("/")])
        _ = try await f.net.http.execute(HTTPRequest(url: proxy.url("/_fault"), method: .post,
                                                     body: Array(#"{"mode": "status", "status": 503, "count": -1, "method": "sendTransaction"}"#.utf8)))
        let charge = try await f.dueCharge("in_s2", cents: 1000)
        let lost = f.executor(url: proxy.url("/"))
        // Not acknowledged: persisted, followed, never an error that could make anyone sign again.
        #expect(try await lost.execute(charge, agreement: f.agreement) == .signed)
        // It never reached the cluster; mark it sent as a crashed process might have, then let the blockhash expire.
        let first = try #require(try await f.ledger.attempts(charge: charge.id).first)
        try await f.ledger.markSent(first)
        try await f.net.advance(160)
        let executor = f.executor()
        try await executor.confirm()
        #expect(try await f.ledger.charge(id: charge.id)?.state == .due)
        #expect(try await f.ledger.attempts(charge: charge.id).first?.outcome == .dead)
        let due = try #require(try await f.ledger.charge(id: charge.id))
        #expect(try await executor.execute(due, agreement: f.agreement) == .broadcast)
        try await f.net.advance(10)
        try await executor.confirm()
        #expect(try await f.ledger.charge(id: charge.id)?.state == .settled)
        #expect(try await f.ledger.attempts(charge: charge.id).map(\.sequence) == [1, 2])
        #expect(try await f.treasuryBalance() == 10_000_000)
    }

    @Test("a configured fee payer pays the fee; the delegate only signs the transfer")
    func feePayer() async throws {
        let f = try await Fixture.make()
        let payerOfFees = try await f.net.keypairs(1)[0]
        let rpc = JSONRPCClient(endpoints: [RPCEndpoint(url: f.net.peer.url("/"), label: "litesvm")], http: f.net.http)
        let executor = SolanaExecutor(config: f.config, node: SolanaNode(rpc: rpc), ledger: f.ledger, key: f.delegate, treasury: f.treasury,
                                      feePayer: payerOfFees, logger: Logger(label: "fees"))
        let delegateBefore = try #require(try await f.net.node.account(SolanaPublicKey(f.delegate.publicKey))).lamports
        let feesBefore = try #require(try await f.net.node.account(SolanaPublicKey(payerOfFees.publicKey))).lamports
        let charge = try await f.dueCharge("in_fee", cents: 100)
        #expect(try await executor.execute(charge, agreement: f.agreement) == .broadcast)
        #expect(try await f.net.node.account(SolanaPublicKey(f.delegate.publicKey))?.lamports == delegateBefore)
        #expect((try await f.net.node.account(SolanaPublicKey(payerOfFees.publicKey))?.lamports ?? .max) < feesBefore)
        #expect(try await f.treasuryBalance() == 1_000_000)
    }

    @Test("too little delegated: nothing is signed, the reason is recorded")
    func shortfall() async throws {
        let f = try await Fixture.make()
        let charge = try await f.dueCharge("in_s3", cents: 20_000)  // $200 > 100 delegated
        #expect(try await f.executor().execute(charge, agreement: f.agreement) == .awaitingFunds)
        #expect(try await f.ledger.charge(id: charge.id)?.reason == "low_allowance")
        #expect(try await f.ledger.attempts(charge: charge.id).isEmpty)
    }
}
