import Billing
import ChainAdapters
import Foundation
import Logging
import SettleCore
import Settlement

/// The customer portal: a short-lived link (`POST /v1/portal_sessions`) to one customer's page with every agreement —
/// balance, allowance to the merchant, the next invoice and whether the wallet can pay it, the payment history — and
/// two actions signed in the customer's wallet: raise the allowance, and stop paying (a revoke). Each action is read
/// back from the chain before the page says it happened; the agreement's wallet must be the one that signed.
public struct PortalService: Sendable {
    public var sessions: PageSessionStore
    public var ledger: Ledger
    public var stripe: StripeClient
    public var chains: [String: any ChainView]
    public var allowancePayments: [String: UInt64]
    public var publicURL: String
    public var logger: Logger

    public init(sessions: PageSessionStore, ledger: Ledger, stripe: StripeClient, chains: [any ChainView], allowancePayments: [String: UInt64],
                publicURL: String, logger: Logger) {
        self.sessions = sessions
        self.ledger = ledger
        self.stripe = stripe
        self.chains = Dictionary(chains.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.allowancePayments = allowancePayments
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
        let found = try await CheckoutService.stripeStep("reading the customer") { try await stripe.get("/v1/customers/\(customer)") }
        guard found["deleted"] != .bool(true) else { throw APIError.notFound("customer \(customer) is deleted in Stripe") }
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
        let open: Set<ChargeState> = [.ingested, .due, .awaitingFunds]
        let next = charges.filter { open.contains($0.state) }.min { $0.dueAt < $1.dueAt }
        let reference = next ?? charges.first
        let capacity = try await chain.capacity.capacity(wallet: agreement.wallet, token: agreement.token)
        let inFlight = charges.contains { $0.state.hasLiveAttempt }
        var readiness: JSON = .null, advice: JSON = .null, suggested: JSON = .null
        if let amount = reference?.tokenAmount.baseUnits {
            let verdict = PaymentReadiness.decide(balance: capacity.balance, allowance: capacity.allowance, amount: amount)
            readiness = .string(verdict.rawValue)
            advice = .string(verdict.advice(balanceShort: capacity.balance < amount))
            let payments = allowancePayments["month"] ?? 13
            let target = (try? SuggestedAllowance.compute(amount: amount, interval: "month", intervalCount: 1, payments: payments)) ?? amount
            suggested = ["amount": .string(target.description), "display": .string(AmountText.short(target, decimals: decimals)),
                         "payments": .number(String(payments))]
        }
        var history: [JSON] = []
        for charge in charges where charge.state == .settled || charge.state == .reported {
            let attempt = try await ledger.attempts(charge: charge.id).last { $0.outcome != .dead && $0.outcome != .replaced }
            history.append(["invoice": .string(charge.invoice), "amount": .string(AmountText.short(charge.tokenAmount.baseUnits, decimals: decimals)),
                            "due_at": .number(String(charge.dueAt)), "transaction": attempt.map { .string($0.transactionID) } ?? .null])
        }
        return [
            "id": .number(String(agreement.id)), "chain": .string(agreement.chain), "family": .string(chain.family),
            "chain_id": chain.walletChainID.map { .string($0) } ?? .null, "token": .string(agreement.token), "decimals": .number(String(decimals)),
            "wallet": .string(agreement.wallet), "subscription": agreement.subscription.map { .string($0) } ?? .null,
            "balance": .string(AmountText.short(capacity.balance, decimals: decimals)),
            "allowance": .string(AmountText.short(capacity.allowance, decimals: decimals)), "allowance_units": .string(capacity.allowance.description),
            "next": next.map { ["invoice": .string($0.invoice), "amount": .string(AmountText.short($0.tokenAmount.baseUnits, decimals: decimals)),
                                "due_at": .number(String($0.dueAt)), "state": .string($0.state.rawValue)] } ?? .null,
            "readiness": readiness, "advice": advice, "suggested": suggested, "in_flight": .bool(inFlight), "history": .array(history),
        ]
    }

    /// The transaction the wallet signs: an approval of `amount` (a raise), or of zero (stop paying).
    func approvalTransactions(_ id: String, agreement number: Int64, amount: UInt256, now: UInt64) async throws -> JSON {
        let session = try await session(id, now: now)
        let (agreement, chain) = try await agreement(session, number)
        return ["transactions": .array([try await chain.unsignedApproval(wallet: agreement.wallet, token: agreement.token, amount: amount)])]
    }

    /// The page reports a raise or a revoke it sent; the server reads it from the chain and answers the new state.
    func report(_ id: String, csrf: String?, agreement number: Int64, action: String, transaction: String, now: UInt64) async throws -> JSON {
        let session = try await session(id, now: now)
        guard let csrf, CheckoutService.same(csrf, session.csrf) else { throw APIError(.forbidden, "csrf", "missing or wrong X-Settle-CSRF header: reload the page") }
        guard action == "raise" || action == "revoke" else { throw APIError.badRequest("'action' must be raise or revoke") }
        guard !transaction.isEmpty, transaction.utf8.count <= 120 else { throw APIError.badRequest("'transaction' must be a transaction hash or signature") }
        let (agreement, chain) = try await agreement(session, number)
        let revoke = action == "revoke"
        // The concrete view, as in checkout: through `any ChainView` Swift 6.3.1 miscompiled this async call. Written out
        // here and in `CheckoutService.verify` on purpose: one static helper taking `any ChainView` for both crashed
        // the same way (a call through a null pointer in the OpenAPI test).
        let verdict: ApprovalVerdict
        if let evm = chain as? EVMChainView {
            verdict = try await evm.evmApprovalVerdict(transaction: transaction, token: agreement.token, minimum: 1, revoke: revoke)
        } else if let solana = chain as? SolanaChainView {
            verdict = try await solana.solanaApprovalVerdict(transaction: transaction, token: agreement.token, minimum: 1, revoke: revoke)
        } else {
            throw APIError.conflict("chain \(agreement.chain) cannot check approvals")
        }
        var outcome: JSON
        switch verdict {
        case .pending:
            outcome = ["status": "pending"]
        case .refused(let why):
            outcome = ["status": "refused", "problem": .string(why)]
        case .proven(let proof) where proof.wallet != agreement.wallet:
            outcome = ["status": "refused", "problem": .string("signed by \(proof.wallet), not by this agreement's wallet \(agreement.wallet)")]
        case .proven:
            outcome = ["status": "done"]
            logger.info("portal \(action) seen on chain", metadata: ["agreement": "\(agreement.id)", "transaction": "\(transaction)"])
        }
        guard case .object(var members) = try await state(id, now: now) else { return outcome }
        members.append(("action", outcome))
        return .object(members)
    }
}
