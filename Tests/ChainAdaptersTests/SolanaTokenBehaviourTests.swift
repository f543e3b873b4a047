import ChainAdapters
import Foundation
import Logging
import SettleConfiguration
import SettleCore
import Settlement
import Signing
import Solana
import SolanaIndexer
import Store
import TestSupport
import Testing
import Transport

/// Issue 13 on Solana (LiteSVM with real Token-2022 mints and accounts): what the accounts and the mint allow is
/// decided before anything is signed; a refusal is a reason to wait, never a fee paid for a transaction that fails.
@Suite("Solana token behaviours: frozen accounts, Token-2022 extensions, memos, a missing treasury account", .serialized)
struct SolanaTokenBehaviourTests {
    struct World {
        let net: SolanaTestnet
        let payer: Ed25519PrivateKey
        let delegate: Ed25519PrivateKey
        let treasury: SolanaPublicKey
        let mint: SolanaPublicKey
        let program: TokenProgram
        let source: SolanaPublicKey
        let ledger: Ledger
        let agreement: Agreement
        let executor: SolanaExecutor

        static func make(program: TokenProgram = .token2022, extensions: JSON? = nil, freezable: Bool = false,
                         treasuryAccount: Bool = true, grossUp: Bool = false) async throws -> World {
            let net = try await SolanaTestnet.start()
            let keys = try await net.keypairs(3)
            let mint = try await net.createMint(program: program, extensions: extensions, freezable: freezable)
            let owner = SolanaPublicKey(keys[0].publicKey)
            let source = try await net.createATA(owner: owner, mint: mint)
            let treasury = SolanaPublicKey(keys[2].publicKey)
            if treasuryAccount { _ = try await net.createATA(owner: treasury, mint: mint) }
            try await net.mint(mint, to: source, amount: 1_000_000_000)
            try await net.send([TokenInstruction.approve(program: program, source: source, delegate: SolanaPublicKey(keys[1].publicKey), owner: owner,
                                                         amount: 100_000_000)], signers: [keys[0]])
            let config = try SolanaChainConfig.parse("""
                family = "solana"
                rpc_urls = ["\(net.peer.url("/"))"]
                [[tokens]]
                symbol = "USDC"
                mint = "\(mint)"
                decimals = 6
                program = "\(program == .token ? "token" : "token2022")"
                gross_up_transfer_fee = \(grossUp)
                """, file: "litesvm.toml")
            let ledger = Ledger(database: try Database(path: try temporaryDirectory("settle-sol-tokens").appendingPathComponent("db").path))
            try await ledger.migrate()
            let agreement = try await ledger.agreement(customer: "cus_t", subscription: nil, chain: "litesvm", token: "USDC", wallet: owner.description)
            var logger = Logger(label: "executor")
            logger.logLevel = .critical
            let rpc = JSONRPCClient(endpoints: [RPCEndpoint(url: net.peer.url("/"), label: "litesvm")], http: net.http, retry: RetryPolicy(maximumAttempts: 1))
            let executor = SolanaExecutor(config: config, node: SolanaNode(rpc: rpc), ledger: ledger, key: keys[1], treasury: treasury, logger: logger)
            return World(net: net, payer: keys[0], delegate: keys[1], treasury: treasury, mint: mint, program: program, source: source,
                         ledger: ledger, agreement: agreement, executor: executor)
        }

        func due(_ invoice: String, cents: UInt64 = 2500) async throws -> Charge {
            let charge = try await ledger.createCharge(invoice: invoice, agreement: agreement.id, amount: Money(minorUnits: cents, currency: try Currency(code: "USD")),
                                                       tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 0).charge
            try await ledger.transition(charge.id, from: .ingested, to: .due)
            return try #require(try await ledger.charge(id: charge.id))
        }

        var treasuryAccount: SolanaPublicKey { get throws { try SolanaPublicKey.associatedTokenAddress(wallet: treasury, mint: mint, tokenProgram: program) } }

        func treasuryBalance() async throws -> UInt64 {
            guard try await net.node.account(try treasuryAccount) != nil else { return 0 }
            return try await net.tokenAccount(try treasuryAccount).amount
        }

        /// Executes, then follows to finality.
        func run(_ charge: Charge) async throws -> Charge {
            _ = try await executor.execute(charge, agreement: agreement, now: 1_000)
            try await net.advance(40)
            try await executor.confirm(now: 1_001)
            return try #require(try await ledger.charge(id: charge.id))
        }
    }

    @Test("refused before signing, with a reason and no transaction", arguments: ["frozen", "nonTransferable", "transferHook", "transferFee"])
    func refusedAtPreflight(_ case: String) async throws {
        let world: World
        switch `case` {
        case "frozen":
            world = try await World.make(program: .token, freezable: true)
            try await world.net.freeze(world.source)
        case "nonTransferable":
            world = try await World.make(extensions: ["nonTransferable": true])
        case "transferHook":
            world = try await World.make(extensions: ["transferHook": ["programId": .string(SolanaPublicKey(Ed25519PrivateKey.generate().publicKey).description)]])
        default:
            world = try await World.make(extensions: ["transferFee": ["basisPoints": 100, "maximumFee": 1_000_000]])
        }
        let charge = try await world.run(try await world.due("in_\(`case`)"))
        #expect(charge.state == .awaitingFunds)
        #expect(charge.reason == (`case` == "frozen" ? "account_frozen" : "token_unsupported"), "\(charge.reason ?? "")")
        #expect(charge.nextAttemptAt == 1_600)
        #expect(try await world.ledger.attempts(charge: charge.id).isEmpty, "nothing signed, no fee")
        #expect(try await world.treasuryBalance() == 0)
    }

    @Test("a 1% transfer-fee mint, the merchant opted in: TransferCheckedWithFee grossed up; the treasury gets exactly the amount")
    func transferFeeGrossedUp() async throws {
        let world = try await World.make(extensions: ["transferFee": ["basisPoints": 100, "maximumFee": 1_000_000]], grossUp: true)
        let before = try await world.net.tokenAccount(world.source).amount
        let charge = try await world.run(try await world.due("in_fee"))
        #expect(charge.state == .settled, "\(charge.state) \(charge.reason ?? "")")
        #expect(try await world.treasuryBalance() == 25_000_000)
        // 25,000,000 / 0.99 with the fee rounded up: the smallest pull that delivers the amount.
        #expect(before - (try await world.net.tokenAccount(world.source).amount) == 25_252_526)
    }

    @Test("a treasury account that requires memos: the invoice id goes first as the memo; settled")
    func requiredMemo() async throws {
        let world = try await World.make()
        try await world.net.requireMemo(try world.treasuryAccount)
        let charge = try await world.run(try await world.due("in_memo"))
        #expect(charge.state == .settled, "\(charge.state) \(charge.reason ?? "")")
        #expect(try await world.treasuryBalance() == 25_000_000)
    }

    @Test("a missing treasury token account is created in the same transaction; settled")
    func missingTreasuryAccount() async throws {
        let world = try await World.make(program: .token, treasuryAccount: false)
        let charge = try await world.run(try await world.due("in_ata"))
        #expect(charge.state == .settled, "\(charge.state) \(charge.reason ?? "")")
        #expect(try await world.treasuryBalance() == 25_000_000)
    }
}
