@testable import Billing
import PropertyBased
import Settlement
import Testing

/// The pure parts of item billing: which period may be invoiced on request, and which tokens an item or a Stripe
/// price accepts.
@Suite("Item billing: invoices on request and accepted tokens")
struct ItemBillingTests {
    static let jan31 = BillingCalendarTests.at(2027, 1, 31, 12)

    @Test("invoices on request: period 0 always, begun periods of a subscription, never a future one or a one-time item's second")
    func onRequest() throws {
        let monthly = try BillingInterval(.month)
        let cases: [(kind: Item.Kind, period: UInt64, now: UInt64, expected: InvoiceOnRequest.Verdict?)] = [
            (.subscription, 0, Self.jan31, .issue(dueAt: Self.jan31)),
            (.oneTime, 0, Self.jan31 + 999_999, .issue(dueAt: Self.jan31)),
            (.oneTime, 1, Self.jan31 + 99_999_999, nil),
            // Feb 28 12:00 is period 1's start: issued from that second on, not one second before.
            (.subscription, 1, BillingCalendarTests.at(2027, 2, 28, 12), .issue(dueAt: BillingCalendarTests.at(2027, 2, 28, 12))),
            (.subscription, 1, BillingCalendarTests.at(2027, 2, 28, 12) - 1, nil),
            (.subscription, 2, BillingCalendarTests.at(2027, 6, 1), .issue(dueAt: BillingCalendarTests.at(2027, 3, 31, 12))),
            (.subscription, UInt64(Int64.max), UInt64.max, nil),
        ]
        for c in cases {
            let verdict = InvoiceOnRequest.decide(kind: c.kind, anchor: Self.jan31, interval: c.kind == .subscription ? monthly : nil, period: c.period, now: c.now)
            if let expected = c.expected {
                #expect(verdict == expected, "\(c)")
            } else if case .issue = verdict {
                Issue.record("\(c): issued, expected a refusal")
            }
        }
    }

    @Test("a period is issuable on request exactly when it has begun", arguments: [BillingInterval.Unit.hour, .day, .week, .month, .year])
    func issuableWhenBegun(unit: BillingInterval.Unit) async throws {
        await propertyCheck(input: Gen.uint64(in: 0...4_000_000_000), Gen.uint64(in: 1...500), Gen.uint64(in: 0...4_000_000_000)) { anchor, period, offset in
            guard let interval = try? BillingInterval(unit), let start = BillingCalendar.boundary(anchor: anchor, interval: interval, index: period) else { return }
            let now = anchor + offset
            let verdict = InvoiceOnRequest.decide(kind: .subscription, anchor: anchor, interval: interval, period: period, now: now)
            #expect((verdict == .issue(dueAt: start)) == (start <= now), "anchor \(anchor) period \(period) now \(now): \(verdict)")
        }
    }

    @Test("accepted tokens: an item's or a price's list narrows the offered ones, in their order; none narrows nothing")
    func accepted() {
        #expect(ItemBilling.accepted(restriction: nil, offered: ["usdc", "USDT"]) == ["USDC", "USDT"])
        #expect(ItemBilling.accepted(restriction: ["usdt"], offered: ["USDC", "USDT"]) == ["USDT"])
        #expect(ItemBilling.accepted(restriction: ["DAI"], offered: ["USDC", "USDT"]) == [])
        #expect(ItemBilling.tokens(metadata: nil) == nil)
        #expect(ItemBilling.tokens(metadata: " , ") == nil)
        #expect(ItemBilling.tokens(metadata: "usdc, usdt") == ["USDC", "USDT"])
        #expect(ItemBilling.tokens(metadata: "USDT") == ["USDT"])
    }
}
