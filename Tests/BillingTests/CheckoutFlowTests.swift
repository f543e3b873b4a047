import Billing
import SettleCore
import Store
import TestSupport
import Testing

/// The checkout's decisions, without I/O: which step comes next, when a report is taken, what a verdict does.
@Suite("Checkout flow: the next step from the progress alone")
struct CheckoutFlowTests {
    static func progress(_ step: CheckoutStep, transaction: Bool = false) -> CheckoutProgress {
        var progress = CheckoutProgress()
        progress.step = step
        if transaction { (progress.chain, progress.token, progress.transaction) = ("devnet", "USDC", "0xabc") }
        return progress
    }

    @Test("the action for every step, before and after expiry, with and without paying now")
    func actions() {
        let open = Self.progress(.open), approving = Self.progress(.approving, transaction: true)
        #expect(CheckoutFlow.action(open, expiresAt: 100, now: 99, payNow: true) == .awaitApproval)
        #expect(CheckoutFlow.action(open, expiresAt: 100, now: 100, payNow: true) == .expired)
        #expect(CheckoutFlow.action(approving, expiresAt: 100, now: 99, payNow: true) == .verifyApproval(chain: "devnet", token: "USDC", transaction: "0xabc"))
        #expect(CheckoutFlow.action(approving, expiresAt: 100, now: 100, payNow: true) == .expired)
        #expect(CheckoutFlow.action(Self.progress(.approving), expiresAt: 100, now: 50, payNow: true) == .awaitApproval)
        // Once the chain shows the approval, the checkout finishes whatever the clock says: the customer signed.
        for now in [UInt64(50), 100, 1_000_000] {
            #expect(CheckoutFlow.action(Self.progress(.approved), expiresAt: 100, now: now, payNow: true) == .switchSubscription)
            #expect(CheckoutFlow.action(Self.progress(.switched), expiresAt: 100, now: now, payNow: true) == .chargeInvoices)
            #expect(CheckoutFlow.action(Self.progress(.switched), expiresAt: 100, now: now, payNow: false) == .finish)
            #expect(CheckoutFlow.action(Self.progress(.charging), expiresAt: 100, now: now, payNow: true) == .watchInvoices)
            #expect(CheckoutFlow.action(Self.progress(.complete), expiresAt: 100, now: now, payNow: true) == .done)
        }
    }

    @Test("a report is taken while open or approving and before expiry, never after the approval is proven")
    func reports() {
        for step in CheckoutStep.allCases {
            let taken = CheckoutFlow.report(Self.progress(step), chain: "devnet", token: "USDC", transaction: "0x1", expiresAt: 100, now: 10)
            #expect((taken != nil) == (step == .open || step == .approving), "\(step)")
            #expect(taken.map { $0.step == .approving && $0.transaction == "0x1" && $0.problem == nil } ?? true)
            #expect(CheckoutFlow.report(Self.progress(step), chain: "devnet", token: "USDC", transaction: "0x1", expiresAt: 100, now: 100) == nil)
        }
    }

    @Test("a verdict: proven moves on with the chain's wallet; refused goes back to open with why; pending stays")
    func verdicts() {
        let approving = Self.progress(.approving, transaction: true)
        let proven = CheckoutFlow.verified(approving, wallet: "0xW", amount: "325.00", refusal: nil)
        #expect(proven.step == .approved && proven.wallet == "0xW" && proven.approved == "325.00")
        let refused = CheckoutFlow.verified(approving, wallet: nil, amount: nil, refusal: "a revoke")
        #expect(refused.step == .open && refused.problem == "a revoke" && refused.wallet == nil)
        #expect(CheckoutFlow.verified(approving, wallet: nil, amount: nil, refusal: nil) == approving)
    }

    @Test("progress survives its stored JSON; an unknown step is refused")
    func storage() throws {
        var progress = Self.progress(.charging, transaction: true)
        progress.wallet = "0xW"
        progress.invoices = ["in_1", "in_2"]
        #expect(try CheckoutProgress(json: progress.json) == progress)
        #expect(throws: BillingError.self) { try CheckoutProgress(json: ["step": "paid"]) }
    }
}

/// Page sessions on both backends: stored by the SHA-256 of their id, moved by compare-and-set.
@Suite("Page sessions: stored by hash, moved once")
struct PageSessionStoreTests {
    @Test("create, read by the id's hash, compare-and-set moves", arguments: SQLBackend.allCases)
    func store(backend: SQLBackend) async throws {
        let database = try await TestDatabases.fresh(backend, "pages")
        defer { (database as? PostgresPool)?.close() }
        try await BillingStore(database: database).migrate()
        let sessions = PageSessionStore(database: database)
        let (id, key) = PageSession.newID(.checkout)
        #expect(id.hasPrefix("cs_") && id.count == 46 && key == PageSession.key(of: id) && key.count == 64 && !key.contains(id.dropFirst(3)))
        #expect(PageSession.newID(.checkout).id != id)
        try await sessions.create(PageSession(key: key, purpose: .checkout, customer: "cus_1", request: Array("{}".utf8), csrf: "t",
                                              createdAt: 1, expiresAt: 100, state: "open", updatedAt: 1))
        #expect(try await sessions.session(key: key)?.customer == "cus_1")
        #expect(try await sessions.session(key: PageSession.key(of: id + "x")) == nil)
        #expect(try await sessions.move(key: key, from: "open", to: "approving", result: nil, now: 5))
        #expect(try await !sessions.move(key: key, from: "open", to: "approving", result: nil, now: 6))  // already moved
        let stored = try #require(try await sessions.session(key: key))
        #expect(stored.state == "approving" && stored.updatedAt == 5)
    }
}

@Suite("Payment readiness: the merchant guide's three cases")
struct PaymentReadinessTests {
    @Test("all set, top up, raise the allowance", arguments: [
        (UInt64(100), UInt64(100), UInt64(100), PaymentReadiness.allSet),
        (99, 100, 100, .topUp),
        (100, 99, 100, .raiseAllowance),
        (0, 0, 100, .raiseAllowance),
        (1_000, 0, 1, .raiseAllowance),
        (0, 1_000, 0, .allSet),
    ])
    func decide(balance: UInt64, allowance: UInt64, amount: UInt64, expected: PaymentReadiness) {
        #expect(PaymentReadiness.decide(balance: UInt256(balance), allowance: UInt256(allowance), amount: UInt256(amount)) == expected)
    }
}
