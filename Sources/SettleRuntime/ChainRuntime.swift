import API
import Billing
import ChainAdapters
import EVM
import EVMIndexer
import Leases
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
public struct ChainRuntime: Sendable {
    public let name: String
    public let family: String
    public let executor: any ChargeExecutor
    public let capacity: any CapacityReader
    public let rates: [(token: String, currency: String, rate: ExchangeRate)]
    public let view: any ChainView
    public let pollInterval: Duration
    /// Indexes to the head once, under the chain's index lease (`lead`), or only reads where the index stands
    /// (`standby`: another daemon holds the lease); returns the head and the last indexed block (or slot).
    public let indexPass: @Sendable (IndexTurn) async throws -> (head: UInt64, indexed: UInt64)
    /// The executor signs under this lease from now on (`settled serve` takes one per chain).
    public let holdExecutor: @Sendable (Lease?) async -> Void

    /// Whether this daemon indexes the chain in a pass.
    public enum IndexTurn: Sendable {
        /// Index, with every commit fenced by the lease (nil: unfenced, a single daemon).
        case lead(Lease?)
        /// Another daemon indexes: read the position only.
        case standby
    }

    public static func make(_ any: AnyChainConfig, ledger: Ledger, database: any SQLStore, http: HTTPClient, logger: Logger,
                            options: RuntimeOptions = RuntimeOptions()) async throws -> ChainRuntime {
        switch any {
        case .evm(let config):
            guard let reference = config.signerKey, let treasury = config.treasury else {
                throw RuntimeError("\(config.file): [signer] key and treasury are needed to execute charges")
            }
            let key: Secp256k1PrivateKey
            do { key = try KeyLoader.secp256k1(from: reference) } catch { throw RuntimeError("\(config.file): signer.key: \(error.message)") }
            let node = EVMNode(rpc: JSONRPCClient(endpoints: config.rpc.map { RPCEndpoint(url: $0.url, label: $0.label) }, http: http,
                                                   retry: options.rpcRetry ?? RetryPolicy()))
            let executor = EVMExecutor(config: config, node: node, ledger: ledger, key: key, treasury: treasury, logger: logger)
            await executor.setRetrySeconds(config.retrySeconds)
            let spender = EVMAddress(publicKey: key.publicKey)
            let store = try SettleDatabase.evmIndex(database)
            try await store.migrate()
            let indexer = EVMChainIndexer(config: config, node: node, store: store, spenders: [spender], logger: logger)
            return ChainRuntime(name: config.name, family: "evm", executor: executor,
                                capacity: EVMCapacityReader(config: config, node: node, spender: spender),
                                rates: config.rates, view: EVMChainView(config: config, store: store, node: node, spender: spender),
                                pollInterval: config.pollInterval, indexPass: { turn in
                let chain = try await indexer.prepare()
                if case .lead(let lease) = turn {
                    await indexer.hold(lease)
                    try await indexer.indexToHead()
                }
                let cursor = try await store.cursor(chain: chain.id)
                return (cursor.headBlock ?? cursor.lastIndexedBlock, cursor.lastIndexedBlock)
            }, holdExecutor: { await executor.hold($0) })
        case .solana(let config):
            guard let reference = config.signerKey, let treasury = config.treasury else {
                throw RuntimeError("\(config.file): [signer] key and treasury are needed to execute charges")
            }
            let key: Ed25519PrivateKey
            do { key = try KeyLoader.ed25519(from: reference) } catch { throw RuntimeError("\(config.file): signer.key: \(error.message)") }
            var feePayer: Ed25519PrivateKey?
            if let reference = config.feePayerKey {
                do { feePayer = try KeyLoader.ed25519(from: reference) } catch { throw RuntimeError("\(config.file): signer.fee_payer: \(error.message)") }
            }
            let node = SolanaNode(rpc: JSONRPCClient(endpoints: config.rpc.map { RPCEndpoint(url: $0.url, label: $0.label) }, http: http,
                                                   retry: options.rpcRetry ?? RetryPolicy()))
            let executor = SolanaExecutor(config: config, node: node, ledger: ledger, key: key, treasury: treasury, feePayer: feePayer, logger: logger)
            await executor.setRetrySeconds(config.retrySeconds)
            let delegate = SolanaPublicKey(key.publicKey)
            let store = try SettleDatabase.solanaIndex(database)
            try await store.migrate()
            let indexer = SolanaChainIndexer(config: config, node: node, store: store, delegates: [delegate], logger: logger)
            return ChainRuntime(name: config.name, family: "solana", executor: executor,
                                capacity: SolanaCapacityReader(config: config, node: node, delegate: delegate),
                                rates: config.rates, view: SolanaChainView(config: config, store: store, node: node, delegate: delegate),
                                pollInterval: config.pollInterval, indexPass: { turn in
                // A pass indexes every signature up to its start: the slot before it is what the index covers. A
                // daemon standing by reports the node's slot for both (the lead daemon's /healthz shows the lag).
                let start = try await node.slot(.confirmed)
                guard case .lead(let lease) = turn else { return (start, start) }
                _ = try await indexer.indexOnce(lease: lease)
                return (try await node.slot(.confirmed), start)
            }, holdExecutor: { await executor.hold($0) })
        }
    }

    /// The billing view of these chains: names, tokens and wallet syntax per family.
    public static func catalog(_ configs: [AnyChainConfig]) -> ChainCatalog {
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
