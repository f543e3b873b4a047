import API
import Billing
import EVM
import EVMIndexer
import Foundation
import Hummingbird
import Logging
import Prometheus
import SettleCore
import Settlement
import Synchronization
import TestSupport
import Testing
import Transport

/// Settle's HTTP API served for real on 127.0.0.1 over a `BillingWorld` (py-evm devnet, localstripe, the ledger),
/// with the devnet indexed into the same database, and a client that speaks HTTP through libcurl like any other.
/// Every exchange is recorded for the OpenAPI check.
struct APIFixture: Sendable {
    static let readToken = "read-8c41f0d2a9"
    static let adminToken = "admin-77e1b3c5d0"

    let world: BillingWorld
    let server: TestServer
    let indexer: EVMChainIndexer
    let health: HealthRegistry
    let exchanges = ExchangeLog()

    static func make(balance: UInt256 = 1_000_000_000, allowance: UInt256 = 100_000_000) async throws -> APIFixture {
        try await serve(try await BillingWorld.make(balance: balance, allowance: allowance, webhooks: false))
    }

    /// The API over a world whose token behaves like `kind` (see `Devnet.deployToken`).
    // A separate entry point: one more defaulted parameter on `make` made every API test crash under Swift 6.3.1
    // (a null call in the async entry; seen here).
    static func withToken(_ kind: String) async throws -> APIFixture {
        try await serve(try await BillingWorld.make(tokenKind: kind, webhooks: false))
    }

    /// The API over a world with USDC and USDT on the devnet.
    static func withSecondToken() async throws -> APIFixture {
        try await serve(try await BillingWorld.withSecondToken())
    }

    private static func serve(_ world: BillingWorld) async throws -> APIFixture {
        let store = SQLiteEVMIndexStore(database: try world.ledger.sqlite)
        try await store.migrate()
        var logger = Logger(label: "api")
        logger.logLevel = ProcessInfo.processInfo.environment["SETTLE_TEST_LOG"] == nil ? .critical : .debug
        let indexer = EVMChainIndexer(config: world.config, node: EVMNode(rpc: world.devnet.rpc), store: store, spenders: [world.spender.address],
                                      logger: logger)
        let health = HealthRegistry(chains: [("devnet", "evm")])
        let view = EVMChainView(config: world.config, store: store, node: EVMNode(rpc: world.devnet.rpc), spender: world.spender.address)
        var api = SettleAPI(
            ledger: world.ledger, outbox: world.outbox, chains: [view],
            tokens: BearerTokens([("billing", readToken, .read), ("ops", adminToken, .admin)]), health: health, maxHeadLag: 20,
            allowancePayments: ["hour": 24, "day": 30, "week": 26, "month": 13, "year": 3],
            retrier: TestRetrier(retry: ManualRetry(ledger: world.ledger, store: world.store, ingestor: world.ingestor, logger: logger)),
            metrics: PrometheusCollectorRegistry(), logger: logger)
        api.checkout = CheckoutService(sessions: PageSessionStore(database: world.runtime.database), ledger: world.ledger, stripe: world.runtime.stripe,
                                       chains: [view], rates: world.runtime.rates, allowancePayments: api.allowancePayments,
                                       publicURL: "http://127.0.0.1", wake: { _ in }, logger: logger)
        api.portal = PortalService(sessions: PageSessionStore(database: world.runtime.database), ledger: world.ledger, stripe: world.runtime.stripe,
                                   chains: [view], allowancePayments: api.allowancePayments,
                                   pricing: { [ingestor = world.runtime.ingestor] chain in ingestor.pricing(chain: chain) }, publicURL: "http://127.0.0.1", logger: logger)
        api.itemPricing = { [ingestor = world.runtime.ingestor] chain in ingestor.pricing(chain: chain) }
        api.checkout?.itemPricing = api.itemPricing
        api.dashboard = DashboardService(sessions: DashboardSessionStore(database: world.runtime.database), billing: world.store, secureCookie: false,
                                         collectNow: { [ingestor = world.runtime.ingestor] invoice in
            "\(try await ingestor.collectNow(invoiceID: invoice, now: UInt64(Date().timeIntervalSince1970)))"
        }, audit: { [ingestor = world.runtime.ingestor] in try await StripeAudit(ingestor: ingestor).run() })
        let server = try await TestServer.start(inbox: StripeInbox(store: world.store, secrets: [BillingWorld.webhookSecret]), logger: logger) { router in
            api.add(to: router)
        }
        return APIFixture(world: world, server: server, indexer: indexer, health: health)
    }

    /// Indexes the devnet to its head and reports the position to the health registry.
    func index() async throws {
        let chain = try await indexer.prepare()
        try await indexer.indexToHead()
        let cursor = try await indexer.store.cursor(chain: chain.id)
        health.succeeded("devnet", head: cursor.headBlock ?? 0, indexed: cursor.lastIndexedBlock, now: UInt64(Date().timeIntervalSince1970))
    }

    struct Answer {
        var status: Int
        var json: JSON
        var text: String
        var headers: [(name: String, value: String)]
        func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
        var errorMessage: String { json["error"]?["message"]?.stringValue ?? "" }
        var errorCode: String { json["error"]?["code"]?.stringValue ?? "" }
    }

    /// `GET`/`POST` `path` (with its query) with a bearer token (`nil`: no Authorization header). `template` is the
    /// route's OpenAPI path, for the recorded exchange.
    @discardableResult
    func call(_ method: Transport.HTTPRequest.Method = .get, _ path: String, template: String, token: String? = readToken, body: String? = nil,
              authorization: String? = nil, extraHeaders: [(String, String)] = []) async throws -> Answer {
        var headers: [(String, String)] = extraHeaders
        if let authorization { headers.append(("Authorization", authorization)) } else if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        // 120 s: a correctness test, not a timing one; on a loaded CI machine an answer that reads the devnet and
        // localstripe has taken more than 30 s.
        let response = try await world.devnet.http.execute(Transport.HTTPRequest(url: server.url(path), method: method, headers: headers,
                                                                                 body: body.map { Array($0.utf8) } ?? [],
                                                                                 timeout: .seconds(120)))
        let text = String(decoding: response.body, as: UTF8.self)
        let contentType = response.header("Content-Type") ?? ""
        let json = contentType.hasPrefix("application/json") ? (try? JSON(parsing: response.body)) ?? .null : .null
        exchanges.entries.withLock {
            $0.append(["method": .string(method.rawValue), "template": .string(template), "url": .string(path),
                       "status": .number(String(response.status)), "content_type": .string(contentType),
                       "body": contentType.hasPrefix("application/json") ? json : .string(text)])
        }
        return Answer(status: response.status, json: json, text: text, headers: response.headers)
    }

    /// An invoice of `cents` for a new customer paying from the payer's wallet, ingested into a charge due now.
    func charge(cents: UInt64) async throws -> String {
        let customer = try await world.customer()
        let now = UInt64(Date().timeIntervalSince1970)
        let invoice = try await world.openInvoice(customer: customer, cents: cents, dueDate: now + 3600)
        try await world.ingestor.reconcile(invoiceID: invoice, now: now + 3600)
        return invoice
    }

    func stop() {
        server.stop()
        world.server.stop()
    }
}

/// The API's retrier over the real `ManualRetry` (the daemon's also wakes its executor, which tests drive by hand).
struct TestRetrier: ChargeRetrier {
    let retry: ManualRetry
    func retry(invoice: String) async throws -> (charge: Charge?, findings: [String]) {
        try await retry.retry(invoice: invoice, now: UInt64(Date().timeIntervalSince1970) + 7200)
    }
}

/// The exchanges an `APIFixture` made, for the OpenAPI check.
final class ExchangeLog: Sendable {
    let entries = Mutex<[JSON]>([])
}
