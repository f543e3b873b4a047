import ArgumentParser
import EVMIndexer
import Foundation
import SettleRuntime

struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Index a chain's approvals and transfers into the database.",
        discussion: """
            Backfills from the chain's start_block in adaptive eth_getLogs ranges, then follows the head. Reorgs are \
            detected by parent hash and rolled back to the common ancestor. With --once it indexes to the current \
            head and exits; without, it keeps following until interrupted.

            Scoped mode (the default) keeps Approvals to your spenders and Transfers of wallets that approved them; \
            the spender comes from [signer] key, [index] spenders, or --spender.

            On Solana (family = "solana") it follows every token account delegated to the delegate key (and the other \
            token accounts of those owners): signatures newest-first down to the last indexed one, each transaction \
            fetched once at confirmed, rows marked final at finalized.

            Example: SETTLE_DEVNET_RPC_URL=http://127.0.0.1:8545 settled index --chain devnet --once --spender 0x…
            """)

    @OptionGroup var options: ChainOptions

    @Flag(help: "Index up to the current head, then exit.")
    var once = false

    @Option(name: .long, help: ArgumentHelp("A spender address to scope on (repeatable); otherwise derived from [signer] key.", valueName: "address"))
    var spender: [String] = []

    @Option(name: .long, help: ArgumentHelp("Solana: a delegate whose delegations are followed (repeatable); otherwise derived from [signer] key.", valueName: "base58"))
    var delegate: [String] = []

    func run() async throws {
        if case .solana(let config) = try options.loadAnyChain() {
            try await SolanaCommands.index(config, options: options, once: once, delegates: delegate)
            return
        }
        let logger = options.makeLogger()
        let (indexer, http, database) = try await options.makeIndexer(extraSpenders: spender, logger: logger)
        defer { http.shutdown() }
        // On PostgreSQL a daemon may index this chain: work under its lease, or not at all.
        let lease = try await CommandLease.take("index \(indexer.config.name)", on: database)
        await indexer.hold(lease?.lease)
        let cursor = try await indexer.prepare()
        let progress = ProgressLine()
        let report: @Sendable (IndexProgress) -> Void = { step in
            if let ancestor = step.reorgAncestor {
                progress.finish()
                logger.warning("reorg rolled back", metadata: ["block.number": "\(ancestor)"])
                return
            }
            progress.update(fraction: step.fraction,
                            "block \(step.toBlock)/\(step.headBlock)  +\(step.approvals) approvals  +\(step.transfers) transfers")
        }
        logger.info("indexing", metadata: ["chain": "\(indexer.config.name)", "from": "\(cursor.nextBlock)"])
        if once {
            try await indexer.indexToHead(progress: report)
        } else {
            try await indexer.run(progress: report)
        }
        progress.finish()
        await lease?.release()
        let final = try await indexer.store.cursor(chain: cursor.id)
        print("\(indexer.config.name): indexed through block \(final.lastIndexedBlock)")
    }
}
