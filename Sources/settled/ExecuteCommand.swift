import ArgumentParser
import ChainAdapters
import SettleConfiguration
import EVM
import EVMIndexer
import Foundation
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
        let ledger = Ledger(database: try Database(path: options.database))
        try await ledger.migrate()
        let http = HTTPClient()
        defer { http.shutdown() }
        let executor: any ChargeExecutor
        let name: String
        switch try options.loadAnyChain() {
        case .evm(let config):
            guard let reference = config.signerKey, let treasury = config.treasury else {
                throw ValidationError("\(config.file): [signer] key and treasury are needed to execute charges")
            }
            let key: Secp256k1PrivateKey
            do { key = try KeyLoader.secp256k1(from: reference) } catch { throw ValidationError("\(config.file): signer.key: \(error.message)") }
            let rpc = JSONRPCClient(endpoints: config.rpc.map { RPCEndpoint(url: $0.url, label: $0.label) }, http: http)
            let evm = EVMExecutor(config: config, node: EVMNode(rpc: rpc), ledger: ledger, key: key, treasury: treasury, logger: logger)
            await evm.setRetrySeconds(config.retrySeconds)
            executor = evm
            name = config.name
        case .solana(let config):
            guard let reference = config.signerKey, let treasury = config.treasury else {
                throw ValidationError("\(config.file): [signer] key and treasury are needed to execute charges")
            }
            let key: Ed25519PrivateKey
            do { key = try KeyLoader.ed25519(from: reference) } catch { throw ValidationError("\(config.file): signer.key: \(error.message)") }
            var feePayer: Ed25519PrivateKey?
            if let reference = config.feePayerKey {
                do { feePayer = try KeyLoader.ed25519(from: reference) } catch { throw ValidationError("\(config.file): signer.fee_payer: \(error.message)") }
            }
            let rpc = JSONRPCClient(endpoints: config.rpc.map { RPCEndpoint(url: $0.url, label: $0.label) }, http: http)
            let solana = SolanaExecutor(config: config, node: SolanaNode(rpc: rpc), ledger: ledger, key: key, treasury: treasury,
                                        feePayer: feePayer, logger: logger)
            await solana.setRetrySeconds(config.retrySeconds)
            executor = solana
            name = config.name
        }
        let loop = SettlementLoop(ledger: ledger, chain: name, executor: executor)
        repeat {
            let report = try await loop.runOnce()
            logger.info("pass", metadata: ["chain": "\(name)", "executed": "\(report.executed)", "failed": "\(report.failed)"])
            if once { break }
            try await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
        } while !Task.isCancelled
    }
}
