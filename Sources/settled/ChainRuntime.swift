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
import Transport

/// One configured chain, ready to execute charges: its executor (with the key loaded), a live capacity reader and
/// its rates.
struct ChainRuntime {
    let name: String
    let executor: any ChargeExecutor
    let capacity: any CapacityReader
    let rates: [(token: String, currency: String, rate: ExchangeRate)]

    static func make(_ any: AnyChainConfig, ledger: Ledger, http: HTTPClient, logger: Logger) async throws -> ChainRuntime {
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
            return ChainRuntime(name: config.name, executor: executor,
                                capacity: EVMCapacityReader(config: config, node: node, spender: EVMAddress(publicKey: key.publicKey)),
                                rates: config.rates)
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
            return ChainRuntime(name: config.name, executor: executor,
                                capacity: SolanaCapacityReader(config: config, node: node, delegate: SolanaPublicKey(key.publicKey)),
                                rates: config.rates)
        }
    }

    /// The billing view of these chains: names, tokens and wallet syntax per family.
    static func catalog(_ configs: [AnyChainConfig]) -> ChainCatalog {
        var tokens: [String: [String: Int]] = [:]
        var families: [String: Bool] = [:]  // name → isEVM
        for config in configs {
            let (name, symbols, isEVM) = switch config {
            case .evm(let c): (c.name, c.tokens.map { ($0.symbol.uppercased(), $0.decimals) }, true)
            case .solana(let c): (c.name, c.tokens.map { ($0.symbol.uppercased(), $0.decimals) }, false)
            }
            tokens[name] = Dictionary(symbols, uniquingKeysWith: { first, _ in first })
            families[name] = isEVM
        }
        let evm = families
        return ChainCatalog(tokens: tokens) { chain, wallet in
            switch evm[chain] {
            case true?: return (try? EVMAddress(hex: wallet))?.checksummed
            case false?: return (try? SolanaPublicKey(base58: wallet))?.description
            case nil: return nil
            }
        }
    }
}
