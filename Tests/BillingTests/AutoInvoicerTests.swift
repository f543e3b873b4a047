@testable import Billing
import Foundation
import Logging
import SettleCore
import Settlement
import Store
import TestSupport
import Testing

/// The auto-invoicer over the real ledger (SQLite and PostgreSQL) on an injected clock: a month of hourly renewals,
/// passes that overlap (two daemons) or stop halfway (a crash), an item disabled mid-way, auto-invoicing off for three
/// periods. The verdict is the ledger's invoices and charges per agreement and period.
@Suite("Auto-invoicing: a month of hourly renewals, each period once, across racing and interrupted passes")
struct AutoInvoicerTests {
    static let hour: UInt64 = 3_600
    static let anchor: UInt64 = 1_798_761_600  // 2027-01-01T00:00:00Z

    static func world(_ backend: SQLBackend) async throws -> (ledger: Ledger, invoicer: AutoInvoicer, agreements: [Int64]) {
        let ledger = Ledger(database: try await TestDatabases.fresh(backend, "autoinv"))
        try await ledger.migrate()
        try await ledger.createItem(Item(id: "item_hourly", name: "Hourly", kind: .subscription, intervalUnit: "hour", intervalCount: 1,
                                         price: Money(minorUnits: 25, currency: try Currency(code: "usd")), tokens: nil, allowancePayments: nil,
                                         autoInvoicingSince: anchor, createdAt: anchor))
        var agreements: [Int64] = []
        for i in 0..<3 {
            let agreement = try await ledger.agreement(customer: "cus_\(i)", subscription: nil, chain: "devnet", token: "USDC", wallet: "0x\(i)")
            _ = try await ledger.subscribe(agreement: agreement.id, item: "item_hourly", anchor: anchor + UInt64(i) * 60, now: anchor)
            agreements.append(agreement.id)
        }
        var logger = Logger(label: "autoinvoicer")
        logger.logLevel = .critical
        let invoicer = AutoInvoicer(ledger: ledger, pricing: { _ in { _, _ in (6, .parity, anchor, nil) } }, logger: logger)
        return (ledger, invoicer, agreements)
    }

    @Test("720 hours: every period of every agreement invoiced once and charged once, passes racing in pairs", arguments: SQLBackend.allCases)
    func month(backend: SQLBackend) async throws {
        let (ledger, invoicer, agreements) = try await Self.world(backend)
        var generator = SystemRandomNumberGenerator()
        var now = Self.anchor
        let end = Self.anchor + 720 * Self.hour + 3 * 60
        while now < end {
            now = min(end, now + UInt64.random(in: 1...(5 * Self.hour), using: &generator))  // passes at random moments
            let at = now
            // Two daemons' passes at once; now and then one stops after a few periods (as if killed mid-pass).
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await invoicer.runOnce(now: at) }
                group.addTask { _ = try await invoicer.runOnce(now: at, limit: Int.random(in: 1...3)) }
                try await group.waitForAll()
            }
        }
        for agreement in agreements {
            let invoices = try await ledger.nativeInvoices(agreement: agreement)
            #expect(invoices.map(\.period) == Array(1...720), "agreement \(agreement): \(invoices.count) invoices")
            let charges = try await ledger.charges(agreement: agreement, limit: 1_000)
            #expect(charges.count == 720 && Set(charges.map(\.invoice)) == Set(invoices.map(\.id)))
            // Each due at its own boundary.
            let offset = UInt64(agreements.firstIndex(of: agreement) ?? 0) * 60
            #expect(invoices.allSatisfy { $0.dueAt == Self.anchor + offset + $0.period * Self.hour })
        }
    }

    @Test("disabled mid-way: renewals continue; auto-invoicing off for three periods, then on: no back-fill, then hourly again", arguments: SQLBackend.allCases)
    func offAndOn(backend: SQLBackend) async throws {
        let (ledger, invoicer, agreements) = try await Self.world(backend)
        let first = agreements[0]
        _ = try await invoicer.runOnce(now: Self.anchor + 10 * Self.hour)
        #expect(try await ledger.nativeInvoices(agreement: first).map(\.period) == Array(1...10))
        // Disabled: no new agreement, renewals go on.
        try await ledger.setItem("item_hourly", active: false)
        _ = try await invoicer.runOnce(now: Self.anchor + 12 * Self.hour)
        #expect(try await ledger.nativeInvoices(agreement: first).map(\.period) == Array(1...12))
        // Off from hour 12:30 to 15:30: periods 13, 14 and 15 end while it is off.
        try await ledger.setAutoInvoicing("item_hourly", on: false, now: Self.anchor + 12 * Self.hour + 1_800)
        _ = try await invoicer.runOnce(now: Self.anchor + 15 * Self.hour)
        #expect(try await ledger.nativeInvoices(agreement: first).map(\.period) == Array(1...12))
        try await ledger.setAutoInvoicing("item_hourly", on: true, now: Self.anchor + 15 * Self.hour + 1_800)
        _ = try await invoicer.runOnce(now: Self.anchor + 15 * Self.hour + 1_801)
        #expect(try await ledger.nativeInvoices(agreement: first).map(\.period) == Array(1...12), "no back-fill of 13 to 15")
        _ = try await invoicer.runOnce(now: Self.anchor + 18 * Self.hour)
        #expect(try await ledger.nativeInvoices(agreement: first).map(\.period) == Array(1...12) + [16, 17, 18])
    }
}
