import Logging
import SettleCore
import Settlement

/// Works through the inbox: each stored event, oldest first, in order per object (an event whose object has an
/// earlier event still failing waits behind it). Invoice events reconcile the invoice as Stripe has it now (fetched),
/// so a stale or out-of-order payload cannot undo a newer state; a failure (Stripe down) leaves the event in the
/// inbox for the next pass. Nothing is lost: the event was stored before Stripe got its 2xx.
public struct StripeEventProcessor: Sendable {
    public let store: BillingStore
    public let ingestor: InvoiceIngestor
    /// Reads what allowance a cancelled subscription's wallet still gives us (nil: not checked).
    public let allowances: (any AllowanceWatch)?

    public init(store: BillingStore, ingestor: InvoiceIngestor, allowances: (any AllowanceWatch)? = nil) {
        self.allowances = allowances
        self.store = store
        self.ingestor = ingestor
    }

    /// The event types Settle acts on; others are stored and marked processed.
    public static let handledTypes: Set<String> = [
        "invoice.created", "invoice.finalized", "invoice.updated", "invoice.voided", "invoice.marked_uncollectible", "invoice.paid",
        "invoice.payment_succeeded", "customer.subscription.updated", "customer.subscription.deleted",
    ]

    public struct Report: Hashable, Sendable {
        public var processed = 0
        public var failed = 0
        public var deferred = 0
    }

    /// Processes what is pending at `now`.
    @discardableResult
    public func runOnce(now: UInt64) async throws -> Report {
        var report = Report()
        var blocked: Set<String> = []
        for event in try await store.claimEvents(now: now) {
            if let object = event.objectID, blocked.contains(object) {
                try await store.release(event)  // after the earlier event of its object, at the next pass
                report.deferred += 1
                continue
            }
            do {
                try await handle(event, now: now)
                try await store.finish(event, error: nil, now: now)
                report.processed += 1
            } catch {
                // Stripe or the network failing: the next pass. Anything else will fail again: back off (30 s,
                // doubling, at most an hour), so it cannot hold back newer events.
                let transient = (error as? StripeError)?.isRetryable ?? ((error as? BillingError)?.code == .unavailable)
                let backoff = UInt64(30) << UInt64(min(max(event.attempts, 0), 7))  // a stored count, never negative here
                try await store.finish(event, error: "\(error)", retryAt: transient ? nil : now + min(backoff, 3_600), now: now)
                if let object = event.objectID { blocked.insert(object) }
                report.failed += 1
                ingestor.logger.warning("Stripe event not processed yet; retried next pass",
                                        metadata: ["stripe.event": "\(event.id)", "stripe.type": "\(event.type)", "error": "\(error)"])
            }
        }
        return report
    }

    private func handle(_ event: StoredEvent, now: UInt64) async throws {
        guard Self.handledTypes.contains(event.type) else { return }
        let object = try JSON(parsing: event.payload)["data"]?["object"] ?? .null
        if event.type.hasPrefix("invoice.") {
            guard let id = object["id"]?.stringValue else { throw BillingError(.malformed, "invoice event \(event.id) without an invoice id") }
            let current: StripeInvoice
            do {
                current = try StripeInvoice(json: try await ingestor.stripe.get("/v1/invoices/\(try StripeID.checked(id))"))
            } catch let error as StripeError where error.status == 404 {
                ingestor.logger.warning("invoice of a Stripe event no longer exists", metadata: ["invoice.id": "\(id)"])
                return
            }
            if event.type == "invoice.created" || event.type == "invoice.finalized" {
                try await ingestor.precheckAndReconcile(current, now: now)
            } else {
                try await ingestor.reconcile(current, now: now)
            }
        } else {
            try await subscriptionChanged(object, deleted: event.type == "customer.subscription.deleted", now: now)
        }
    }

    /// A subscription changed: a new wallet, chain or token in its metadata updates the agreement (charges not yet
    /// in flight pull from the new wallet); an agreement left on `charge_automatically` is reported.
    private func subscriptionChanged(_ subscription: JSON, deleted: Bool, now: UInt64) async throws {
        guard let id = subscription["id"]?.stringValue, let customer = subscription["customer"]?.stringValue else {
            throw BillingError(.malformed, "subscription event without id or customer")
        }
        guard case .terms(let terms) = AgreementTerms.read(StripeInvoice.strings(subscription["metadata"]), catalog: ingestor.catalog) else { return }
        if deleted {
            // Open invoices keep their charges; Stripe voids what it no longer wants collected. An allowance still
            // standing is the customer's exposure: the merchant gets it with an unsigned revoke to pass on.
            if let allowances, var data = try await allowances.orphaned(chain: terms.chain, wallet: terms.wallet, token: terms.token),
               case .object(var members) = data {
                members.append(("subscription", .string(id)))
                members.append(("customer", .string(customer)))
                data = .object(members)
                let eventID = "evt_settle_\(id)_allowance_orphaned"
                let stored = data
                try await Outbox(database: ingestor.ledger.database).enqueue(eventID: eventID, type: .allowanceOrphaned, invoice: nil,
                                                                             data: stored, now: now)
            }
            return
        }
        _ = try await ingestor.ledger.upsertAgreement(customer: customer, subscription: id, chain: terms.chain, token: terms.token,
                                                      wallet: terms.wallet, pricing: ingestor.pricing(chain: terms.chain), now: now)
        if subscription["collection_method"]?.stringValue == "charge_automatically" {
            try await store.record(.chargeAutomatically, invoice: id,
                                   detail: "subscription \(id) has an agreement but would charge a card: run `settled audit stripe --fix`",
                                   data: ["subscription": .string(id), "customer": .string(customer)], now: now)
        }
    }
}
