import Billing
import ChainAdapters
import Foundation
import Logging
import SettleCore
import Settlement

/// Checkout sessions: a merchant asks for one (`POST /v1/checkout_sessions`), the customer opens its page, approves
/// with a wallet, and the server does the rest from evidence it reads itself — the approval from the chain (the wallet
/// is the one that signed it, never one typed into the page), the subscription and invoices from Stripe, the payment
/// from the ledger. Each step moves the session's stored progress by compare-and-set, so two tabs or two daemons do
/// it once; every Stripe write carries an idempotency key derived from the session.
public struct CheckoutService: Sendable {
    public var sessions: PageSessionStore
    public var ledger: Ledger
    public var stripe: StripeClient
    public var chains: [String: any ChainView]
    public var rates: any RateProvider
    /// Payments per billing interval for the suggested allowance (`[allowance]`).
    public var allowancePayments: [String: UInt64]
    /// Where customers reach this server (`[server] public_url`): the base of every page link.
    public var publicURL: String
    /// Wakes a chain's executor (a checkout's invoice is due in two seconds).
    public var wake: @Sendable (String) -> Void
    public var logger: Logger
    /// How an item's price becomes a token amount (checkouts of Settle's own items); nil: items are not sold here.
    public var itemPricing: (@Sendable (_ chain: String) -> Ledger.Pricing)?

    public init(sessions: PageSessionStore, ledger: Ledger, stripe: StripeClient, chains: [any ChainView], rates: any RateProvider,
                allowancePayments: [String: UInt64], publicURL: String, wake: @escaping @Sendable (String) -> Void, logger: Logger) {
        self.sessions = sessions
        self.ledger = ledger
        self.stripe = stripe
        self.chains = Dictionary(chains.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.rates = rates
        self.allowancePayments = allowancePayments
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.wake = wake
        self.logger = logger
    }

    /// Seconds a session lives by default, and at most.
    public static let defaultLifetime: UInt64 = 3_600
    public static let maximumLifetime: UInt64 = 86_400

    // MARK: - Creating

    /// `POST /v1/checkout_sessions`: checks the request against Stripe and the configured chains, stores the session and
    /// answers its one-time URL.
    func create(_ bytes: [UInt8], now: UInt64) async throws -> JSON {
        var request = try CheckoutRequest(body: bytes, configured: chains)
        try await request.resolve(stripe: stripe, ledger: ledger)
        if request.nativeItem != nil, itemPricing == nil { throw APIError.conflict("items are not sold by this daemon") }
        let (id, key) = PageSession.newID(.checkout)
        let expiresAt = now + request.lifetime
        try await sessions.create(PageSession(key: key, purpose: .checkout, customer: request.customer, request: Array(request.json.text.utf8),
                                              csrf: PageSession.randomToken(), createdAt: now, expiresAt: expiresAt,
                                              state: CheckoutProgress().json.text, updatedAt: now))
        logger.info("checkout session created", metadata: ["customer": "\(request.customer)", "expires_at": "\(expiresAt)"])
        return ["id": .string(id), "url": .string("\(publicURL)/checkout/\(id)"), "expires_at": .number(String(expiresAt))]
    }

    // MARK: - The page's requests

    /// An open session: its stored row, request and progress; a clear refusal for an unknown id or a portal's.
    func session(_ id: String) async throws -> (session: PageSession, request: CheckoutRequest, progress: CheckoutProgress) {
        guard id.hasPrefix("cs_"), id.utf8.count < 100, let session = try await sessions.session(key: PageSession.key(of: id)),
              session.purpose == .checkout else {
            throw APIError.notFound("no such checkout session: the link is wrong, or was never issued")
        }
        let request = try CheckoutRequest(stored: Array(session.request))
        let progress = try CheckoutProgress(json: try JSON(parsing: Array(session.state.utf8)))
        return (session, request, progress)
    }

    /// The first payment and the suggested allowance in `token` on `chain`, for the page and for the proof's minimum.
    func amounts(_ request: CheckoutRequest, chain: any ChainView, token: String) throws -> (payment: UInt256, suggested: UInt256, decimals: Int, payments: UInt64) {
        let decimals = try chain.decimals(of: token)
        let plan = request.plan
        let currency: Currency
        do { currency = try Currency(code: plan.currency) } catch { throw APIError.conflict("the price's currency '\(plan.currency)' is not one Settle knows") }
        let rate = try rates.rate(currency: currency, token: token.uppercased()).rate
        let payment = try Money(minorUnits: plan.amount, currency: currency).tokenAmount(decimals: decimals, rate: rate).baseUnits
        // A one-time payment is approved for exactly its amount; an item's own spending cap overrides `[allowance]`.
        guard plan.interval != CheckoutRequest.oneTime else { return (payment, payment, decimals, 1) }
        let payments = request.allowancePayments ?? allowancePayments[plan.interval] ?? 1
        let suggested = try SuggestedAllowance.compute(amount: payment, interval: plan.interval, intervalCount: plan.intervalCount, payments: payments)
        return (payment, suggested, decimals, payments)
    }

    /// The transactions the wallet signs now (`ApprovalTransactions`: one approval, or `approve(0)` first for a token
    /// that refuses to change a standing allowance).
    func approvalTransactions(_ id: String, chain name: String, token: String, wallet: String, amount: UInt256?, now: UInt64) async throws -> JSON {
        let (session, request, progress) = try await session(id)
        guard now < session.expiresAt else { throw APIError(.gone, "expired", "this checkout expired: ask the merchant for a new link") }
        guard progress.step == .open || progress.step == .approving else { throw APIError.conflict("this checkout already has its approval") }
        let chain = try request.chain(name, in: chains)
        try request.check(token: token)
        let wallet = try chain.canonicalWallet(wallet)
        let (payment, suggested, decimals, _) = try amounts(request, chain: chain, token: token)
        let target = amount ?? suggested
        guard target >= payment else {
            throw APIError.badRequest("an allowance of \(AmountText.display(target, decimals: decimals)) does not cover the first payment (\(AmountText.display(payment, decimals: decimals)))")
        }
        return try await ApprovalTransactions.build(chain: chain, wallet: wallet, token: token, amount: target)
    }

    /// The page reports the approval transaction it sent; the server then reads it from the chain.
    func report(_ id: String, csrf: String?, chain name: String, token: String, transaction: String, now: UInt64) async throws -> JSON {
        let (session, request, progress) = try await session(id)
        guard let csrf, Self.same(csrf, session.csrf) else { throw APIError(.forbidden, "csrf", "missing or wrong X-Settle-CSRF header: reload the page") }
        let chain = try request.chain(name, in: chains)
        try request.check(token: token)
        guard !transaction.isEmpty, transaction.utf8.count <= 120 else { throw APIError.badRequest("'transaction' must be a transaction hash or signature") }
        guard let next = CheckoutFlow.report(progress, chain: chain.name, token: token.uppercased(), transaction: transaction,
                                             expiresAt: session.expiresAt, now: now) else {
            throw now >= session.expiresAt ? APIError(.gone, "expired", "this checkout expired: ask the merchant for a new link")
                : APIError.conflict("this checkout already has its approval")
        }
        try await sessions.move(key: session.key, from: session.state, to: next.json.text, result: nil, now: now)
        let (stored, storedRequest, storedProgress) = try await self.session(id)
        return try await view(session: stored, request: storedRequest, progress: storedProgress,
                              action: CheckoutFlow.action(storedProgress, expiresAt: stored.expiresAt, now: now, payNow: storedRequest.payNow))
    }

    /// Carries the checkout forward as far as the evidence allows now, and answers where it stands.
    func state(_ id: String, now: UInt64) async throws -> JSON {
        for _ in 0..<6 {  // each step either moves the stored progress or stops
            let (session, request, progress) = try await session(id)
            let action = CheckoutFlow.action(progress, expiresAt: session.expiresAt, now: now, payNow: request.payNow)
            guard let next = try await perform(action, session: session, request: request, progress: progress, now: now) else {
                return try await view(session: session, request: request, progress: progress, action: action)
            }
            if !(try await sessions.move(key: session.key, from: session.state, to: next.json.text, result: nil, now: now)) { continue }
        }
        let (session, request, progress) = try await session(id)
        return try await view(session: session, request: request, progress: progress,
                              action: CheckoutFlow.action(progress, expiresAt: session.expiresAt, now: now, payNow: request.payNow))
    }

    /// One step; nil when nothing moves now. (Each action in a function of its own: one large async function with
    /// every step in it was miscompiled by Swift 6.3.1, a call through a null pointer at run time.)
    func perform(_ action: CheckoutAction, session: PageSession, request: CheckoutRequest, progress: CheckoutProgress, now: UInt64) async throws -> CheckoutProgress? {
        switch action {
        case .awaitApproval, .expired, .done:
            return nil
        case .verifyApproval(let name, let token, let transaction):
            return try await verify(request: request, progress: progress, chain: name, token: token, transaction: transaction)
        case .switchSubscription:
            return try await switchStep(session: session, request: request, progress: progress, now: now)
        case .chargeInvoices:
            return try await chargeStep(session: session, progress: progress, now: now)
        case .watchInvoices:
            return try await watchStep(progress: progress)
        case .finish:
            var next = progress
            next.step = .complete
            return next
        }
    }

    func verify(request: CheckoutRequest, progress: CheckoutProgress, chain name: String, token: String, transaction: String) async throws -> CheckoutProgress? {
        let chain = try request.chain(name, in: chains)
        let (payment, _, decimals, _) = try amounts(request, chain: chain, token: token)
        // The concrete view, then a direct call: through `any ChainView` (a protocol requirement, or a protocol extension
        // dispatching on the family) Swift 6.3.1 called a null pointer at run time here; the direct call works.
        let verdict: ApprovalVerdict
        if let evm = chain as? EVMChainView {
            verdict = try await evm.evmApprovalVerdict(transaction: transaction, token: token, minimum: payment)
        } else if let solana = chain as? SolanaChainView {
            verdict = try await solana.solanaApprovalVerdict(transaction: transaction, token: token, minimum: payment)
        } else {
            throw APIError.conflict("chain \(name) cannot check approvals")
        }
        switch verdict {
        case .pending:
            return nil
        case .refused(let why):
            logger.notice("checkout approval refused", metadata: ["transaction": "\(transaction)", "reason": "\(why)"])
            return CheckoutFlow.verified(progress, wallet: nil, amount: nil, refusal: why)
        case .proven(let proof):
            logger.info("checkout approval proven", metadata: ["wallet": "\(proof.wallet)", "chain": "\(name)", "block": "\(proof.position)"])
            return CheckoutFlow.verified(progress, wallet: proof.wallet, amount: AmountText.short(proof.amount, decimals: decimals), refusal: nil)
        }
    }

    func switchStep(session: PageSession, request: CheckoutRequest, progress: CheckoutProgress, now: UInt64) async throws -> CheckoutProgress? {
        guard let chain = progress.chain, let token = progress.token, let wallet = progress.wallet else { return nil }
        if let item = request.nativeItem { return try await subscribeStep(session: session, request: request, progress: progress, item: item, now: now) }
        let subscription = try await switchSubscription(session: session, request: request, chain: chain, token: token, wallet: wallet)
        _ = try await ledger.upsertAgreement(customer: request.customer, subscription: subscription, chain: chain, token: token, wallet: wallet, now: now)
        var next = progress
        next.step = .switched
        next.subscription = subscription
        return next
    }

    /// One of Settle's items: the agreement for the proven wallet (one per checkout: its subscription label is the
    /// session's), subscribed to the item from now with period 0's invoice due now; then the checkout watches it.
    /// Each write is once per session, so a second tab or daemon finds the same agreement and invoice.
    func subscribeStep(session: PageSession, request: CheckoutRequest, progress: CheckoutProgress, item id: String, now: UInt64) async throws -> CheckoutProgress? {
        guard let chain = progress.chain, let token = progress.token, let wallet = progress.wallet else { return nil }
        guard let pricing = itemPricing else { throw APIError.conflict("items are not sold by this daemon") }
        guard let item = try await ledger.item(id: id) else { throw APIError.notFound("item \(id) no longer exists") }
        let label = "settle_checkout_" + session.key.prefix(24)
        let agreement = try await ledger.upsertAgreement(customer: request.customer, subscription: label, chain: chain, token: token, wallet: wallet, now: now)
        let invoice = try await ItemBilling(ledger: ledger, pricing: pricing).subscribeAnswering(agreement, to: item, now: now)
        logger.info("checkout subscribed to item", metadata: ["item": "\(item.id)", "agreement": "\(agreement.id)", "invoice.id": "\(invoice.id)"])
        var next = progress
        next.step = .charging
        next.subscription = label
        next.invoices = [invoice.id]
        wake(chain)
        return next
    }

    func chargeStep(session: PageSession, progress: CheckoutProgress, now: UInt64) async throws -> CheckoutProgress? {
        guard let subscription = progress.subscription else { return nil }
        var next = progress
        next.invoices = try await chargeInvoices(session: session, subscription: subscription, now: now)
        next.step = next.invoices.isEmpty ? .complete : .charging
        if let chain = progress.chain { wake(chain) }
        return next
    }

    func watchStep(progress: CheckoutProgress) async throws -> CheckoutProgress? {
        for invoice in progress.invoices {
            guard let charge = try await ledger.charge(invoice: invoice), charge.state == .settled || charge.state == .reported else { return nil }
        }
        var next = progress
        next.step = .complete
        return next
    }

    /// Switches (or creates) the Stripe subscription to be collected by Settle with the proven wallet; returns its id.
    func switchSubscription(session: PageSession, request: CheckoutRequest, chain: String, token: String, wallet: String) async throws -> String {
        let metadata: JSON = ["settle_chain": .string(chain), "settle_token": .string(token), "settle_wallet": .string(wallet)]
        let idempotency = "settle-checkout-\(session.key.prefix(32))"
        return try await Self.stripeStep("switching the subscription") {
            if let subscription = request.subscription {
                var params: [(key: String, value: JSON)] = [("collection_method", "send_invoice"), ("days_until_due", .number(String(request.daysUntilDue))),
                                                            ("metadata", metadata)]
                if let upgrade = request.upgrade, let item = request.item {
                    params.append(("items", [["id": .string(item), "price": .string(upgrade)]]))
                    params.append(("proration_behavior", "create_prorations"))
                }
                _ = try await stripe.post("/v1/subscriptions/\(subscription)", .object(params), idempotencyKey: "\(idempotency)-switch")
                return subscription
            }
            guard let price = request.price else { throw APIError.conflict("the session names neither a subscription nor a price") }
            let created = try await stripe.post("/v1/subscriptions", [
                "customer": .string(request.customer), "items": [["price": .string(price)]], "collection_method": "send_invoice",
                "days_until_due": .number(String(request.daysUntilDue)), "metadata": metadata,
            ], idempotencyKey: "\(idempotency)-create")
            guard let id = created["id"]?.stringValue else { throw APIError(.badGateway, "stripe_unavailable", "Stripe created a subscription without an id") }
            return id
        }
    }

    /// Finalizes the subscription's drafts due two seconds from now (so the executor charges them within the
    /// checkout); returns them with any invoice of it already open.
    func chargeInvoices(session: PageSession, subscription: String, now: UInt64) async throws -> [String] {
        let key = String(session.key.prefix(32))
        var invoices: [String] = []
        for status in ["draft", "open"] {
            let page = try await Self.stripeStep("listing the subscription's invoices") {
                try await stripe.get("/v1/invoices", ["subscription": .string(subscription), "status": .string(status), "limit": 20])
            }
            for invoice in page["data"]?.arrayValue ?? [] {
                // A draft finalized above is open by the second listing: each invoice once.
                guard let id = invoice["id"]?.stringValue, !invoices.contains(id), (invoice["amount_due"]?.int64Value ?? 0) > 0 else { continue }
                if status == "draft" {
                    try await Self.stripeStep("finalizing \(id)") {
                        _ = try await stripe.post("/v1/invoices/\(id)", ["collection_method": "send_invoice", "due_date": .number(String(now + 2))],
                                                  idempotencyKey: "settle-checkout-\(key)-due-\(id)")
                        _ = try await stripe.post("/v1/invoices/\(id)/finalize", idempotencyKey: "settle-checkout-\(key)-final-\(id)")
                    }
                }
                invoices.append(id)
            }
        }
        logger.info("checkout invoices due now", metadata: ["subscription": "\(subscription)", "invoices": "\(invoices)"])
        return invoices
    }

    /// A Stripe request whose refusal becomes a 502 naming what was being done.
    static func stripeStep<T: Sendable>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as StripeError {
            // Stripe not knowing the object is the caller's mistake (a wrong id), not Stripe failing.
            if error.status == 404 { throw APIError.notFound("Stripe does not know it (\(what)): \(error.message)") }
            throw APIError(.badGateway, "stripe_unavailable", "Stripe refused \(what): \(error)")
        }
    }

    /// What the page shows.
    func view(session: PageSession, request: CheckoutRequest, progress: CheckoutProgress, action: CheckoutAction) async throws -> JSON {
        var invoices: [JSON] = []
        for invoice in progress.invoices {
            let charge = try await ledger.charge(invoice: invoice)
            var transaction: JSON = .null, link: JSON = .null
            if let charge, let attempt = try await ledger.attempts(charge: charge.id).last(where: { $0.outcome != .dead && $0.outcome != .replaced }) {
                transaction = .string(attempt.transactionID)
                link = progress.chain.flatMap { chains[$0] }?.transactionURL(attempt.transactionID) ?? .null
            }
            let paid = charge.map { $0.state == .settled || $0.state == .reported } ?? false
            invoices.append(["id": .string(invoice), "state": .string(charge?.state.rawValue ?? "waiting"), "paid": .bool(paid),
                             "amount": charge.map { .string(AmountText.short($0.tokenAmount.baseUnits, decimals: $0.tokenAmount.decimals)) } ?? .null,
                             "token": charge.map { .string($0.terms.token) } ?? .null, "transaction": transaction,
                             "transaction_url": link])
        }
        guard case .object(let members) = progress.json else { return progress.json }
        return .object(members.filter { $0.key != "invoices" } + [
            ("expired", .bool(action == .expired)), ("complete", .bool(progress.step == .complete)), ("invoices", .array(invoices)),
            ("success_url", request.successURL.map { .string($0) } ?? .null),
        ])
    }

    /// Constant-time comparison of two tokens.
    static func same(_ a: String, _ b: String) -> Bool {
        BearerTokens.constantTimeEqual(Array(a.utf8), Array(b.utf8))
    }
}
