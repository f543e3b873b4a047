import API
import ArgumentParser
import Billing
import Foundation
import SettleRuntime
import Hummingbird
import Leases
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import SettleConfiguration
import Settlement
import Signing
import Store
import Synchronization

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the daemon: chain pollers, the executor, Stripe, merchant webhooks and the HTTP API.",
        discussion: """
            Everything runs as services in one group (swift-service-lifecycle):
              index <chain>       follows each chain in `chains` into the index (approvals, transfers, balances)
              settle <chain>      executes due charges: preflight, sign, persist, broadcast, confirm, replace
              billing             Stripe webhooks processed in order, the poll safety net every [stripe] poll_seconds,
                                  final charges marked paid in Stripe, dunning notices
              merchant-webhooks   signed merchant webhooks with retries
              http                [server] listen: POST /webhooks/stripe, the /v1 API (bearer tokens from [api]),
                                  GET /healthz, GET /metrics (Prometheus; read token)

            SIGTERM or SIGINT shuts down gracefully: the HTTP server stops taking requests, a settlement pass in \
            flight finishes (a transfer being signed, persisted and sent is recorded), then the process exits 0. \
            Work still pending waits in the database for the next start. After [server] shutdown_seconds what is \
            left is cancelled (safe at any point too: every step is persisted before it is sent).

            Example: SETTLE_STRIPE_API_KEY=sk_live_… SETTLE_STRIPE_WEBHOOK_SECRET=whsec_… SETTLE_API_TOKEN_READ=… \\
                     settled serve --config /etc/settle/settle.toml --log-format json
            """)

    @OptionGroup var options: DaemonOptions

    @Option(help: "Seconds between settlement, billing and webhook passes.")
    var interval: Double = 2

    func run() async throws {
        let config = try options.load()
        let logger = options.makeLogger(config)
        // One daemon owns a SQLite file: a second `serve` on it is refused here, before anything is signed. On
        // PostgreSQL several daemons share the database and each chain's indexing and signing go to one of them at a
        // time (leases, below). A second daemon with the same key on ANOTHER database is caught by the nonce check
        // (`nonce_divergence`).
        var lock: DatabaseLock?
        if case .sqlite(let path) = try databaseLocation(config) { lock = try DatabaseLock(databasePath: path) }
        defer { withExtendedLifetime(lock) {} }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let runtime = try await BillingRuntime.make(config, logger: logger)
        defer { runtime.http.shutdown() }
        var tokens: [(name: String, token: String, scope: BearerTokens.Scope)] = []
        for token in config.apiTokens {
            do { tokens.append((token.name, try KeyLoader.secretText(from: token.token), token.scope)) } catch {
                throw ValidationError("\(config.file): api token '\(token.name)': \(error.message)")
            }
        }
        if tokens.isEmpty { logger.warning("no [api] tokens configured: every /v1 and /metrics request will be refused (401)") }
        // Every secret is loaded: `env:` ones leave the environment (nothing in /proc/PID/environ or a child's).
        SecretEnvironment.scrub(SecretEnvironment.names(config, chains: runtime.chainConfigs))

        let every = Duration.milliseconds(Int64(interval * 1000))
        let health = HealthRegistry(chains: runtime.chains.map { ($0.name, $0.family) })
        var wakers: [String: Waker] = [:]
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        func add(_ service: PeriodicService) {
            services.append(.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup, serviceName: service.name))
        }
        // Each chain's indexer and executor run in one daemon at a time, under a lease it renews while alive; the
        // others stand by (serving the API, taking webhooks, claiming Stripe events, dunning notices and outbox
        // deliveries one by one) and take over when a lease lapses. The lease goes with every index commit and every
        // signature, checked in their transactions.
        let holder = LeaseKeeper.processHolder()
        let leaseTTL = config.leaseSeconds * 1_000
        let clock = LeaseKeeper.wallClock
        func keeper(_ name: String) -> LeaseKeeper {
            LeaseKeeper(store: runtime.leases, name: name, holder: holder, ttl: leaseTTL, clock: clock)
        }
        var keepers: [LeaseKeeper] = []
        for chain in runtime.chains {
            let pass = chain.indexPass
            let indexKeeper = keeper("index \(chain.name)")
            keepers.append(indexKeeper)
            add(PeriodicService(name: "index \(chain.name)", interval: chain.pollInterval, drains: false, logger: logger) {
                do {
                    let lease = try await indexKeeper.hold()
                    let (head, indexed) = try await pass(lease.map { .lead($0) } ?? .standby)
                    health.succeeded(chain.name, head: head, indexed: indexed, now: unixNow())
                } catch {
                    health.failed(chain.name, error: "\(error)")
                    throw error
                }
            })
        }
        for (name, loop) in runtime.loops.sorted(by: { $0.key < $1.key }) {
            let waker = Waker()
            wakers[name] = waker
            let settleKeeper = keeper("settle \(name)")
            keepers.append(settleKeeper)
            let chain = runtime.chains.first { $0.name == name }
            add(PeriodicService(name: "settle \(name)", interval: every, drains: true, waker: waker, logger: logger) {
                guard let lease = try await settleKeeper.hold() else { return }  // another daemon signs on this chain
                await chain?.holdExecutor(lease)
                _ = try await loop.runOnce(now: unixNow())
            })
        }
        let stripeKeeper = keeper("stripe")
        keepers.append(stripeKeeper)
        let allKeepers = keepers
        // On SQLite this process holds the database lock: any lease in the file was left by a daemon that died.
        if lock != nil { for keeper in allKeepers { try await runtime.leases.lapse(keeper.name) } }
        // Leases are renewed on their own clock too, so a long pass (a backfill) keeps its lease; a stopped process
        // renews nothing and loses it.
        add(PeriodicService(name: "leases", interval: .milliseconds(Int64(clamping: max(leaseTTL / 3, 100))), drains: false, logger: logger) {
            for keeper in allKeepers { _ = try? await keeper.hold() }
        })
        let lastPoll = Mutex<UInt64>(0)
        add(PeriodicService(name: "billing", interval: every, drains: true, logger: logger) {
            let now = unixNow()
            await runtime.step("inbox") { _ = try await runtime.processor.runOnce(now: now) }
            // The safety-net listing and the reports to Stripe go from one daemon (the others would repeat its calls).
            let stripeLease = runtime.stripe.isConfigured ? try? await stripeKeeper.hold() : nil
            if stripeLease != nil, lastPoll.withLock({ now >= $0 + config.stripe.pollSeconds }) {
                await runtime.step("stripe poll") { _ = try await runtime.poller.runOnce(now: now) }
                lastPoll.withLock { $0 = now }
            }
            if stripeLease != nil { await runtime.step("stripe reports") { _ = try await runtime.reporter.runOnce(now: now) } }
            // Settle's own billing: any daemon may run these (an invoice per agreement and period, a compare-and-set report).
            await runtime.step("renewals") { _ = try await runtime.autoInvoicer.runOnce(now: now) }
            await runtime.step("native reports") { _ = try await runtime.nativeReporter.runOnce(now: now) }
            await runtime.step("dunning") { _ = try await runtime.dunning.runOnce(now: now) }
        })
        if let deliverer = runtime.deliverer {
            add(PeriodicService(name: "merchant-webhooks", interval: every, drains: true, logger: logger) {
                _ = try await deliverer.runOnce(now: unixNow())
            })
        }

        let router = Router()
        var limits = config.serverLimits
        if runtime.stripe.isConfigured {
            StripeWebhookRoute.add(to: router, inbox: StripeInbox(store: runtime.store, secrets: runtime.webhookSecrets),
                                   maximumBody: limits.webhookMaxBodyBytes, logger: logger, now: unixNow)
        } else {
            logger.notice("no [stripe] api_key: native billing only (items and Settle's own invoices); POST /webhooks/stripe is not served")
        }
        var api = SettleAPI(ledger: runtime.ledger, outbox: runtime.outbox, chains: runtime.chains.map(\.view), tokens: BearerTokens(tokens),
                            health: health, maxHeadLag: config.maxHeadLag, allowancePayments: config.allowancePayments,
                            retrier: BillingRetrier(runtime: runtime, wakers: wakers), metrics: registry, logger: logger)
        api.maxBodyBytes = limits.maxBodyBytes
        api.itemPricing = { [ingestor = runtime.ingestor] chain in ingestor.pricing(chain: chain) }
        let wakersNow = wakers
        api.checkout = CheckoutService(
            sessions: PageSessionStore(database: runtime.database), ledger: runtime.ledger, stripe: runtime.stripe, chains: runtime.chains.map(\.view),
            rates: runtime.rates, allowancePayments: config.allowancePayments,
            publicURL: config.publicURL ?? "http://\(config.listen.host.contains(":") ? "[\(config.listen.host)]" : config.listen.host):\(config.listen.port)",
            wake: { chain in wakersNow[chain]?.wake() }, logger: logger)
        api.checkout?.itemPricing = api.itemPricing
        api.portal = PortalService(sessions: PageSessionStore(database: runtime.database), ledger: runtime.ledger, stripe: runtime.stripe,
                                   chains: runtime.chains.map(\.view), allowancePayments: config.allowancePayments,
                                   pricing: { [ingestor = runtime.ingestor] chain in ingestor.pricing(chain: chain) },
                                   publicURL: api.checkout?.publicURL ?? "", logger: logger)
        let collecting = (runtime, wakersNow)
        api.dashboard = DashboardService(
            sessions: DashboardSessionStore(database: runtime.database), billing: runtime.store,
            secureCookie: config.publicURL?.lowercased().hasPrefix("https://") ?? false,
            collectNow: { invoice in
                let (runtime, wakers) = collecting
                let outcome = try await runtime.ingestor.collectNow(invoiceID: invoice, now: unixNow())
                guard let charge = try await runtime.ledger.charge(invoice: invoice) else { return "Not collected: \(outcome)." }
                wakers[charge.terms.chain]?.wake()
                return "Due now: the charge is \(charge.state.rawValue.replacingOccurrences(of: "_", with: " ")); it is taken within seconds if the wallet can pay."
            },
            audit: { [ingestor = runtime.ingestor] in try await StripeAudit(ingestor: ingestor).run() })
        api.add(to: router)
        // Connections need descriptors: raise the soft limit to the hard one, and keep the cap below it with room for
        // the database, RPC and Stripe connections, so a flood meets the cap (which sheds idle connections), never
        // EMFILE (which stops accepting everyone).
        let descriptors = DescriptorLimit.raise()
        let room = descriptors.map { max(16, $0 - DescriptorLimit.reserved) }
        if let room, room < limits.maxConnections {
            logger.warning("[server] max_connections lowered to fit the process's descriptor limit", metadata: [
                "http.max_connections": "\(room)", "configured": "\(limits.maxConnections)", "nofile": "\(descriptors ?? 0)"])
            limits.maxConnections = room
        }
        let app = Application(
            router: router, server: .guarded(limits, logger: logger),
            configuration: .init(address: .hostname(config.listen.host, port: config.listen.port), serverName: "settled"),
            onServerRunning: { channel in
                logger.notice("listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            },
            logger: logger)
        services.append(.init(service: app, successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "http"))

        var groupConfig = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfig.maximumGracefulShutdownDuration = .seconds(Int64(config.shutdownSeconds))
        groupConfig.maximumCancellationDuration = .seconds(5)
        let group = ServiceGroup(configuration: groupConfig)
        logger.notice("settled serve starting", metadata: [
            "chains": "\(runtime.chains.map(\.name).joined(separator: ","))", "listen": "\(config.listen.host):\(config.listen.port)",
            "api.tokens": "\(tokens.map { "\($0.name)(\($0.scope.rawValue))" }.joined(separator: ","))",
        ])
        try await group.run()
        for keeper in allKeepers { await keeper.release() }  // hand the work over now rather than when the leases lapse
        logger.notice("settled serve stopped: in-flight work finished, nothing pending is lost (it waits in the database)")
    }
}

/// The configured database's location, as a command-line error when it cannot be used.
func databaseLocation(_ config: DaemonConfig) throws -> DatabaseLocation {
    do { return try config.databaseLocation } catch { throw ValidationError(error.description) }
}

/// `POST /v1/charges/{invoice}/retry`: `ManualRetry`, then the charge's chain executor is woken to try at once.
struct BillingRetrier: ChargeRetrier {
    let runtime: BillingRuntime
    let wakers: [String: Waker]

    func retry(invoice: String) async throws -> (charge: Charge?, findings: [String]) {
        let result = try await runtime.manualRetry.retry(invoice: invoice, now: unixNow())
        if let charge = result.charge, let agreement = try await runtime.ledger.agreement(id: charge.agreement) { wakers[agreement.chain]?.wake() }
        return result
    }
}
