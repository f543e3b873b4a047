import API
import ArgumentParser
import Billing
import ChainAdapters
import EVM
import EVMIndexer
import Logging
import SettleConfiguration
import SettleCore
import Settlement
import Signing
import Solana
import SolanaIndexer
import Store
import Transport

/// One configured chain, ready to execute charges: its executor (with the key loaded), a live capacity reader and
/// its rates; and for `settled serve`, its poller (one pass to the head) and the API's view of it.
struct ChainRuntime {
    let name: String
    let family: String
    let executor: any ChargeExecutor
    let capacity: any CapacityReader
    let rates: [(token: String, currency: String, rate: ExchangeRate)]
    let view: any ChainView
    let pollInterval: Duration
    /// Indexes to the head once; returns the head and the last indexed block (or slot).
    let indexPass: @Sendable () async throws -> (head: UInt64, indexed: UInt64)

    static func make(_ any: AnyChainConfig, ledger: Ledger, database: Database, http: HTTPClient, logger: Logger) async throws -> ChainRuntime {
        switch any {
        case .evm(let config):
            guard let reference = config.signerKey, let treasury = config.treasury else {
                throw ValidationError("\(config.file): [signer] key and treasury are needed to execute charges")
            }
            let key: Secp256k1PrivateKey
            do { key = try KeyLoader.secp256k1(from: reference) } catch { throw ValidationError("\(config.file): signer.key: \(error.message)") }
            let node = EVMNode(rpc: JSONRPCClient(endpoints: config.rpc.map { RPCEndpoint(url: $0.url, label: $0.label) }, http: http))
            let executor = EVMExecutor(config: config, node: node, ledger: ledger, key: key, treasury: treasury, logger: logger)
            await executor.setRetrySeconds(config.retrySeconds)
            let spender = EVMAddress(publicKey: key.publicKey)
            let store = SQLiteEVMIndexStore(database: database)
            try await store.migrate()
            let indexer = EVMChainIndexer(config: config, node: node, store: store, spenders: [spender], logger: logger)
            return ChainRuntime(name: config.name, family: "evm", executor: executor,
                                capacity: EVMCapacityReader(config: config, node: node, spender: spender),
                                rates: config.rates, view: EVMChainView(config: config, store: store, node: node, spender: spender),
                                pollInterval: config.pollInterval) {
                let chain = try await indexer.prepare()
                try await indexer.indexToHead()
                let cursor = try await store.cursor(chain: chain.id)
                return (cursor.headBlock ?? cursor.lastIndexedBlock, cursor.lastIndexedBlock)
            }
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
            let node = SolanaNode(rpc: JSONRPCClient(endpoints: config.rpc.map { RPCEndpoint(url: $0.url, label: $0.label) }, http: http))
            let executor = SolanaExecutor(config: config, node: node, ledger: ledger, key: key, treasury: treasury, feePayer: feePayer, logger: logger)
            await executor.setRetrySeconds(config.retrySeconds)
            let delegate = SolanaPublicKey(key.publicKey)
            let store = SQLiteSolanaIndexStore(database: database)
            try await store.migrate()
            let indexer = SolanaChainIndexer(config: config, node: node, store: store, delegates: [delegate], logger: logger)
            return ChainRuntime(name: config.name, family: "solana", executor: executor,
                                capacity: SolanaCapacityReader(config: config, node: node, delegate: delegate),
                                rates: config.rates, view: SolanaChainView(config: config, store: store, node: node, delegate: delegate),
                                pollInterval: config.pollInterval) {
                // A pass indexes every signature up to its start: the slot before it is what the index covers.
                let start = try await node.slot(.confirmed)
                _ = try await indexer.indexOnce()
                return (try await node.slot(.confirmed), start)
            }
        }
    }

    /// The billing view of these chains: names, tokens and wallet syntax per family.
    static func catalog(_ configs: [AnyChainConfig]) -> ChainCatalog {
        var tokens: [String: [String: Int]] = [:]
        var assets: [String: [String: String]] = [:]
        var treasuries: [String: String] = [:]
        var families: [String: Bool] = [:]  // name → isEVM
        for config in configs {
            let (name, symbols, isEVM) = switch config {
            case .evm(let c): (c.name, c.tokens.map { ($0.symbol.uppercased(), $0.decimals) }, true)
            case .solana(let c): (c.name, c.tokens.map { ($0.symbol.uppercased(), $0.decimals) }, false)
            }
            switch config {
            case .evm(let c):
                assets[c.name] = Dictionary(c.tokens.map { ($0.symbol.uppercased(), $0.address.checksummed) }, uniquingKeysWith: { first, _ in first })
                treasuries[c.name] = c.treasury?.checksummed
            case .solana(let c):
                assets[c.name] = Dictionary(c.tokens.map { ($0.symbol.uppercased(), $0.mint.description) }, uniquingKeysWith: { first, _ in first })
                treasuries[c.name] = c.treasury?.description
            }
            tokens[name] = Dictionary(symbols, uniquingKeysWith: { first, _ in first })
            families[name] = isEVM
        }
        let evm = families
        return ChainCatalog(tokens: tokens, assets: assets, treasuries: treasuries) { chain, wallet in
            switch evm[chain] {
            case true?: return (try? EVMAddress(hex: wallet))?.checksummed
            case false?: return (try? SolanaPublicKey(base58: wallet))?.description
            case nil: return nil
            }
        }
    }
}
