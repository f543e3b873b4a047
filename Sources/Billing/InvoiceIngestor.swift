import Logging
import SettleCore
import Settlement

/// Brings the ledger in line with one Stripe invoice, whatever told Settle about it (a webhook, the safety-net poll,
/// a manual command). Level-triggered: it looks at the invoice as Stripe has it now, so replays, duplicates and
/// events arriving out of order all come to the same result.
///
/// - open, `send_invoice`, with an agreement: one charge for the amount remaining, due at the due date; later
///   changes of amount or due date update it while no transaction of it exists;
/// - $0, or under the minimum: not collected (recorded as a finding);
/// - no agreement (or an unusable one): reported as a finding and to the merchant, never guessed;
/// - void, uncollectible, or paid elsewhere: the charge is cancelled unless a transaction is in flight (then
///   reported: money may be moving for a closed invoice).
public struct InvoiceIngestor: Sendable {
    public let ledger: Ledger
    public let store: BillingStore
    public let stripe: StripeClient
    public let catalog: ChainCatalog
    public let rates: any RateProvider
    /// Live balance and allowance per chain name, for the pre-check ahead of the due date.
    public let capacity: [String: any CapacityReader]
    public let policy: BillingPolicy
    public let logger: Logger

    public init(ledger: Ledger, store: BillingStore, stripe: StripeClient, catalog: ChainCatalog, rates: any RateProvider,
                capacity: [String: any CapacityReader] = [:], policy: BillingPolicy = BillingPolicy(), logger: Logger) {
        self.ledger = ledger
        self.store = store
        self.stripe = stripe
        self.catalog = catalog
        self.rates = rates
        self.capacity = capacity
        self.policy = policy
        self.logger = logger
    }

    /// What reconciling an invoice did.
    public enum Outcome: Hashable, Sendable {
        case created(charge: Int64)
        case updated(charge: Int64)
        case unchanged(charge: Int64, state: ChargeState)
        case cancelled(charge: Int64)
        case skipped(InvoiceFinding.Kind)
        case ignored
    }

    /// Fetches the invoice from Stripe and reconciles it.
    @discardableResult
    public func reconcile(invoiceID: String, now: UInt64) async throws -> Outcome {
        try await reconcile(StripeInvoice(json: try await stripe.get("/v1/invoices/\(try StripeID.checked(invoiceID))")), now: now)
    }

    /// Reconciles the ledger with `invoice` as Stripe has it. `terms`, when the caller already read them for this
    /// invoice (see `precheckAndReconcile`), saves reading the subscription and customer from Stripe again.
    @discardableResult
    public func reconcile(_ invoice: StripeInvoice, terms known: AgreementTerms.Reading? = nil, now: UInt64) async throws -> Outcome {
        let existing = try await ledger.charge(invoice: invoice.id)
        var log = logger
        log[metadataKey: "invoice.id"] = "\(invoice.id)"
        switch invoice.status {
        case .draft:
            return .ignored
        case .void, .uncollectible, .paid:
            guard let existing else { return .ignored }
            guard Ledger.quiescentStates.contains(existing.state) else {
                if existing.state.hasLiveAttempt {
                    try await store.record(.closedWhileInFlight, invoice: invoice.id,
                                           detail: "Stripe shows the invoice \(invoice.status.rawValue) while Settle's transfer is \(existing.state.rawValue)",
                                           now: now)
                    log.warning("invoice closed in Stripe while a transfer is in flight; cancellation requested", metadata: ["charge.state": "\(existing.state.rawValue)"])
                    // Signed bytes may already be in a pool: the charge waits for proof that none lands.
                    let state = try await ledger.cancel(existing.id, reason: "invoice \(invoice.status.rawValue) in Stripe while in flight", now: now)
                    return .unchanged(charge: existing.id, state: state)
                }
                return .unchanged(charge: existing.id, state: existing.state)
            }
            let state = try await ledger.cancel(existing.id, reason: "invoice \(invoice.status.rawValue) in Stripe", now: now)
            if state == .cancelled {
                log.info("charge cancelled", metadata: ["stripe.status": "\(invoice.status.rawValue)"])
                try await store.resolveFindings(invoice: invoice.id, now: now)
                return .cancelled(charge: existing.id)
            }
            return .unchanged(charge: existing.id, state: state)
        case .open:
            guard invoice.collectionMethod == .sendInvoice else {
                if let existing { return .unchanged(charge: existing.id, state: existing.state) }
                return .ignored  // Stripe collects it itself; `settled audit stripe` reports agreements left on cards
            }
            if invoice.amountRemaining == 0 {
                try await store.record(.zeroAmount, invoice: invoice.id, detail: "nothing to collect", now: now)
                return .skipped(.zeroAmount)
            }
            let minimum = policy.minimumAmount * Self.power(of: 10, invoice.currency.exponent)
            if invoice.amountRemaining < minimum, existing == nil {
                try await store.record(.belowMinimum, invoice: invoice.id,
                                       detail: "\(invoice.amountRemaining) minor units is under the minimum of \(minimum); Stripe rolls it into the next invoice",
                                       now: now)
                return .skipped(.belowMinimum)
            }
            let terms: AgreementTerms
            let reading: AgreementTerms.Reading
            if let known { reading = known } else { reading = try await agreementTerms(for: invoice) }
            switch reading {
            case .absent:
                if let existing { return .unchanged(charge: existing.id, state: existing.state) }
                try await store.record(.noAgreement, invoice: invoice.id,
                                       detail: "neither subscription nor customer \(invoice.customer) has settle_chain, settle_token and settle_wallet metadata",
                                       data: ["customer": .string(invoice.customer)], now: now)
                log.warning("invoice without an agreement: not collected")
                return .skipped(.noAgreement)
            case .invalid(let problem):
                if let existing { return .unchanged(charge: existing.id, state: existing.state) }
                try await store.record(.badAgreement, invoice: invoice.id, detail: problem, data: ["customer": .string(invoice.customer)], now: now)
                log.warning("invoice with an unusable agreement: not collected", metadata: ["problem": "\(problem)"])
                return .skipped(.badAgreement)
            case .terms(let found):
                terms = found
            }
            let agreement = try await ledger.upsertAgreement(customer: invoice.customer, subscription: invoice.subscription, chain: terms.chain,
                                                             token: terms.token, wallet: terms.wallet, pricing: pricing(chain: terms.chain), now: now)
            let amount = Money(minorUnits: invoice.amountRemaining, currency: invoice.currency)
            let (rate, rateAt) = try rates.rate(currency: invoice.currency, token: terms.token)
            // The agreement change above may have re-pinned it: read it again, and price it in the token it pins.
            if let existing = try await ledger.charge(invoice: invoice.id) {
                guard existing.amount != amount || existing.dueAt != invoice.dueAt else {
                    return .unchanged(charge: existing.id, state: existing.state)
                }
                let pinned = try pricing(chain: existing.terms.chain)(existing.terms.token, invoice.currency)
                if try await ledger.updateTerms(existing, amount: amount, tokenDecimals: pinned.decimals, rate: pinned.rate, rateAt: pinned.rateAt,
                                                dueAt: invoice.dueAt, now: now) {
                    log.info("charge terms updated", metadata: ["amount": "\(amount.minorUnits)", "due_at": "\(invoice.dueAt)"])
                    return .updated(charge: existing.id)
                }
                return .unchanged(charge: existing.id, state: existing.state)
            }
            let (charge, created) = try await ledger.createCharge(invoice: invoice.id, agreement: agreement.id, amount: amount,
                                                                   tokenDecimals: terms.decimals, rate: rate, rateAt: rateAt, dueAt: invoice.dueAt,
                                                                   asset: catalog.assets[terms.chain]?[terms.token.uppercased()],
                                                                   treasury: catalog.treasuries[terms.chain], now: now)
            try await store.resolveFindings(invoice: invoice.id, now: now)
            if created { log.info("charge created", metadata: ["amount": "\(amount.minorUnits)", "due_at": "\(invoice.dueAt)", "chain": "\(terms.chain)"]) }
            return created ? .created(charge: charge.id) : .unchanged(charge: charge.id, state: charge.state)
        }
    }

    /// Decimals (from the chain files) and rate of a token on `chain`, to price or re-price a charge in it.
    public func pricing(chain: String) -> Ledger.Pricing {
        let (catalog, rates) = (catalog, rates)
        return { token, currency in
            guard let decimals = catalog.tokens[chain]?[token.uppercased()] else {
                throw BillingError(.invalidInput, "\(token) is not a token of \(chain)")
            }
            let (rate, at) = try rates.rate(currency: currency, token: token)
            return (decimals, rate, at, catalog.assets[chain]?[token.uppercased()])
        }
    }

    /// The agreement an invoice names: its subscription's metadata (from the invoice, or fetched), else its
    /// customer's.
    public func agreementTerms(for invoice: StripeInvoice) async throws -> AgreementTerms.Reading {
        var reading = AgreementTerms.read(invoice.subscriptionMetadata, catalog: catalog)
        if case .absent = reading, let subscription = invoice.subscription {
            reading = AgreementTerms.read(StripeInvoice.strings(try await stripe.get("/v1/subscriptions/\(subscription)")["metadata"]), catalog: catalog)
        }
        if case .absent = reading {
            reading = AgreementTerms.read(StripeInvoice.strings(try await stripe.get("/v1/customers/\(invoice.customer)")["metadata"]), catalog: catalog)
        }
        return reading
    }

    /// Checks ahead of the due date whether the wallet could pay `invoice` now, and tells the merchant once
    /// (`allowance.at_risk`) when it could not.
    /// - Returns: what is short (empty when the wallet can pay), or nil when there is nothing to check.
    @discardableResult
    public func precheck(_ invoice: StripeInvoice, terms known: AgreementTerms.Reading? = nil, now: UInt64) async throws -> FundsShortfall? {
        guard Self.mayPrecheck(invoice) else { return nil }
        let reading: AgreementTerms.Reading
        if let known { reading = known } else { reading = try await agreementTerms(for: invoice) }
        guard case .terms(let terms) = reading, let reader = capacity[terms.chain] else { return nil }
        let (rate, _) = try rates.rate(currency: invoice.currency, token: terms.token)
        let amount = try Money(minorUnits: invoice.amountRemaining, currency: invoice.currency).tokenAmount(decimals: terms.decimals, rate: rate)
        let shortfall = try await reader.capacity(wallet: terms.wallet, token: terms.token).shortfall(for: amount.baseUnits)
        guard !shortfall.isEmpty else { return shortfall }
        let data: JSON = [
            "invoice": .string(invoice.id), "customer": .string(invoice.customer), "subscription": invoice.subscription.map { .string($0) } ?? .null,
            "chain": .string(terms.chain), "token": .string(terms.token), "wallet": .string(terms.wallet),
            "amount": .number(String(invoice.amountRemaining)), "currency": .string(invoice.currency.code.lowercased()),
            "token_amount": .string(amount.baseUnits.description), "due_at": .number(String(invoice.dueAt)),
            "reason": .string(shortfall.reason), "reasons": .array(shortfall.reason.split(separator: "+").map { .string(String($0)) }),
        ]
        try await Outbox(database: ledger.database).enqueueOnce(kind: "at_risk", eventID: "evt_settle_\(invoice.id)_at_risk", type: .allowanceAtRisk,
                                                              invoice: invoice.id, data: data, now: now)
        logger.info("upcoming invoice at risk", metadata: ["invoice.id": "\(invoice.id)", "reason": "\(shortfall.reason)"])
        return shortfall
    }

    /// Pre-checks then reconciles `invoice`, reading its agreement from Stripe once for both.
    public func precheckAndReconcile(_ invoice: StripeInvoice, now: UInt64) async throws {
        guard Self.mayPrecheck(invoice) else {
            try await reconcile(invoice, now: now)
            return
        }
        let terms = try await agreementTerms(for: invoice)
        try await precheck(invoice, terms: terms, now: now)
        try await reconcile(invoice, terms: terms, now: now)
    }

    /// A draft or open `send_invoice` invoice with something to pay: the ones a pre-check reads an agreement for.
    static func mayPrecheck(_ invoice: StripeInvoice) -> Bool {
        (invoice.status == .draft || invoice.status == .open) && invoice.collectionMethod == .sendInvoice && invoice.amountRemaining > 0
    }

    static func power(of base: UInt64, _ exponent: Int) -> UInt64 {
        (0..<max(exponent, 0)).reduce(1) { value, _ in value * base }
    }
}
