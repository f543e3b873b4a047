import Billing
import ChainAdapters
import Foundation
import Logging
import SettleCore
import Settlement

/// The customer portal: a short-lived link (`POST /v1/portal_sessions`) to one customer's page with every agreement —
/// balance, allowance to the merchant, the next invoice and whether the wallet can pay it, the payment history — and
/// three actions signed in the customer's wallet: raise the allowance, pay from another wallet or in another token
/// (a new approval; applied to Stripe's `settle_*` metadata and the agreement only when no charge is in flight), and
/// stop paying (a revoke). Each action is read back from the chain before the page says it happened; a raise or a
/// revoke must be signed by the agreement's wallet, a change by the wallet it moves to.
public struct PortalService: Sendable {
    public var sessions: PageSessionStore
    public var ledger: Ledger
    public var stripe: StripeClient
    public var chains: [String: any ChainView]
    public var allowancePayments: [String: UInt64]
    /// How a charge is priced in another token of its chain (for a token change: the next payment, the re-pinned charges).
    public var pricing: @Sendable (_ chain: String) -> Ledger.Pricing
    public var publicURL: String
    public var logger: Logger

    public init(sessions: PageSessionStore, ledger: Ledger, stripe: StripeClient, chains: [any ChainView], allowancePayments: [String: UInt64],
                pricing: @escaping @Sendable (_ chain: String) -> Ledger.Pricing, publicURL: String, logger: Logger) {
        self.sessions = sessions
        self.ledger = ledger
        self.stripe = stripe
        self.chains = Dictionary(chains.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.allowancePayments = allowancePayments
        self.pricing = pricing
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.logger = logger
    }

    /// `POST /v1/portal_sessions` `{"customer", "expires_in"?}`: a link for one customer, by default for an hour.
    func create(_ bytes: [UInt8], now: UInt64) async throws -> JSON {
        let body: JSON
        do { body = try JSON(parsing: bytes) } catch { throw APIError.badRequest("the body is not JSON: \(error)") }
        guard case .object(let members) = body else { throw APIError.badRequest("the body must be a JSON object") }
        if let unknown = members.first(where: { !["customer", "expires_in"].contains($0.key) }) {
            throw APIError.badRequest("unknown field '\(unknown.key)' (fields: customer, expires_in)")
        }
        guard let text = body["customer"]?.stringValue, !text.isEmpty else { throw APIError.badRequest("field 'customer' is required") }
        let customer: String
        do { customer = try StripeID.checked(text, "customer id") } catch { throw APIError.badRequest("field 'customer': \(error.message)") }
        var lifetime: UInt64 = 3_600
        if let value = body["expires_in"], !value.isNull {
            guard case .number(let number) = value, let seconds = UInt64(number), (5...CheckoutService.maximumLifetime).contains(seconds) else {
                throw APIError.badRequest("field 'expires_in' must be a whole number from 5 to \(CheckoutService.maximumLifetime)")
            }
            lifetime = seconds
        }
        // A customer with agreements is known here (native billing needs no Stripe); any other must be Stripe's.
        if try await ledger.agreements(customer: customer).isEmpty {
            guard stripe.isConfigured else { throw APIError.notFound("customer \(customer) has no agreement here") }
            let found = try await CheckoutService.stripeStep("reading the customer") { try await stripe.get("/v1/customers/\(customer)") }
            guard found["deleted"] != .bool(true) else { throw APIError.notFound("customer \(customer) is deleted in Stripe") }
        }
        let (id, key) = PageSession.newID(.portal)
        try await sessions.create(PageSession(key: key, purpose: .portal, customer: customer, request: Array(body.text.utf8),
                                              csrf: PageSession.randomToken(), createdAt: now, expiresAt: now + lifetime, state: "open", updatedAt: now))
        logger.info("portal session created", metadata: ["customer": "\(customer)", "expires_at": "\(now + lifetime)"])
        return ["id": .string(id), "url": .string("\(publicURL)/portal/\(id)"), "expires_at": .number(String(now + lifetime))]
    }

    /// A portal session that has not expired.
    func session(_ id: String, now: UInt64) async throws -> PageSession {
        guard id.hasPrefix("ps_"), id.utf8.count < 100, let session = try await sessions.session(key: PageSession.key(of: id)),
              session.purpose == .portal else {
            throw APIError.notFound("no such portal session: the link is wrong, or was never issued")
        }
        guard now < session.expiresAt else { throw APIError(.gone, "expired", "this link expired: ask the merchant for a new one") }
        return session
    }

    /// One of the customer's agreements (never another customer's).
    func agreement(_ session: PageSession, _ id: Int64) async throws -> (Agreement, any ChainView) {
        guard let agreement = try await ledger.agreement(id: id), agreement.customer == session.customer, let chain = chains[agreement.chain] else {
            throw APIError.notFound("no agreement \(id) for this customer")
        }
        return (agreement, chain)
    }

    /// Every agreement of the customer with its live numbers.
    func state(_ id: String, now: UInt64) async throws -> JSON {
        let session = try await session(id, now: now)
        var cards: [JSON] = []
        for agreement in try await ledger.agreements(customer: session.customer) {
            guard let chain = chains[agreement.chain] else { continue }
            cards.append(try await card(agreement, chain: chain))
        }
        return ["customer": .string(session.customer), "agreements": .array(cards)]
    }

    /// The next invoice's amount (the earliest not yet paid; else the last one, for reference) and the readiness for it.
    func card(_ agreement: Agreement, chain: any ChainView) async throws -> JSON {
        let decimals = try chain.decimals(of: agreement.token)
        let charges = try await ledger.charges(agreement: agreement.id)
        let next = Self.nextOpen(charges)
        let reference = next ?? charges.first
        let capacity = try await chain.capacity.capacity(wallet: agreement.wallet, token: agreement.token)
        let inFlight = charges.contains { $0.state.hasLiveAttempt }
        var readiness: JSON = .null, advice: JSON = .null, suggested: JSON = .null
        if let amount = reference?.tokenAmount.baseUnits {
            let verdict = PaymentReadiness.decide(balance: capacity.balance, allowance: capacity.allowance, amount: amount)
            readiness = .string(verdict.rawValue)
            advice = .string(verdict.advice(balanceShort: capacity.balance < amount))
            let payments = allowancePayments["month"] ?? 13
            let target = Self.suggested(amount, payments: payments)
            suggested = ["amount": .string(target.description), "display": .string(AmountText.short(target, decimals: decimals)),
                         "payments": .number(String(payments))]
        }
        var history: [JSON] = []
        for charge in charges where charge.state == .settled || charge.state == .reported {
            let attempt = try await ledger.attempts(charge: charge.id).last { $0.outcome != .dead && $0.outcome != .replaced }
            history.append(["invoice": .string(charge.invoice), "amount": .string(AmountText.short(charge.tokenAmount.baseUnits, decimals: decimals)),
                            "due_at": .number(String(charge.dueAt)), "transaction": attempt.map { .string($0.transactionID) } ?? .null,
                            "transaction_url": chain.transactionURL(attempt?.transactionID)])
        }
        return [
            "id": .number(String(agreement.id)), "chain": .string(agreement.chain), "family": .string(chain.family),
            "chain_id": chain.walletChainID.map { .string($0) } ?? .null, "token": .string(agreement.token), "decimals": .number(String(decimals)),
            "wallet": .string(agreement.wallet), "tokens": .array(try await tokens(agreement, chain: chain, askStripe: false).symbols.map { .string($0) }), "subscription": agreement.subscription.map { .string($0) } ?? .null,
            "balance": .string(AmountText.short(capacity.balance, decimals: decimals)),
            "allowance": .string(AmountText.short(capacity.allowance, decimals: decimals)), "allowance_units": .string(capacity.allowance.description),
            "next": next.map { ["invoice": .string($0.invoice), "amount": .string(AmountText.short($0.tokenAmount.baseUnits, decimals: decimals)),
                                "due_at": .number(String($0.dueAt)), "state": .string($0.state.rawValue)] } ?? .null,
            "readiness": readiness, "advice": advice, "suggested": suggested, "in_flight": .bool(inFlight), "history": .array(history),
        ]
    }

    /// The transactions the wallet signs, in order. A raise: an approval of `amount` by the agreement's wallet; stop
    /// paying: an approval of zero. A change (`wallet` and `token` given): an approval by `wallet` in `token` of `amount`,
    /// by default the suggested allowance for the next invoice priced in that token. A token that refuses to change a
    /// standing allowance gets `approve(0)` first (`ApprovalTransactions`).
    func approvalTransactions(_ id: String, agreement number: Int64, amount: UInt256?, token: String?, wallet: String?, now: UInt64) async throws -> JSON {
        let session = try await session(id, now: now)
        let (agreement, chain) = try await agreement(session, number)
        guard (token == nil) == (wallet == nil) else { throw APIError.badRequest("a change names both 'wallet' and 'token'") }
        let payer = try wallet.map { text throws(APIError) in try chain.canonicalWallet(text) } ?? agreement.wallet
        var symbol = agreement.token
        if let token { symbol = try await tokens(agreement, chain: chain, askStripe: true).check(token, on: chain.name) }
        let target: UInt256
        if let amount {
            target = amount
        } else if let next = try await nextPayment(agreement, token: symbol) {
            target = Self.suggested(next, payments: allowancePayments["month"] ?? 13)
        } else {
            throw APIError.badRequest("'amount' is required: this agreement has no invoice to size the allowance from")
        }
        if token != nil, let next = try await nextPayment(agreement, token: symbol), target < next {
            let decimals = try chain.decimals(of: symbol)
            throw APIError.badRequest("an allowance of \(AmountText.display(target, decimals: decimals)) does not cover the next payment (\(AmountText.display(next, decimals: decimals)))")
        }
        return try await ApprovalTransactions.build(chain: chain, wallet: payer, token: symbol, amount: target)
    }

    /// The tokens an agreement may pay with, and whether it is on one of Settle's items (its terms then live in the
    /// ledger alone, not in Stripe's metadata).
    struct AcceptedTokens {
        var symbols: [String]
        var native: Bool

        /// `token` as one of `symbols`, upper-case; a clear refusal otherwise.
        func check(_ token: String, on chain: String) throws(APIError) -> String {
            guard symbols.contains(token.uppercased()) else {
                throw APIError.badRequest("'token' must be one of \(symbols.joined(separator: ", ")) for this agreement on \(chain), got '\(token)'")
            }
            return token.uppercased()
        }
    }

    /// The tokens an agreement may pay with: its chain's, narrowed by its item's list (Settle's own billing) or, when
    /// `askStripe`, by its Stripe price's `settle_tokens` metadata. The token it pays with now stays listed.
    func tokens(_ agreement: Agreement, chain: any ChainView, askStripe: Bool) async throws -> AcceptedTokens {
        let offered = chain.tokens.map(\.symbol)
        var accepted: [String]?
        let subscription = try await ledger.itemSubscription(agreement: agreement.id)
        if let (_, item) = subscription {
            accepted = item.tokens
        } else if askStripe, stripe.isConfigured, let subscription = agreement.subscription, subscription.hasPrefix("sub_") {
            let object = try await CheckoutService.stripeStep("reading the subscription's price") {
                try await stripe.get("/v1/subscriptions/\(subscription)", ["expand": ["items.data.price"]])
            }
            accepted = ItemBilling.tokens(metadata: object["items"]?["data"]?.arrayValue?.first?["price"]?["metadata"]?["settle_tokens"]?.stringValue)
        }
        let allowed = ItemBilling.accepted(restriction: accepted, offered: offered)
        return AcceptedTokens(symbols: allowed.contains(agreement.token.uppercased()) ? allowed : allowed + [agreement.token.uppercased()],
                              native: subscription != nil)
    }

    /// The next invoice's amount (the earliest open one, else the latest) priced in `token`: the charge's own amount in its
    /// own token, else its price converted at today's rate. Nil when the agreement has no charge.
    func nextPayment(_ agreement: Agreement, token: String) async throws -> UInt256? {
        let charges = try await ledger.charges(agreement: agreement.id)
        guard let charge = Self.nextOpen(charges) ?? charges.first else { return nil }
        if charge.terms.token.uppercased() == token.uppercased() { return charge.tokenAmount.baseUnits }
        do {
            let priced = try pricing(agreement.chain)(token, charge.amount.currency)
            return try charge.amount.tokenAmount(decimals: priced.decimals, rate: priced.rate).baseUnits
        } catch {
            throw APIError.conflict("\(charge.amount.currency.code) cannot be priced in \(token) here: \(error)")
        }
    }

    /// The earliest charge not yet paid nor in flight: the next invoice.
    static func nextOpen(_ charges: [Charge]) -> Charge? {
        let open: Set<ChargeState> = [.ingested, .due, .awaitingFunds]
        return charges.filter { open.contains($0.state) }.min { $0.dueAt < $1.dueAt }
    }

    /// The allowance suggested for payments of `amount`: `payments` of them (a month's interval, as the API suggests).
    static func suggested(_ amount: UInt256, payments: UInt64) -> UInt256 {
        (try? SuggestedAllowance.compute(amount: amount, interval: "month", intervalCount: 1, payments: payments)) ?? amount
    }

    /// The page reports a raise, a revoke or a change it sent; the server reads it from the chain, carries a change out
    /// when the evidence allows, and answers the new state.
    func report(_ id: String, csrf: String?, agreement number: Int64, action: String, transaction: String, token: String?, now: UInt64) async throws -> JSON {
        let session = try await session(id, now: now)
        guard let csrf, CheckoutService.same(csrf, session.csrf) else { throw APIError(.forbidden, "csrf", "missing or wrong X-Settle-CSRF header: reload the page") }
        guard ["raise", "revoke", "change"].contains(action) else { throw APIError.badRequest("'action' must be raise, revoke or change") }
        guard !transaction.isEmpty, transaction.utf8.count <= 120 else { throw APIError.badRequest("'transaction' must be a transaction hash or signature") }
        let (agreement, chain) = try await agreement(session, number)
        let change = action == "change"
        guard change == (token != nil) else { throw APIError.badRequest("'token' goes with the change action, and only with it") }
        // A change's tokens are read once (the item, or Stripe's price) and used for the check and the change itself.
        let accepted = change ? try await tokens(agreement, chain: chain, askStripe: true) : nil
        var symbol = agreement.token
        if let token, let accepted { symbol = try accepted.check(token, on: chain.name) }
        // A change must cover the next payment in its token; a raise or a revoke only has to be the wallet's.
        let minimum = change ? try await nextPayment(agreement, token: symbol) ?? 1 : 1
        let revoke = action == "revoke"
        // The concrete view, as in checkout: through `any ChainView` Swift 6.3.1 miscompiled this async call. Written out
        // here and in `CheckoutService.verify` on purpose: one static helper taking `any ChainView` for both crashed
        // the same way (a call through a null pointer in the OpenAPI test).
        let verdict: ApprovalVerdict
        if let evm = chain as? EVMChainView {
            verdict = try await evm.evmApprovalVerdict(transaction: transaction, token: symbol, minimum: minimum, revoke: revoke)
        } else if let solana = chain as? SolanaChainView {
            verdict = try await solana.solanaApprovalVerdict(transaction: transaction, token: symbol, minimum: minimum, revoke: revoke)
        } else {
            throw APIError.conflict("chain \(agreement.chain) cannot check approvals")
        }
        var outcome: JSON
        switch (verdict, accepted) {  // `accepted` is there exactly for a change
        case (.pending, _):
            outcome = ["status": "pending"]
        case (.refused(let why), _):
            outcome = ["status": "refused", "problem": .string(why)]
        case (.proven(let proof), .some(let accepted)):
            outcome = try await applyChange(agreement, wallet: proof.wallet, token: symbol, accepted: accepted, transaction: transaction, now: now)
        case (.proven(let proof), nil) where proof.wallet != agreement.wallet:
            outcome = ["status": "refused", "problem": .string("signed by \(proof.wallet), not by this agreement's wallet \(agreement.wallet)")]
        case (.proven, nil):
            outcome = ["status": "done"]
            logger.info("portal \(action) seen on chain", metadata: ["agreement": "\(agreement.id)", "transaction": "\(transaction)"])
        }
        guard case .object(var members) = try await state(id, now: now) else { return outcome }
        members.append(("action", outcome))
        return .object(members)
    }

    /// A proven approval from `wallet` in `token`: when `PaymentChange` says so, Stripe's `settle_*` metadata first (the
    /// terms billing reads for every invoice), then the agreement, whose charges with no transaction that could land are
    /// re-pinned (and re-priced) in the same ledger transaction.
    func applyChange(_ agreement: Agreement, wallet: String, token: String, accepted: AcceptedTokens, transaction: String, now: UInt64) async throws -> JSON {
        let inFlight = try await ledger.charges(agreement: agreement.id).contains { $0.state.hasLiveAttempt }
        switch PaymentChange.decide(current: (agreement.wallet, agreement.token), proven: (wallet, token),
                                    accepted: Set(accepted.symbols), inFlight: inFlight) {
        case .unchanged:
            return ["status": "done"]
        case .wait(let why):
            return ["status": "waiting", "problem": .string(why)]
        case .refuse(let why):
            return ["status": "refused", "problem": .string(why)]
        case .apply(let wallet, let proven):
            let token = proven == agreement.token.uppercased() ? agreement.token : proven  // the same token as written before
            let metadata: JSON = ["settle_chain": .string(agreement.chain), "settle_token": .string(token), "settle_wallet": .string(wallet)]
            let path = agreement.subscription.map { "/v1/subscriptions/\($0)" } ?? "/v1/customers/\(agreement.customer)"
            let key = "settle-portal-change-\(agreement.id)-\(transaction.prefix(90))"
            // Settle's own billing keeps its terms in the ledger alone; Stripe's reads them from the metadata.
            if !accepted.native {
                _ = try await CheckoutService.stripeStep("changing the payment terms") {
                    try await stripe.post(path, ["metadata": metadata], idempotencyKey: key)
                }
            }
            _ = try await ledger.upsertAgreement(customer: agreement.customer, subscription: agreement.subscription, chain: agreement.chain,
                                                 token: token, wallet: wallet, pricing: pricing(agreement.chain), now: now)
            logger.notice("portal payment change applied", metadata: [
                "agreement": "\(agreement.id)", "wallet": "\(agreement.wallet) → \(wallet)", "token": "\(agreement.token) → \(token)",
                "transaction": "\(transaction)"])
            return ["status": "done"]
        }
    }
}
