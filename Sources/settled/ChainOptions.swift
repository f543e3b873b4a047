import ArgumentParser
import SettleConfiguration
import EVM
import EVMIndexer
import Foundation
import SettleRuntime
import Logging
import Signing
import Store
import Synchronization
import Transport

/// `--database` (a SQLite path or a `postgres://` URL) and `--database-password`, for every command that opens the
/// database itself.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("SQLite database file (created if missing), or a postgres://USER@HOST:PORT/DB URL (default: $SETTLE_DATABASE, else settle.sqlite).", valueName: "path-or-url"))
    var database: String = ProcessInfo.processInfo.environment["SETTLE_DATABASE"] ?? "settle.sqlite"

    @Option(name: .long, help: ArgumentHelp("The PostgreSQL password as a reference, env:NAME or file:PATH (default: $SETTLE_DATABASE_PASSWORD).", valueName: "reference"))
    var databasePassword: String? = ProcessInfo.processInfo.environment["SETTLE_DATABASE_PASSWORD"]

    /// The database these name; a bad URL or password reference is a usage error naming the option.
    func open(logger: Logger) throws -> any SQLStore {
        do { return try SettleDatabase.open(argument: database, password: databasePassword, logger: logger) } catch let error as RuntimeError {
            throw ValidationError(error.message)
        }
    }
}

/// Options every chain command shares.
struct ChainOptions: ParsableArguments {
    @Option(name: .long, help: "Chain name: the file chains/NAME.toml (ethereum, base, polygon, arbitrum, optimism, bnb, devnet, solana, solana-devnet).")
    var chain: String

    @Option(name: .long, help: "Directory of chain files.")
    var chainsDirectory: String = "chains"

    @OptionGroup var storage: DatabaseOptions

    /// `--database` as given.
    var database: String { storage.database }

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func loadChain() throws -> ChainConfig {
        switch try loadAnyChain() {
        case .evm(let config): return config
        case .solana: throw ValidationError("\(chain) is a Solana chain; this command handles EVM chains")
        }
    }

    func loadAnyChain() throws -> AnyChainConfig {
        do {
            return try AnyChainConfig.load(named: chain, in: chainsDirectory)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The database `--database` names (SQLite or PostgreSQL).
    func openDatabase(logger: Logger) throws -> any SQLStore {
        try storage.open(logger: logger)
    }

    func makeLogger() -> Logger {
        LoggingBootstrap.once(level: logLevel)
        var logger = Logger(label: "settled")
        logger.logLevel = logLevel
        return logger
    }

    /// Opens the store, migrates it, and builds an indexer for the chain.
    func makeIndexer(extraSpenders: [String], logger: Logger) async throws -> (EVMChainIndexer, HTTPClient, any SQLStore) {
        let config = try loadChain()
        var spenders: [EVMAddress] = []
        for text in extraSpenders {
            do { spenders.append(try EVMAddress(hex: text)) } catch {
                throw ValidationError("--spender \(text): \(error.message)")
            }
        }
        if spenders.isEmpty && config.spenders.isEmpty && config.indexMode == .scoped, let reference = config.signerKey {
            do {
                spenders.append(EVMAddress(publicKey: try KeyLoader.secp256k1(from: reference).publicKey))
            } catch {
                throw ValidationError("\(config.file): signer.key: \(error.message) (or pass --spender ADDRESS to index without the key)")
            }
        }
        let database = try openDatabase(logger: logger)
        let store = try SettleDatabase.evmIndex(database)
        try await store.migrate()
        let http = HTTPClient()
        let rpc = JSONRPCClient(endpoints: config.rpc.map { RPCEndpoint(url: $0.url, label: $0.label) }, http: http)
        let indexer = EVMChainIndexer(config: config, node: EVMNode(rpc: rpc), store: store, spenders: spenders, logger: logger)
        return (indexer, http, database)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension DaemonConfig.LogFormat: ExpressibleByArgument {}

/// Bootstraps swift-log once per process: text lines (swift-log's stream handler) or JSON lines on standard error.
enum LoggingBootstrap {
    private static let format = Mutex<DaemonConfig.LogFormat?>(nil)

    static func once(level: Logger.Level = .info, format wanted: DaemonConfig.LogFormat = .text) {
        let first = format.withLock { current -> Bool in
            guard current == nil else { return false }
            current = wanted
            return true
        }
        guard first else { return }
        switch wanted {
        case .text: LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
        case .json: LoggingSystem.bootstrap { label in JSONLogHandler(label: label) }
        }
    }
}
