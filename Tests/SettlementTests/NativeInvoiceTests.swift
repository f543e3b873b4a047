import Foundation
import SettleCore
import Settlement
import Store
import TestSupport
import Testing

/// Native invoices in the ledger, on both backends: one invoice and one charge per agreement and period, whoever asks.
@Suite("Native invoices: one per agreement and period, with its charge, under racing issuers")
struct NativeInvoiceTests {
    static func ledger(_ backend: SQLBackend) async throws -> Ledger {
        let ledger = Ledger(database: try await TestDatabases.fresh(backend, "items"))
        try await ledger.migrate()
        return ledger
    }

    static func item(_ id: String = "item_pro", unit: String? = "hour", active: Bool = true) throws -> Item {
        Item(id: id, name: "Pro", kind: unit == nil ? .oneTime : .subscription, intervalUnit: unit, intervalCount: unit == nil ? nil : 1,
             price: Money(minorUnits: 500, currency: try Currency(code: "usd")), tokens: ["USDC"], allowancePayments: nil, active: active,
             autoInvoicingSince: 1_000, createdAt: 1_000)
    }

    @Test("items round-trip; a disabled item takes no new agreement; an agreement is on one item", arguments: SQLBackend.allCases)
    func items(backend: SQLBackend) async throws {
        let ledger = try await Self.ledger(backend)
        try await ledger.createItem(try Self.item())
        try await ledger.createItem(try Self.item("item_once", unit: nil))
        await #expect(throws: LedgerError.self) { try await ledger.createItem(try Self.item()) }
        #expect(try await ledger.item(id: "item_pro") == (try Self.item()))
        #expect(try await ledger.items().map(\.id) == ["item_once", "item_pro"])
        let agreement = try await ledger.agreement(customer: "cus_1", subscription: nil, chain: "base", token: "USDC", wallet: "0xabc")
        let subscribed = try await ledger.subscribe(agreement: agreement.id, item: "item_pro", anchor: 1_000, now: 1_000)
        #expect(subscribed == ItemSubscription(agreement: agreement.id, item: "item_pro", anchor: 1_000, lastPeriod: 0))
        #expect(try await ledger.subscribe(agreement: agreement.id, item: "item_pro", anchor: 9_999, now: 2_000) == subscribed)
        await #expect(throws: LedgerError.self) { try await ledger.subscribe(agreement: agreement.id, item: "item_once", anchor: 1_000, now: 1_000) }
        #expect(try await ledger.setItem("item_pro", active: false))
        let other = try await ledger.agreement(customer: "cus_2", subscription: nil, chain: "base", token: "USDC", wallet: "0xdef")
        await #expect(throws: LedgerError.self) { try await ledger.subscribe(agreement: other.id, item: "item_pro", anchor: 1_000, now: 1_000) }
        // Disabled, the existing agreement is still listed for renewals; a one-time item never is.
        #expect(try await ledger.itemSubscriptions().map(\.subscription.agreement) == [agreement.id])
        // Auto-invoicing: off, then on again counts from then; on while on keeps its start.
        #expect(try await ledger.setAutoInvoicing("item_pro", on: false, now: 5_000))
        #expect(try await ledger.setAutoInvoicing("item_pro", on: true, now: 7_000))
        #expect(try await ledger.setAutoInvoicing("item_pro", on: true, now: 9_000))
        #expect(try await ledger.item(id: "item_pro")?.autoInvoicingSince == 7_000)
    }

    @Test("twenty racing issuers of the same period make one invoice and one charge; last_period only moves forward", arguments: SQLBackend.allCases)
    func racing(backend: SQLBackend) async throws {
        let ledger = try await Self.ledger(backend)
        try await ledger.createItem(try Self.item())
        let agreement = try await ledger.agreement(customer: "cus_1", subscription: nil, chain: "base", token: "USDC", wallet: "0xabc")
        _ = try await ledger.subscribe(agreement: agreement.id, item: "item_pro", anchor: 1_000, now: 1_000)
        let price = try Self.item().price
        let created = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<20 {
                group.addTask {
                    try await ledger.issueInvoice(agreement: agreement.id, item: "item_pro", period: UInt64(1 + i % 2), amount: price, dueAt: 4_600,
                                                  tokenDecimals: 6, rate: .parity, rateAt: 1_000, now: 4_600).created
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(created == 2)
        let invoices = try await ledger.nativeInvoices(agreement: agreement.id)
        #expect(invoices.map(\.period) == [1, 2])
        #expect(invoices.map(\.id) == ["sinv_\(agreement.id)_1", "sinv_\(agreement.id)_2"])
        for invoice in invoices {
            let charge = try #require(try await ledger.charge(invoice: invoice.id))
            #expect(charge.amount == price && charge.tokenAmount.baseUnits == 5_000_000 && charge.state == .ingested && charge.terms.wallet == "0xabc")
        }
        #expect(try await ledger.itemSubscriptions().first?.subscription.lastPeriod == 2)
        // An older period issued late (a back-fill) does not move last_period back.
        _ = try await ledger.issueInvoice(agreement: agreement.id, item: "item_pro", period: 1, amount: price, dueAt: 4_600, tokenDecimals: 6,
                                          rate: .parity, rateAt: 1_000, now: 9_000)
        #expect(try await ledger.itemSubscriptions().first?.subscription.lastPeriod == 2)
    }
}
