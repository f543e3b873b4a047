import API
import ArgumentParser
import Billing
import Foundation
import Leases
import Logging
import SettleConfiguration
import SettleCore
import Settlement
import Signing
import Store
import Transport

/// Options of the commands that run on the main configuration.
struct DaemonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Main configuration file (see README: database, chains, [stripe], [dunning], [merchant], [server]).", valueName: "path"))
    var config: String = ProcessInfo.processInfo.environment["SETTLE_CONFIG"] ?? "settle.toml"

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (default: [log] level, else info).")
    var logLevel: Logger.Level?

    @Option(name: .long, help: "Log format: text (lines for people) or json (one object per line, for log shippers); default [log] format or $SETTLE_LOG_FORMAT.")
    var logFormat: DaemonConfig.LogFormat?

    func load() throws -> DaemonConfig {
        do { return try DaemonConfig.load(path: config) } catch { throw ValidationError(error.description) }
    }

    /// The logger, in the format and level the command line, the environment or the configuration ask for.
    func makeLogger(_ config: DaemonConfig? = nil) -> Logger {
        let level = logLevel ?? config?.logLevel.flatMap(Logger.Level.init(rawValue:)) ?? .info
        let format = logFormat ?? config?.logFormat
            ?? ProcessInfo.processInfo.environment["SETTLE_LOG_FORMAT"].flatMap(DaemonConfig.LogFormat.init(rawValue:)) ?? .text
        LoggingBootstrap.once(format: format)
        var logger = Logger(label: "settled")
        logger.logLevel = level
        return logger
    }
}

/// Everything the billing side runs, built from the main configuration: the ledger, Stripe, the chains' executors,
/// dunning and the merchant outbox.
struct BillingRuntime {
    let config: DaemonConfig
    let ledger: Ledger
    let outbox: Outbox
    let store: BillingStore
    let ingestor: InvoiceIngestor
    let processor: StripeEventProcessor
    let poller: StripePoller
    let reporter: StripeReporter
    let dunning: Dunning
    let deliverer: OutboxDeliverer?
    let loops: [String: SettlementLoop]
    let chains: [ChainRuntime]
    /// The chain files as loaded (for the `env:` names to remove from the environment once everything is read).
    let chainConfigs: [AnyChainConfig]
    let webhookSecrets: [String]
    let http: HTTPClient
    let logger: Logger
    /// The database everything above is on (SQLite or PostgreSQL), and its leases.
    let database: any SQLStore
    let leases: any LeaseStore

    /// Opens the configured database: a SQLite file, or a PostgreSQL pool (the password read from its reference).
    static func openDatabase(_ config: DaemonConfig, logger: Logger) async throws -> (any SQLStore, any LeaseStore) {
        let location: DatabaseLocation
        do { location = try config.databaseLocation } catch { throw ValidationError(error.description) }
        switch location {
        case .sqlite(let path):
            let database = try Database(path: path)
            return (database, try await SQLiteLeaseStore(database: database))
        case .postgres(let place):
            var password: String?
            if let reference = config.databasePassword {
                do { password = try KeyLoader.secretText(from: reference) } catch { throw ValidationError("\(config.file): database.password: \(error.message)") }
            }
            // A transaction left idle as long as a lease belongs to a paused or cut-off daemon: the server rolls it back, so
            // its locks (lease rows, the inbox's advisory lock) do not stop the other daemons from taking its work over.
            let pool = PostgresPool(place, password: password, logger: logger, idleInTransactionTimeout: .seconds(Int64(clamping: config.leaseSeconds)))
            return (pool, try await PostgresLeaseStore(database: pool))
        }
    }

    static func make(_ config: DaemonConfig, logger: Logger) async throws -> BillingRuntime {
        let (database, leases) = try await openDatabase(config, logger: logger)
        // Migrations in this order: the notifier's migration reads the ledger's history table.
        let ledger = Ledger(database: database)
        try await ledger.migrate()
        let outbox = Outbox(database: database)
        try await outbox.migrate()
        let store = BillingStore(database: database)
        try await store.migrate()
        let http = HTTPClient()
        guard let keyReference = config.stripe.apiKey else { throw ValidationError("\(config.file): stripe.api_key is needed (env:NAME or file:PATH)") }
        let apiKey: String
        do { apiKey = try KeyLoader.secretText(from: keyReference) } catch { throw ValidationError("\(config.file): stripe.api_key: \(error.message)") }
        var secrets: [String] = []
        for reference in config.stripe.webhookSecrets {
            do { secrets.append(try KeyLoader.secretText(from: reference)) } catch {
                throw ValidationError("\(config.file): stripe.webhook_secrets: \(error.message)")
            }
        }
        let stripe = StripeClient(baseURL: config.stripe.baseURL, apiKey: apiKey, version: config.stripe.apiVersion ?? StripeClient.pinnedVersion, http: http)
        var chainConfigs: [AnyChainConfig] = []
        var loops: [String: SettlementLoop] = [:]
        var capacity: [String: any CapacityReader] = [:]
        var rates: [(token: String, currency: String, rate: ExchangeRate)] = []
        var chains: [ChainRuntime] = []
        for name in config.chains {
            let any: AnyChainConfig
            do { any = try AnyChainConfig.load(named: name, in: config.chainsDirectory) } catch { throw ValidationError(error.description) }
            chainConfigs.append(any)
            let chain = try await ChainRuntime.make(any, ledger: ledger, database: database, http: http, logger: logger)
            chains.append(chain)
            capacity[chain.name] = chain.capacity
            rates += chain.rates
        }
        let policy = BillingPolicy(markPaid: BillingPolicy.MarkPaid(rawValue: config.stripe.markPaid) ?? .paidOutOfBand,
                                   minimumAmount: config.stripe.minimumAmount, markUncollectible: config.stripe.markUncollectible,
                                   warnAhead: config.stripe.warnAhead)
        let ingestor = InvoiceIngestor(ledger: ledger, store: store, stripe: stripe, catalog: ChainRuntime.catalog(chainConfigs),
                                       rates: StaticRateProvider(rates: rates), capacity: capacity, policy: policy, logger: logger)
        // Every signature waits for Stripe's word on the invoice, read again just before (StripeGate).
        let gate = StripeGate(ingestor: ingestor, logger: logger)
        for chain in chains { loops[chain.name] = SettlementLoop(ledger: ledger, chain: chain.name, executor: chain.executor, gate: gate) }
        var deliverer: OutboxDeliverer?
        if let url = config.merchant.webhookURL, let reference = config.merchant.webhookSecret {
            let secret: String
            do { secret = try KeyLoader.secretText(from: reference) } catch { throw ValidationError("\(config.file): merchant.webhook_secret: \(error.message)") }
            deliverer = OutboxDeliverer(outbox: outbox, poster: MerchantWebhookPoster(url: url, secret: secret, http: http),
                                        policy: DeliveryPolicy(retrySeconds: config.merchant.retrySeconds, giveUpAfter: config.merchant.giveUpAfter))
        }
        return BillingRuntime(
            config: config, ledger: ledger, outbox: outbox, store: store, ingestor: ingestor,
            processor: StripeEventProcessor(store: store, ingestor: ingestor, allowances: ViewAllowanceWatch(chains: chains.map(\.view))),
            poller: StripePoller(ingestor: ingestor),
            reporter: StripeReporter(ledger: ledger, store: store, stripe: stripe, policy: policy, logger: logger),
            dunning: Dunning(ledger: ledger, policy: DunningPolicy(missedAfter: config.dunning.missedAfter, lateAfter: config.dunning.lateAfter,
                                                                  uncollectibleAfter: config.dunning.uncollectibleAfter)),
            deliverer: deliverer, loops: loops, chains: chains, chainConfigs: chainConfigs, webhookSecrets: secrets, http: http, logger: logger,
            database: database, leases: leases)
    }

    /// An operator's retry of one invoice (`settled retry`, `POST /v1/charges/{invoice}/retry`).
    var manualRetry: ManualRetry { ManualRetry(ledger: ledger, store: store, ingestor: ingestor, logger: logger) }

    /// Runs one part of a pass; a failure is logged and the other parts still run.
    func step(_ name: String, _ body: () async throws -> Void) async {
        do { try await body() } catch { logger.warning("\(name) pass failed; retried next pass", metadata: ["error": "\(error)"]) }
    }

    /// The settlement loop of the chain a charge is pinned to.
    func loop(for charge: Charge) async throws -> SettlementLoop {
        guard let loop = loops[charge.terms.chain] else {
            throw ValidationError("the charge of \(charge.invoice) is on chain \(charge.terms.chain), which \(config.file) does not list in chains")
        }
        return loop
    }
}

func unixNow() -> UInt64 { UInt64(Date().timeIntervalSince1970) }
