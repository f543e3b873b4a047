import ArgumentParser
import ChainAdapters
import SettleConfiguration
import EVM
import EVMIndexer
import Foundation
import SettleRuntime
import Logging
import Settlement
import Signing
import Solana
import SolanaIndexer
import Store
import Transport

struct ExecuteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "execute",
        abstract: "Pull due charges on one chain: preflight, sign, persist, broadcast, follow to finality, settle.",
        discussion: """
            Each pass first re-sends any attempt that was persisted but maybe never sent and follows every sent one, \
            then moves charges that are due (or whose retry time came) to `due` and executes them. A charge is \
            charged at most once: its signed transaction is written to the ledger before it is broadcast, and a new \
            one is signed only when the previous is provably dead. The key is the chain file's [signer] key (a \
            file: or env: reference), payments go to [signer] treasury.
            """)

    @OptionGroup var options: ChainOptions

    @Flag(help: "Run one pass, then exit.")
    var once = false

    @Option(help: "Seconds between passes.")
    var interval: Double = 5

    func run() async throws {
        let logger = options.makeLogger()
        let database = try options.openDatabase(logger: logger)
        // One signer per chain: on SQLite the file's lock, on PostgreSQL the chain's signing lease (as `serve` takes it).
        let lock = database.backend == .sqlite ? try DatabaseLock(databasePath: options.database) : nil
        defer { withExtendedLifetime(lock) {} }
        let ledger = Ledger(database: database)
        try await ledger.migrate()
        let http = HTTPClient()
        defer { http.shutdown() }
        let any = try options.loadAnyChain()
        let chain = try await ChainRuntime.make(any, ledger: ledger, database: database, http: http, logger: logger)
        // The key and RPC URLs are loaded: `env:` ones leave the environment.
        switch any {
        case .evm(let c): SecretEnvironment.scrub(Set(c.secretEnvironment))
        case .solana(let c): SecretEnvironment.scrub(Set(c.secretEnvironment))
        }
        let name = chain.name
        let lease = try await CommandLease.take("settle \(name)", on: database)
        await chain.holdExecutor(lease?.lease)
        let loop = SettlementLoop(ledger: ledger, chain: name, executor: chain.executor)
        repeat {
            let report = try await loop.runOnce()
            logger.info("pass", metadata: ["chain": "\(name)", "executed": "\(report.executed)", "failed": "\(report.failed)"])
            if once { break }
            try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
        } while !Task.isCancelled
        await lease?.release()
    }
}
