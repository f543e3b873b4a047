import API
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

/// Everything the billing side runs, built from the main configuration: the ledger, Stripe, the chains' executors,
/// dunning and the merchant outbox.
public struct BillingRuntime: Sendable {
    public let config: DaemonConfig
    public let ledger: Ledger
    public let outbox: Outbox
    public let store: BillingStore
    public let ingestor: InvoiceIngestor
    public let processor: StripeEventProcessor
    public let poller: StripePoller
    public let reporter: StripeReporter
    public let dunning: Dunning
    public let deliverer: OutboxDeliverer?
    public let loops: [String: SettlementLoop]
    public let chains: [ChainRuntime]
    /// The chain files as loaded (for the `env:` names to remove from the environment once everything is read).
    public let chainConfigs: [AnyChainConfig]
    public let webhookSecrets: [String]
    public let http: HTTPClient
    /// The merchant's Stripe account (as configured).
    public let stripe: StripeClient
    /// Token/currency rates of every chain (configured, else the stablecoin pegs).
    public let rates: StaticRateProvider
    public let logger: Logger
    /// The database everything above is on (SQLite or PostgreSQL), and its leases.
    public let database: any SQLStore
    public let leases: any LeaseStore

    /// Opens the configured database and its leases: a SQLite file, or a PostgreSQL pool (the password read from its
    /// reference) whose sessions may idle in a transaction no longer than a lease lasts.
    public static func openDatabase(_ config: DaemonConfig, logger: Logger) async throws -> (any SQLStore, any LeaseStore) {
        let location: DatabaseLocation
        do { location = try config.databaseLocation } catch { throw RuntimeError(error.description) }
        // A transaction left idle as long as a lease belongs to a paused or cut-off daemon: the server rolls it back, so
        // its locks (lease rows, the inbox's advisory lock) do not stop the other daemons from taking its work over.
        let database = try SettleDatabase.open(location, password: config.databasePassword, logger: logger,
                                               idleInTransactionTimeout: .seconds(Int64(clamping: config.leaseSeconds)),
                                               passwordSource: "\(config.file): database.password")
        do {
            return (database, try await SettleDatabase.leases(database))
        } catch {
            SettleDatabase.close(database)
            throw error
        }
    }

    public static func make(_ config: DaemonConfig, logger: Logger, options: RuntimeOptions = RuntimeOptions()) async throws -> BillingRuntime {
        let (database, leases) = try await openDatabase(config, logger: logger)
        do {
            return try await make(config, database: database, leases: leases, logger: logger, options: options)
        } catch {
            SettleDatabase.close(database)
            throw error
        }
    }

    /// Everything on an open database (a test that needs the store before the runtime exists opens it first).
    public static func make(_ config: DaemonConfig, database: any SQLStore, leases: any LeaseStore, logger: Logger,
                            options: RuntimeOptions = RuntimeOptions()) async throws -> BillingRuntime {
        // Migrations in this order: the notifier's migration reads the ledger's history table.
        let ledger = Ledger(database: database)
        try await ledger.migrate()
        let outbox = Outbox(database: database)
        try await outbox.migrate()
        let store = BillingStore(database: database)
        try await store.migrate()
        let http = options.http ?? HTTPClient()
        // No api_key: native billing only (items and their invoices); nothing is ever sent to Stripe.
        var apiKey: String?
        if let keyReference = config.stripe.apiKey {
            do { apiKey = try KeyLoader.secretText(from: keyReference) } catch { throw RuntimeError("\(config.file): stripe.api_key: \(error.message)") }
        }
        var secrets: [String] = []
        for reference in config.stripe.webhookSecrets {
            do { secrets.append(try KeyLoader.secretText(from: reference)) } catch {
                throw RuntimeError("\(config.file): stripe.webhook_secrets: \(error.message)")
            }
        }
        let stripe = apiKey.map {
            StripeClient(baseURL: config.stripe.baseURL, apiKey: $0, version: config.stripe.apiVersion ?? StripeClient.pinnedVersion, http: http,
                         retry: options.stripeRetry ?? RetryPolicy())
        } ?? StripeClient.notConfigured(http: http)
        if apiKey == nil, !secrets.isEmpty {
            throw RuntimeError("\(config.file): stripe.webhook_secrets without stripe.api_key (Stripe's events cannot be checked against its API)")
        }
        var chainConfigs: [AnyChainConfig] = []
        var loops: [String: SettlementLoop] = [:]
        var capacity: [String: any CapacityReader] = [:]
        var rates: [(token: String, currency: String, rate: ExchangeRate)] = []
        var chains: [ChainRuntime] = []
        for name in config.chains {
            let any: AnyChainConfig
            do { any = try AnyChainConfig.load(named: name, in: config.chainsDirectory) } catch { throw RuntimeError(error.description) }
            chainConfigs.append(any)
            let chain = try await ChainRuntime.make(any, ledger: ledger, database: database, http: http, logger: logger, options: options)
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
            do { secret = try KeyLoader.secretText(from: reference) } catch { throw RuntimeError("\(config.file): merchant.webhook_secret: \(error.message)") }
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
            deliverer: deliverer, loops: loops, chains: chains, chainConfigs: chainConfigs, webhookSecrets: secrets, http: http, stripe: stripe,
            rates: StaticRateProvider(rates: rates), logger: logger,
            database: database, leases: leases)
    }

    /// Renewals of agreements on subscription items (Settle's own billing), priced like Stripe invoices.
    public var autoInvoicer: AutoInvoicer { AutoInvoicer(ledger: ledger, pricing: { [ingestor] chain in ingestor.pricing(chain: chain) }, logger: logger) }

    /// Subscribing agreements to items and issuing their invoices, priced like Stripe invoices.
    public var itemBilling: ItemBilling { ItemBilling(ledger: ledger, pricing: { [ingestor] chain in ingestor.pricing(chain: chain) }) }

    /// Marks Settle's own invoices paid once their charge settled.
    public var nativeReporter: NativeReporter { NativeReporter(ledger: ledger, logger: logger) }

    /// An operator's retry of one invoice (`settled retry`, `POST /v1/charges/{invoice}/retry`).
    public var manualRetry: ManualRetry { ManualRetry(ledger: ledger, store: store, ingestor: ingestor, logger: logger) }

    /// Runs one part of a pass; a failure is logged and the other parts still run.
    public func step(_ name: String, _ body: () async throws -> Void) async {
        do { try await body() } catch { logger.warning("\(name) pass failed; retried next pass", metadata: ["error": "\(error)"]) }
    }

    /// The settlement loop of the chain a charge is pinned to.
    public func loop(for charge: Charge) async throws -> SettlementLoop {
        guard let loop = loops[charge.terms.chain] else {
            throw RuntimeError("the charge of \(charge.invoice) is on chain \(charge.terms.chain), which \(config.file) does not list in chains")
        }
        return loop
    }
}

public func unixNow() -> UInt64 { UInt64(Date().timeIntervalSince1970) }
