import API
import Billing
import ChainAdapters
import EVM
import EVMIndexer
import Foundation
import Hummingbird
import Logging
import SettleConfiguration
import SettleCore
import Settlement
import SettleRuntime
import Leases
import Store
import Synchronization
import TestSupport
import Testing
import Transport

/// A whole billing world on 127.0.0.1: the py-evm devnet with a token and a payer who approved the merchant's
/// spender, localstripe (with Settle's test extension) delivering signed webhooks to a real Hummingbird server that
/// runs Settle's `/webhooks/stripe` route, a merchant endpoint on the same server, and every billing part built by the
/// daemon's own wiring (`BillingRuntime`, from a settle.toml and a chain file written here) on one SQLite database.
/// Time for dunning and settlement is passed explicitly (`now`), so days run in seconds.
struct BillingWorld: Sendable {
    static let webhookSecret = "whsec_settle_test"
    static let merchantSecret = "msec_settle_test"

    let devnet: Devnet
    let payer: Devnet.Account
    let spender: Devnet.Account
    let treasury: EVMAddress
    let token: EVMAddress
    let stripePeer: Peer
    /// The test's own Stripe client (the merchant's side: customers, invoices).
    let stripe: StripeClient
    /// What `settled serve` would run.
    let runtime: BillingRuntime
    let server: TestServer
    let config: ChainConfig
    /// A second token, "USDT", configured on the devnet next to USDC (`withSecondToken`); nil otherwise.
    let usdt: EVMAddress?

    /// Set by `withSecondToken`: `make` deploys and configures USDT too. (A task-local rather than one more parameter:
    /// changing `make`'s signature or splitting it made every test using it crash under Swift 6.3.1, a call through a
    /// null pointer in the async entry.)
    @TaskLocal static var secondToken = false

    /// A world with two tokens on the devnet, USDC and USDT (the payer holds both; only USDC is approved).
    static func withSecondToken() async throws -> BillingWorld {
        try await $secondToken.withValue(true) { try await make(webhooks: false) }
    }

    var ledger: Ledger { runtime.ledger }
    var outbox: Outbox { runtime.outbox }
    var store: BillingStore { runtime.store }
    var ingestor: InvoiceIngestor { runtime.ingestor }
    var processor: StripeEventProcessor { runtime.processor }
    var poller: StripePoller { runtime.poller }
    var reporter: StripeReporter { runtime.reporter }
    var dunning: Dunning { runtime.dunning }
    var deliverer: OutboxDeliverer { runtime.deliverer! }  // the settle.toml below names a merchant endpoint
    var loop: SettlementLoop { runtime.loops["devnet"]! }

    static func make(policy: BillingPolicy = BillingPolicy(), balance: UInt256 = 1_000_000_000, allowance: UInt256 = 100_000_000, tokenKind: String = "standard",
                     webhooks: Bool = true) async throws -> BillingWorld {
        let devnet = try await Devnet.start()
        let accounts = try await devnet.accounts()
        let token = try await devnet.deployToken(owner: accounts[0].address, kind: tokenKind)
        if balance > .zero { try await devnet.mint(token: token, to: accounts[1].address, amount: balance) }
        var usdt: EVMAddress?
        if secondToken {
            let second = try await devnet.deployToken(owner: accounts[0].address, kind: "standard")
            try await devnet.mint(token: second, to: accounts[1].address, amount: 1_000_000_000)
            usdt = second
        }
        try await devnet.approve(token: token, owner: accounts[1], spender: accounts[7].address, amount: allowance)
        var logger = Logger(label: "billing")
        logger.logLevel = ProcessInfo.processInfo.environment["SETTLE_TEST_LOG"] == nil ? .critical : .debug

        // The files a merchant writes: a chain file and settle.toml, secrets as file: references.
        let directory = try temporaryDirectory("settle-billing")
        func secret(_ name: String, _ text: String) throws -> String {
            let path = directory.appendingPathComponent(name).path
            guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw PeerError("cannot write \(path)")
            }
            return "file:\(path)"
        }
        let chains = directory.appendingPathComponent("chains")
        try FileManager.default.createDirectory(at: chains, withIntermediateDirectories: true)
        try devnet.chainConfig(tokens: [("USDC", token, 6)] + (usdt.map { [("USDT", $0, 6)] } ?? []), spenders: [accounts[7].address], confirmations: 2,
                               signerKey: try secret("spender.key", try await devnet.privateKeyHex(7)), treasury: accounts[8].address)
            .write(to: chains.appendingPathComponent("devnet.toml"), atomically: true, encoding: .utf8)

        let databasePath = directory.appendingPathComponent("db").path
        let database = try Database(path: databasePath)
        let stripePeer = try await Peer.start(script: "stripe_peer.py")
        let server = try await TestServer.start(inbox: StripeInbox(store: BillingStore(database: database), secrets: [webhookSecret]), logger: logger)
        let settle = directory.appendingPathComponent("settle.toml")
        try """
            database = "\(databasePath)"
            chains_directory = "\(chains.path)"
            chains = ["devnet"]
            [stripe]
            api_key = "\(try secret("stripe.key", "sk_test_settle"))"
            webhook_secrets = ["\(try secret("stripe.whsec", webhookSecret))"]
            base_url = "\(stripePeer.url(""))"
            mark_paid = "\(policy.markPaid.rawValue)"
            minimum_amount = \(policy.minimumAmount)
            mark_uncollectible = \(policy.markUncollectible)
            warn_ahead = \(policy.warnAhead)
            [merchant]
            webhook_url = "\(server.url("/merchant"))"
            webhook_secret = "\(try secret("merchant.secret", merchantSecret))"
            """.write(to: settle, atomically: true, encoding: .utf8)
        let daemonConfig = try DaemonConfig.load(path: settle.path)
        // Peers on 127.0.0.1 answer at once: retrying for seconds would only slow the tests that inject failures.
        let runtime = try await BillingRuntime.make(
            daemonConfig, database: database, leases: try await SQLiteLeaseStore(database: database), logger: logger,
            options: RuntimeOptions(stripeRetry: RetryPolicy(maximumAttempts: 2, baseDelay: .milliseconds(5)), rpcRetry: RetryPolicy(maximumAttempts: 1),
                                    http: devnet.http))
        guard case .evm(let config) = try #require(runtime.chainConfigs.first) else { throw PeerError("devnet.toml is not an EVM chain") }
        if webhooks {
            _ = try await devnet.http.execute(Transport.HTTPRequest(url: stripePeer.url("/_config/webhooks/settle"), method: .post,
                                                          headers: [("Content-Type", "application/json")],
                                                          body: Array(#"{"url": "\#(server.url("/webhooks/stripe"))", "secret": "\#(webhookSecret)"}"#.utf8)))
        }
        let stripe = StripeClient(baseURL: stripePeer.url(""), apiKey: "sk_test_settle", http: devnet.http,
                                  retry: RetryPolicy(maximumAttempts: 2, baseDelay: .milliseconds(5)))
        return BillingWorld(devnet: devnet, payer: accounts[1], spender: accounts[7], treasury: accounts[8].address, token: token,
                            stripePeer: stripePeer, stripe: stripe, runtime: runtime, server: server, config: config, usdt: usdt)
    }

    // MARK: - Stripe side

    /// A customer whose metadata names the payer's wallet on the devnet (or nothing, with `agreement: false`).
    func customer(agreement: Bool = true, wallet: String? = nil) async throws -> String {
        let metadata: JSON = agreement
            ? ["settle_chain": "devnet", "settle_token": "usdc", "settle_wallet": .string(wallet ?? payer.address.lowercaseHex0x)] : [:]
        let customer = try await stripe.post("/v1/customers", ["email": "payer@example.com", "metadata": metadata], idempotencyKey: "cus-\(UUID())")
        return try #require(customer["id"]?.stringValue)
    }

    /// A draft `send_invoice` invoice of `cents` USD for `customer`, due at `dueDate`.
    func draftInvoice(customer: String, cents: UInt64, dueDate: UInt64?) async throws -> String {
        _ = try await stripe.post("/v1/invoiceitems", ["customer": .string(customer), "amount": .number(String(cents)), "currency": "usd",
                                                       "description": "Pro plan"], idempotencyKey: "ii-\(UUID())")
        var params: [(key: String, value: JSON)] = [("customer", .string(customer)), ("collection_method", "send_invoice"), ("auto_advance", false)]
        if let dueDate { params.append(("due_date", .number(String(dueDate)))) } else { params.append(("days_until_due", 0)) }
        let invoice = try await stripe.post("/v1/invoices", .object(params), idempotencyKey: "in-\(UUID())")
        #expect(invoice["status"] == "draft")
        return try #require(invoice["id"]?.stringValue)
    }

    /// A finalized (open) invoice.
    func openInvoice(customer: String, cents: UInt64, dueDate: UInt64) async throws -> String {
        let id = try await draftInvoice(customer: customer, cents: cents, dueDate: dueDate)
        _ = try await stripe.post("/v1/invoices/\(id)/finalize", idempotencyKey: "fin-\(id)")
        return id
    }

    func invoice(_ id: String) async throws -> JSON { try await stripe.get("/v1/invoices/\(id)") }

    /// POSTs Stripe executed for `pathSuffix` (answered 2xx, not idempotent replays, not injected failures).
    func executedPosts(endingWith pathSuffix: String) async throws -> Int {
        let response = try await devnet.http.execute(Transport.HTTPRequest(url: stripePeer.url("/_settle/requests")))
        let requests = try JSON(parsing: response.body)["data"]?.arrayValue ?? []
        return requests.filter {
            ($0["path"]?.stringValue ?? "").hasSuffix(pathSuffix) && $0["replayed"]?.boolValue != true
                && (200..<300).contains($0["status"]?.int64Value ?? 0)
        }.count
    }

    /// Makes the next `count` Stripe API requests answer `status`.
    func failStripe(status: Int = 503, count: Int, path: String = "/v1/") async throws {
        _ = try await devnet.http.execute(Transport.HTTPRequest(url: stripePeer.url("/_settle/fail"), method: .post, headers: [("Content-Type", "application/json")],
                                                      body: Array(#"{"status": \#(status), "count": \#(count), "path": "\#(path)"}"#.utf8)))
    }

    // MARK: - Settle side

    /// Waits until the inbox holds an event of `type` for `object` (localstripe delivers webhooks asynchronously).
    @discardableResult
    /// Waits for a stored event of `type` about `object` whose object (`data.object`) satisfies `matching`: an object
    /// can have several events of one type (finalizing an invoice also sends `invoice.updated`), and the one a test
    /// waits for may arrive after an earlier one is already stored.
    func awaitEvent(_ type: String, object: String, timeout: Duration = .seconds(10),
                    matching: (JSON) -> Bool = { _ in true }) async throws -> StoredEvent {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let event = try await store.allEvents().first(where: {
                $0.type == type && $0.objectID == object && matching((try? JSON(parsing: $0.payload))?["data"]?["object"] ?? .null)
            }) { return event }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw PeerError("no \(type) webhook for \(object) within \(timeout)")
    }

    /// Runs the event processor at `now` until a pass fails and defers nothing (at most `passes`): on a loaded machine
    /// a Stripe or node read can fail for a moment and leave its event for the next pass. Returns the last error of an
    /// event still unprocessed, if any (nil: every event is done).
    func processEvents(now: UInt64, passes: Int = 10) async throws -> String? {
        for _ in 0..<passes {
            let report = try await processor.runOnce(now: now)
            if report.failed == 0 && report.deferred == 0 { return nil }
            try await Task.sleep(for: .milliseconds(300))
        }
        return try await store.allEvents().first { $0.processedAt == nil && $0.lastError != nil }?.lastError ?? "deferred"
    }

    /// Runs settlement passes at `now`, mining between them, until the charge of `invoice` leaves the live states
    /// (or `passes` run out).
    func settle(_ invoice: String, now: UInt64, passes: Int = 8) async throws -> ChargeState {
        for _ in 0..<passes {
            try await loop.runOnce(now: now)
            let state = try #require(try await ledger.charge(invoice: invoice)).state
            if !state.hasLiveAttempt && state != .due { return state }
            try await devnet.mine(1)
        }
        return try #require(try await ledger.charge(invoice: invoice)).state
    }

    func treasuryTransfers() async throws -> [UInt256] {
        let result = try await devnet.rpc.call("eth_getLogs", [.object([
            ("fromBlock", "0x0"), ("toBlock", "latest"), ("address", .string(token.checksummed)),
            ("topics", [.string(ERC20.transferTopic.description), nil, .string("0x000000000000000000000000" + treasury.lowercaseHex)]),
        ])])
        return try (result.arrayValue ?? []).map { try UInt256(hex: $0["data"]?.stringValue ?? "") }
    }
}

extension EVMAddress {
    var lowercaseHex0x: String { "0x" + lowercaseHex }
}

/// A real Hummingbird server on 127.0.0.1 (a free port) with Settle's Stripe webhook route and a merchant endpoint
/// that records what it receives and answers a settable status.
final class TestServer: Sendable {
    let port: Int
    let received = Mutex<[(body: [UInt8], signature: String?)]>([])
    let merchantStatus = Mutex<UInt16>(200)
    private let task: Mutex<Task<Void, any Error>?> = Mutex(nil)

    private init(port: Int) { self.port = port }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    static func start(inbox: StripeInbox? = nil, logger: Logger, routes: (Router<BasicRequestContext>) -> Void = { _ in }) async throws -> TestServer {
        let box = Mutex<TestServer?>(nil)
        let portBox = Mutex<Int?>(nil)
        let router = Router()
        if let inbox { StripeWebhookRoute.add(to: router, inbox: inbox, logger: logger) }
        routes(router)
        router.post("/merchant") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let signature = request.headers.first { $0.name.canonicalName == "settle-signature" }?.value
            guard let server = box.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            server.received.withLock { $0.append((Array(buffer: body), signature)) }
            return Response(status: .init(code: Int(server.merchantStatus.withLock { $0 })))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in portBox.withLock { $0 = channel.localAddress?.port } }, logger: logger)
        let task = Task { try await app.run() }
        // 120 s, like the API client's wait: on a loaded machine (CI runs six tests at once on two cores, beside
        // daemons, devnets and PostgreSQL) a server's start has taken over 10 s.
        let started = ContinuousClock.now
        while portBox.withLock({ $0 }) == nil, ContinuousClock.now - started < .seconds(120) { try await Task.sleep(for: .milliseconds(10)) }
        guard let port = portBox.withLock({ $0 }) else {
            task.cancel()
            throw PeerError("the test server did not start within \(ContinuousClock.now - started)")
        }
        let server = TestServer(port: port)
        server.task.withLock { $0 = task }
        box.withLock { $0 = server }
        return server
    }

    func stop() { task.withLock { $0?.cancel() } }
}
