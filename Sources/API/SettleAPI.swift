import Billing
import Foundation
import Hummingbird
import Logging
import Prometheus
import SettleCore
import Settlement
import Store
import Transport

/// Re-checks a charge at once on an operator's request (`POST /v1/charges/{invoice}/retry`): the invoice is read
/// again from Stripe, a charge waiting for funds becomes due now, and the chain's executor is woken.
public protocol ChargeRetrier: Sendable {
    /// The charge afterwards, or nil when the invoice has none (with what billing found instead, if anything).
    func retry(invoice: String) async throws -> (charge: Charge?, findings: [String])
}

/// The query and admin API under `/v1`, `/healthz` and `/metrics`, as Hummingbird routes.
///
/// Every `/v1` route and `/metrics` need `Authorization: Bearer <token>`; `POST` routes need an `admin` token.
/// Answers are JSON; errors are `{"error": {"code", "message"}}` with a 4xx/5xx status; token amounts are strings
/// of base units (exact), with `decimals` and a decimal `display`. Lists are paginated with `limit` and the
/// `next_cursor` of the previous page. `docs/openapi.yaml` describes every route; a test checks the server
/// against it.
public struct SettleAPI: Sendable {
    public var ledger: Ledger
    public var outbox: Outbox
    public var chains: [String: any ChainView]
    public var tokens: BearerTokens
    public var health: HealthRegistry
    /// `/healthz` is degraded past this lag (blocks or slots).
    public var maxHeadLag: UInt64
    /// Payments per billing interval for suggested allowances (`[allowance]`).
    public var allowancePayments: [String: UInt64]
    public var retrier: (any ChargeRetrier)?
    /// Checkout sessions and their pages (nil: not served, e.g. without Stripe).
    public var checkout: CheckoutService?
    /// Portal sessions and their pages (nil: not served).
    public var portal: PortalService?
    /// How an item's price becomes a token amount on a chain (subscribing an agreement to an item); nil: items are not
    /// billed by this daemon.
    public var itemPricing: (@Sendable (_ chain: String) -> Ledger.Pricing)?
    /// The merchant dashboard (`/dashboard`); nil: not served.
    public var dashboard: DashboardService?
    /// Where `/metrics` reads from (the registry the process's swift-metrics backend writes into).
    public var metrics: PrometheusCollectorRegistry
    public var logger: Logger
    public var now: @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }
    /// The largest JSON request body (`[server] max_body_bytes`): 413 beyond.
    public var maxBodyBytes = 64 << 10

    public init(ledger: Ledger, outbox: Outbox, chains: [any ChainView], tokens: BearerTokens, health: HealthRegistry, maxHeadLag: UInt64 = 20,
                allowancePayments: [String: UInt64], retrier: (any ChargeRetrier)?, metrics: PrometheusCollectorRegistry, logger: Logger) {
        self.ledger = ledger
        self.outbox = outbox
        self.chains = Dictionary(chains.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.tokens = tokens
        self.health = health
        self.maxHeadLag = maxHeadLag
        self.allowancePayments = allowancePayments
        self.retrier = retrier
        self.metrics = metrics
        self.logger = logger
    }

    /// Every route this API serves, as (method, path template) in OpenAPI's `{name}` form (the OpenAPI test compares
    /// this list with the document).
    public static let routes: [(method: String, path: String)] = [
        ("GET", "/healthz"), ("GET", "/metrics"),
        ("GET", "/v1/chains"),
        ("GET", "/v1/chains/{chain}/wallets/{wallet}/allowances"), ("GET", "/v1/chains/{chain}/wallets/{wallet}/balances"),
        ("GET", "/v1/chains/{chain}/wallets/{wallet}/readiness"), ("GET", "/v1/chains/{chain}/wallets/{wallet}/approval"),
        ("GET", "/v1/agreements"), ("POST", "/v1/agreements"),
        ("GET", "/v1/charges"), ("GET", "/v1/charges/{invoice}"), ("POST", "/v1/charges/{invoice}/retry"),
        ("GET", "/v1/suggested-allowance"),
        ("GET", "/v1/items"), ("POST", "/v1/items"), ("GET", "/v1/items/{id}"), ("POST", "/v1/items/{id}"),
        ("GET", "/v1/invoices"), ("POST", "/v1/invoices"), ("GET", "/v1/invoices/{id}"),
        ("POST", "/v1/checkout_sessions"), ("GET", "/checkout/{id}"), ("GET", "/checkout/{id}/state"), ("GET", "/checkout/{id}/approval"),
        ("POST", "/checkout/{id}/approval"),
        ("POST", "/v1/portal_sessions"), ("GET", "/portal/{id}"), ("GET", "/portal/{id}/state"), ("GET", "/portal/{id}/approval"),
        ("POST", "/portal/{id}/approval"),
    ]

    /// Adds every route to `router`.
    public func add<Context: RequestContext>(to router: Router<Context>) {
        // Every read a request makes goes to the database's API lane (`ReadLane.api`, inherited by the request's task
        // and its children): clients queue among themselves, never in front of the executors' reads.
        router.get("/healthz") { _, _ in await ReadLane.$current.withValue(.api) { await self.healthz() } }
        router.get("/metrics") { request, _ in await self.guarded(request, .read) { try await self.metricsText() } }
        router.get("/v1/chains") { request, _ in await self.guarded(request, .read) { self.listChains() } }
        router.get("/v1/chains/:chain/wallets/:wallet/allowances") { request, context in
            await self.guarded(request, .read) { try await self.allowances(request, Self.parameter(context, "chain"), Self.parameter(context, "wallet")) }
        }
        router.get("/v1/chains/:chain/wallets/:wallet/balances") { request, context in
            await self.guarded(request, .read) { try await self.balances(Self.parameter(context, "chain"), Self.parameter(context, "wallet")) }
        }
        router.get("/v1/chains/:chain/wallets/:wallet/readiness") { request, context in
            await self.guarded(request, .read) { try await self.readiness(request, Self.parameter(context, "chain"), Self.parameter(context, "wallet")) }
        }
        router.get("/v1/chains/:chain/wallets/:wallet/approval") { request, context in
            await self.guarded(request, .read) { try await self.approval(request, Self.parameter(context, "chain"), Self.parameter(context, "wallet")) }
        }
        router.get("/v1/agreements") { request, _ in await self.guarded(request, .read) { try await self.listAgreements(request) } }
        router.post("/v1/agreements") { request, _ in await self.guarded(request, .admin) { try await self.createAgreement(request) } }
        router.get("/v1/charges") { request, _ in await self.guarded(request, .read) { try await self.listCharges(request) } }
        router.get("/v1/charges/:invoice") { request, context in
            await self.guarded(request, .read) { try await self.charge(Self.parameter(context, "invoice")) }
        }
        router.post("/v1/charges/:invoice/retry") { request, context in
            await self.guarded(request, .admin) { try await self.retry(Self.parameter(context, "invoice")) }
        }
        router.get("/v1/suggested-allowance") { request, _ in await self.guarded(request, .read) { try self.suggestedAllowance(request) } }
        router.get("/v1/items") { request, _ in await self.guarded(request, .read) { JSONBody.response(.ok, try await self.listItems()) } }
        router.post("/v1/items") { request, _ in
            await self.guarded(request, .admin) { JSONBody.response(.created, try await self.createItem(try await self.body(request))) }
        }
        router.get("/v1/items/:id") { request, context in
            await self.guarded(request, .read) { JSONBody.response(.ok, try await self.getItem(Self.parameter(context, "id") ?? "")) }
        }
        router.post("/v1/items/:id") { request, context in
            await self.guarded(request, .admin) {
                JSONBody.response(.ok, try await self.updateItem(Self.parameter(context, "id") ?? "", try await self.body(request)))
            }
        }
        router.get("/v1/invoices") { request, _ in await self.guarded(request, .read) { try await self.listInvoices(request) } }
        router.post("/v1/invoices") { request, _ in await self.guarded(request, .admin) { try await self.createInvoice(try await self.body(request)) } }
        router.get("/v1/invoices/:id") { request, context in
            await self.guarded(request, .read) { JSONBody.response(.ok, try await self.getInvoice(Self.parameter(context, "id") ?? "")) }
        }
        addPages(to: router)
        addDashboard(to: router)
    }

    /// A path parameter as the client meant it: percent-decoded (`dev%6Eet` is `devnet`, RFC 3986), or as it was
    /// sent when it is not valid percent-encoding (then it names nothing, and the route says so).
    static func parameter(_ context: some RequestContext, _ name: String) -> String? {
        context.parameters.get(name).map { $0.removingPercentEncoding ?? $0 }
    }

    /// Authorizes, runs `body`, and turns every failure into a JSON error: the caller's mistakes are 4xx with what
    /// to change; a chain node that cannot answer is 502; anything else is logged and answered 500 without detail.
    /// A nil `scope`: a customer's page route, whose session id in the path is its authority (no bearer token).
    func guarded(_ request: Request, _ scope: BearerTokens.Scope?, _ body: () async throws -> Response) async -> Response {
        await ReadLane.$current.withValue(.api) { await answer(request, scope, body) }
    }

    private func answer(_ request: Request, _ scope: BearerTokens.Scope?, _ body: () async throws -> Response) async -> Response {
        let started = ContinuousClock.now
        var token = "-"
        let response: Response
        do {
            if let scope { token = try tokens.authorize(request.headers[.authorization], needs: scope) }
            response = try await body()
        } catch let error as APIError {
            response = error.response
        } catch let error as LedgerError where error.code == .invalidInput {
            response = APIError.badRequest(error.message).response
        } catch let error as LedgerError where error.code == .conflict {
            response = APIError.conflict(error.message).response
        } catch let error as StripeError {
            logger.warning("Stripe failed an API request", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            response = APIError(.badGateway, "stripe_unavailable", "Stripe did not answer usably: \(error)").response
        } catch let error as RPCError {
            logger.warning("chain node failed an API request", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            response = APIError(.badGateway, "chain_unavailable", "the chain's node did not answer usably: \(error)").response
        } catch {
            logger.error("API request failed", metadata: ["path": "\(request.uri.path)", "error.type": "\(type(of: error))", "error": "\(error)"])
            response = APIError(.internalServerError, "internal", "internal error; see the daemon's log").response
        }
        logger.info("api", metadata: [
            "http.method": "\(request.method)", "http.path": "\(request.uri.path)", "http.status": "\(response.status.code)",
            "api.token": "\(token)", "duration_ms": "\(Int((ContinuousClock.now - started) / .milliseconds(1)))",
        ])
        return response
    }

    func chain(_ name: String?) throws(APIError) -> any ChainView {
        guard let name, let chain = chains[name] else {
            throw .notFound("no chain '\(name ?? "")' (configured: \(chains.keys.sorted().joined(separator: ", ")))")
        }
        return chain
    }

    func listChains() -> Response {
        let data: [JSON] = chains.values.sorted { $0.name < $1.name }.map { chain in
            ["chain": .string(chain.name), "family": .string(chain.family), "spender": .string(chain.puller),
             "tokens": .array(chain.tokens.map { ["symbol": .string($0.symbol), "decimals": .number(String($0.decimals))] })]
        }
        return JSONBody.response(.ok, ["data": .array(data)])
    }

    func suggestedAllowance(_ request: Request) throws -> Response {
        let query = QueryParameters(request)
        let chain = try chain(try query.required("chain"))
        let symbol = try query.required("token")
        let decimals = try chain.decimals(of: symbol)
        let amount = try query.amount()
        let interval = query.string("interval") ?? "month"
        let count = try query.unsigned("interval_count", fallback: 1)
        let payments = try query.unsigned("payments", fallback: allowancePayments[interval] ?? 1)
        let suggested = try SuggestedAllowance.compute(amount: amount, interval: interval, intervalCount: count, payments: payments)
        return JSONBody.response(.ok, [
            "chain": .string(chain.name), "token": .string(symbol.uppercased()), "amount": .string(amount.description),
            "interval": .string(interval), "interval_count": .number(String(count)), "payments": .number(String(payments)),
            "suggested": .string(suggested.description), "decimals": .number(String(decimals)),
            "display": .string(AmountText.display(suggested, decimals: decimals)),
        ])
    }
}
