import SettleConfiguration
import Logging
import SettleCore
import Store
import Signing
import Solana
import SolanaIndexer
import TestSupport
import Testing
import Transport

// Started once per test process on first use, on a thread of its own (a blocking start, or a `Result` global's
// one-time initializer that other tests block on meanwhile, would hold the cooperative pool's threads for seconds).
let sharedTestnet = Task { try await SolanaTestnet.start() }

@Suite("Solana RPC client and SPL Token event decoding against LiteSVM", .serialized)
struct SolanaNodeTests {
    /// The events of `signature` as Settle decodes them from getTransaction.
    func events(_ net: SolanaTestnet, _ signature: SolanaSignature) async throws -> [TokenEvent] {
        let transaction = try #require(try await net.node.transaction(signature))
        #expect(transaction.signature == signature)
        return TokenEvent.decode(transaction)
    }

    @Test("approve, transferChecked by the delegate, a failed over-limit transfer, revoke — decoded exactly, state matches",
          arguments: [TokenProgram.token, .token2022])
    func delegationLifecycle(program: TokenProgram) async throws {
        let net = try await sharedTestnet.value
        let keys = try await net.keypairs(3)
        let (payer, delegate, treasury) = (keys[0], keys[1], keys[2])
        let payerKey = SolanaPublicKey(payer.publicKey)
        let delegateKey = SolanaPublicKey(delegate.publicKey)
        let mint = try await net.createMint(decimals: 6, program: program)
        let source = try await net.createATA(owner: payerKey, mint: mint)
        let destination = try await net.createATA(owner: SolanaPublicKey(treasury.publicKey), mint: mint)
        #expect(source == (try SolanaPublicKey.associatedTokenAddress(wallet: payerKey, mint: mint, tokenProgram: program)))
        try await net.mint(mint, to: source, amount: UInt64.max / 2)

        let approve = try await net.send([TokenInstruction.approve(program: program, source: source, delegate: delegateKey, owner: payerKey, amount: 50_000_000)], signers: [payer])
        #expect(try await events(net, approve) == [TokenEvent(kind: .approve, program: program, source: source, counterparty: delegateKey,
                                                                authority: payerKey, mint: mint, amount: 50_000_000, decimals: nil, outerIndex: 0, innerIndex: nil)])
        var state = try await net.tokenAccount(source)
        #expect(state.delegate == delegateKey && state.delegatedAmount == 50_000_000)

        let pull = try await net.send([TokenInstruction.transferChecked(program: program, source: source, mint: mint, destination: destination,
                                                                        owner: delegateKey, amount: 20_000_000, decimals: 6)], signers: [delegate])
        #expect(try await events(net, pull) == [TokenEvent(kind: .transfer, program: program, source: source, counterparty: destination,
                                                             authority: delegateKey, mint: mint, amount: 20_000_000, decimals: 6, outerIndex: 0, innerIndex: nil)])
        state = try await net.tokenAccount(source)
        #expect(state.delegatedAmount == 30_000_000)
        #expect(state.amount == UInt64.max / 2 - 20_000_000)

        // Over the delegated amount: recorded as failed (skipPreflight), and it changes nothing.
        let overdraw = try await net.send([TokenInstruction.transferChecked(program: program, source: source, mint: mint, destination: destination,
                                                                            owner: delegateKey, amount: 30_000_001, decimals: 6)],
                                          signers: [delegate], skipPreflight: true)
        let failed = try #require(try await net.node.transaction(overdraw))
        #expect(failed.failed)
        #expect(TokenEvent.decode(failed).isEmpty)
        #expect(try await net.tokenAccount(source).delegatedAmount == 30_000_000)

        let revoke = try await net.send([TokenInstruction.revoke(program: program, source: source, owner: payerKey)], signers: [payer])
        #expect(try await events(net, revoke).map(\.kind) == [.revoke])
        state = try await net.tokenAccount(source)
        #expect(state.delegate == nil && state.delegatedAmount == 0)

        // History of the token account, newest first, paged with before/until.
        let all = try await net.node.signatures(for: source)
        #expect(Array(all.prefix(4).map(\.signature)) == [revoke, overdraw, pull, approve])
        #expect(all[1].failed)
        let page = try await net.node.signatures(for: source, before: pull, limit: 1)
        #expect(page.map(\.signature) == [approve])
        let newer = try await net.node.signatures(for: source, until: pull)
        #expect(newer.map(\.signature) == [revoke, overdraw])

        // The delegate's view.
        #expect(try await net.node.tokenAccounts(by: .delegate, delegateKey, program: program).isEmpty)
    }

    @Test("a v0 transaction with a lookup table: loaded addresses resolve the instruction's accounts")
    func versionedTransaction() async throws {
        let net = try await sharedTestnet.value
        let keys = try await net.keypairs(2)
        let (payer, treasury) = (keys[0], keys[1])
        let payerKey = SolanaPublicKey(payer.publicKey)
        let mint = try await net.createMint()
        let source = try await net.createATA(owner: payerKey, mint: mint)
        let destination = try await net.createATA(owner: SolanaPublicKey(treasury.publicKey), mint: mint)
        try await net.mint(mint, to: source, amount: 1_000)
        let table = try await net.lookupTable([destination, mint])
        let signature = try await net.sendV0(
            [TokenInstruction.transferChecked(source: source, mint: mint, destination: destination, owner: payerKey, amount: 7, decimals: 6)],
            tables: [AddressLookupTableAccount(key: table, addresses: [destination, mint])], signers: [payer])
        let transaction = try #require(try await net.node.transaction(signature))
        #expect(transaction.accountKeys.contains(destination))
        let events = TokenEvent.decode(transaction)
        #expect(events.count == 1)
        #expect(events.first?.counterparty == destination && events.first?.mint == mint && events.first?.amount == 7)
    }

    @Test("inner (CPI) instructions are resolved in execution order")
    func innerInstructions() async throws {
        let net = try await sharedTestnet.value
        let owner = SolanaPublicKey(try await net.keypairs(1)[0].publicKey)
        let mint = try await net.createMint()
        let account = try await net.createATA(owner: owner, mint: mint)  // ATA CreateIdempotent CPIs into SPL Token
        let history = try await net.node.signatures(for: account)
        let first = try #require(history.last)
        let transaction = try #require(try await net.node.transaction(first.signature))
        let inner = transaction.instructions.filter { $0.innerIndex != nil }
        #expect(inner.contains { $0.programID == .tokenProgram })
        #expect(inner.allSatisfy { $0.outerIndex < transaction.instructions.filter { $0.innerIndex == nil }.count })
    }

    @Test("simulateTransaction reports the failure of an over-limit pull without landing it; getAccountInfo reads one account")
    func simulate() async throws {
        let net = try await sharedTestnet.value
        let keys = try await net.keypairs(2)
        let owner = SolanaPublicKey(keys[0].publicKey)
        let mint = try await net.createMint()
        let source = try await net.createATA(owner: owner, mint: mint)
        let destination = try await net.createATA(owner: SolanaPublicKey(keys[1].publicKey), mint: mint)
        try await net.mint(mint, to: source, amount: 5)
        let blockhash = try await net.node.latestBlockhash().blockhash
        func wire(_ amount: UInt64) throws -> [UInt8] {
            let message = try LegacyMessage(
                instructions: [TokenInstruction.transferChecked(source: source, mint: mint, destination: destination, owner: owner, amount: amount, decimals: 6)],
                payer: owner, recentBlockhash: blockhash)
            return try SolanaTransaction(message: .legacy(message), signers: [keys[0]]).serialized()
        }
        let bad = try await net.node.simulate(try wire(6))
        #expect(bad.failed && !bad.logs.isEmpty)
        let good = try await net.node.simulate(try wire(5))
        #expect(!good.failed && (good.unitsConsumed ?? 0) > 0)
        #expect(try await net.tokenAccount(source).amount == 5)  // nothing landed
        let account = try #require(try await net.node.account(source))
        let decoded = try TokenAccount(data: account.data)
        #expect(account.owner == .tokenProgram && decoded.mint == mint)
        #expect(try await net.node.account(SolanaPublicKey(keys[1].publicKey))?.owner == .systemProgram)
    }

    @Test("exact u64 numbers, finalized lag and blockhashes")
    func chainViews() async throws {
        let net = try await sharedTestnet.value
        let confirmed = try await net.node.slot(.confirmed)
        let finalized = try await net.node.slot(.finalized)
        #expect(finalized <= confirmed)
        let (_, lastValid) = try await net.node.latestBlockhash()
        #expect(lastValid >= (try await net.node.blockHeight()))
        #expect(try await net.node.transaction(SolanaSignature(rawValue: Bytes64(first: .zero, second: .zero))) == nil)
    }
}

@Suite("A token transfer made through CPI", .serialized)
struct SolanaCPITests {
    @Test("ATA RecoverNested moves tokens with an inner TransferChecked: decoded as a transfer from the inner instruction")
    func recoverNested() async throws {
        let net = try await sharedTestnet.value
        let wallet = try await net.keypairs(1)[0]
        let walletKey = SolanaPublicKey(wallet.publicKey)
        let ownerMint = try await net.createMint()
        let nestedMint = try await net.createMint()
        let ownerATA = try await net.createATA(owner: walletKey, mint: ownerMint)
        let nested = try await net.createATA(owner: ownerATA, mint: nestedMint)  // an ATA owned by an ATA: stuck tokens
        let destination = try await net.createATA(owner: walletKey, mint: nestedMint)
        try await net.mint(nestedMint, to: nested, amount: 4_321)
        // Associated Token Account program, instruction 2 (RecoverNested).
        let recover = SolanaInstruction(
            programID: .associatedTokenProgram,
            accounts: [.writable(nested), .readonly(nestedMint), .writable(destination), .readonly(ownerATA), .readonly(ownerMint),
                       .writable(walletKey, signer: true), .readonly(.tokenProgram)],
            data: [2])
        let signature = try await net.send([recover], signers: [wallet])
        let transaction = try #require(try await net.node.transaction(signature))
        let events = TokenEvent.decode(transaction)
        let transfer = try #require(events.first { $0.kind == .transfer })
        #expect(transfer.innerIndex != nil && transfer.outerIndex == 0)
        #expect(transfer.source == nested && transfer.counterparty == destination && transfer.authority == ownerATA)
        #expect(transfer.amount == 4_321 && transfer.mint == nestedMint)
        #expect(try await net.tokenAccount(destination).amount == 4_321)

        // The indexer, following the wallet's accounts, records the CPI transfer into its account.
        let config = try SolanaChainConfig.parse("""
            family = "solana"
            rpc_urls = ["\(net.peer.url("/"))"]
            [[tokens]]
            symbol = "NEST"
            mint = "\(nestedMint)"
            decimals = 6
            [index]
            owners = ["\(walletKey)"]
            """, file: "cpi.toml")
        let store = SQLiteSolanaIndexStore(database: try Database(path: try temporaryDirectory("settle-cpi").appendingPathComponent("db").path))
        try await store.migrate()
        let indexer = SolanaChainIndexer(config: config, node: net.node, store: store, delegates: [], logger: Logger(label: "cpi"))
        #expect(try await indexer.indexOnce().stateMismatches == 0)
        let chain = try await indexer.prepare()
        let indexed = try await store.events(chain: chain).filter { $0.signature == signature }
        #expect(indexed.map(\.event) == events)
        #expect(try await store.states(chain: chain, owner: walletKey).first { $0.account == destination }?.amount == 4_321)
    }
}
