@testable import Billing
import Foundation
import PropertyBased
import Testing

/// Period boundaries and the auto-invoicing rule, without I/O: tables of calendar cases and properties over random
/// anchors, intervals and histories.
@Suite("Billing calendar: UTC periods, calendar months clamped to the month, renewals once, no back-fill after off/on")
struct BillingCalendarTests {
    /// Unix seconds of a UTC date and time.
    static func at(_ year: Int64, _ month: Int, _ day: Int, _ hour: UInt64 = 0, _ minute: UInt64 = 0) -> UInt64 {
        UInt64(BillingCalendar.days(fromYear: year, month: month, day: day)) * 86_400 + hour * 3_600 + minute * 60
    }

    static func date(_ seconds: UInt64) -> String {
        let (y, m, d) = BillingCalendar.civil(fromDays: Int64(seconds / 86_400))
        let s = seconds % 86_400
        return String(format: "%04d-%02d-%02d %02d:%02d", y, m, d, s / 3_600, s % 3_600 / 60)
    }

    @Test("the civil-date arithmetic agrees with Foundation's Gregorian calendar in UTC, 1970 to 2400")
    func civilDates() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for day in stride(from: Int64(0), to: 157_000, by: 37) {
            let parts = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: TimeInterval(day * 86_400)))
            let (y, m, d) = BillingCalendar.civil(fromDays: day)
            #expect(y == Int64(parts.year!) && m == parts.month! && d == parts.day!, "day \(day)")
            #expect(BillingCalendar.days(fromYear: y, month: m, day: d) == day)
        }
    }

    static let calendarCases: [(anchor: UInt64, unit: BillingInterval.Unit, count: UInt32, expected: [String])] = [
        (Self.at(2027, 1, 31, 9, 30), .month, UInt32(1),
         ["2027-01-31 09:30", "2027-02-28 09:30", "2027-03-31 09:30", "2027-04-30 09:30", "2027-05-31 09:30"]),
        (Self.at(2028, 1, 31), .month, 1, ["2028-01-31 00:00", "2028-02-29 00:00", "2028-03-31 00:00", "2028-04-30 00:00", "2028-05-31 00:00"]),
        (Self.at(2027, 8, 30), .month, 6, ["2027-08-30 00:00", "2028-02-29 00:00", "2028-08-30 00:00", "2029-02-28 00:00", "2029-08-30 00:00"]),
        (Self.at(2028, 2, 29, 23, 59), .year, 1, ["2028-02-29 23:59", "2029-02-28 23:59", "2030-02-28 23:59", "2031-02-28 23:59", "2032-02-29 23:59"]),
        (Self.at(2027, 12, 15), .month, 1, ["2027-12-15 00:00", "2028-01-15 00:00", "2028-02-15 00:00", "2028-03-15 00:00", "2028-04-15 00:00"]),
        (Self.at(2027, 3, 1, 12), .week, 2, ["2027-03-01 12:00", "2027-03-15 12:00", "2027-03-29 12:00", "2027-04-12 12:00", "2027-04-26 12:00"]),
        (Self.at(2027, 12, 31, 22), .hour, 1, ["2027-12-31 22:00", "2027-12-31 23:00", "2028-01-01 00:00", "2028-01-01 01:00", "2028-01-01 02:00"]),
    ]

    @Test("month ends: January 31 bills February 28 or 29, then March 31, April 30; the time of day stays", arguments: calendarCases)
    func calendar(_ example: (anchor: UInt64, unit: BillingInterval.Unit, count: UInt32, expected: [String])) throws {
        let (anchor, unit, count, expected) = example
        let interval = try BillingInterval(unit, count: count)
        let boundaries = (0..<UInt64(expected.count)).map { BillingCalendar.boundary(anchor: anchor, interval: interval, index: $0).map(Self.date) }
        #expect(boundaries == expected)
    }

    @Test("intervals: 1 up to ten years of the unit; 0 and longer refused")
    func intervals() throws {
        #expect(throws: BillingError.self) { try BillingInterval(.month, count: 0) }
        #expect(throws: BillingError.self) { try BillingInterval(.year, count: 11) }
        #expect(try BillingInterval(.hour, count: 87_600).count == 87_600)
        #expect(BillingCalendar.boundary(anchor: Self.at(9_999, 12, 1), interval: try BillingInterval(.month), index: 1) == nil)
        #expect(BillingCalendar.boundary(anchor: 0, interval: try BillingInterval(.hour), index: .max) == nil)
    }

    static let units = BillingInterval.Unit.allCases

    @Test("boundaries strictly increase; firstIndex(after:) is the first boundary past the time; months keep the anchor's day or the month's last")
    func boundaryProperties() async {
        await propertyCheck(count: 500, input: Gen.uint64(in: 0...4_102_444_800), Gen.int(in: 0...4), Gen.uint32(in: 1...14), Gen.uint64(in: 0...400)) { anchor, unit, count, probe in
            guard let interval = try? BillingInterval(Self.units[unit], count: min(count, unit == 4 ? 10 : count)) else { return }
            var previous: UInt64?
            for index in UInt64(0)...24 {
                guard let at = BillingCalendar.boundary(anchor: anchor, interval: interval, index: index) else { break }
                if let previous { #expect(at > previous, "\(interval) from \(Self.date(anchor)): \(Self.date(previous)) then \(Self.date(at))") }
                previous = at
                if interval.unit == .month || interval.unit == .year {
                    let (y0, m0, d0) = BillingCalendar.civil(fromDays: Int64(anchor / 86_400))
                    let (y, m, d) = BillingCalendar.civil(fromDays: Int64(at / 86_400))
                    #expect(at % 86_400 == anchor % 86_400)
                    #expect(d == min(d0, BillingCalendar.daysIn(year: y, month: m)), "\(Self.date(anchor)) → \(Self.date(at))")
                    let months = (y - y0) * 12 + Int64(m - m0)
                    #expect(months == Int64(index) * Int64(interval.count) * (interval.unit == .year ? 12 : 1))
                }
            }
            let time = anchor &+ probe &* 86_400 / 7
            if let first = BillingCalendar.firstIndex(after: time, anchor: anchor, interval: interval),
               let at = BillingCalendar.boundary(anchor: anchor, interval: interval, index: first) {
                #expect(at > time)
                if first > 0, let before = BillingCalendar.boundary(anchor: anchor, interval: interval, index: first - 1) { #expect(before <= time) }
            }
        }
    }

    /// lastInvoiced, enabledAt (hours after the anchor; above 1,000: seconds), now (hours after), backfill, expected periods.
    static let offAndOnCases: [(last: UInt64, enabled: UInt64, now: UInt64, backfill: Bool, expected: [UInt64])] = [
        (0, 0, 0, false, []),
        (0, 0, 1, false, [1]),
        (0, 0, 5, false, [1, 2, 3, 4, 5]),         // a daemon down for five hours owes all five: auto-invoicing was on
        (3, 0, 5, false, [4, 5]),
        (5, 0, 5, false, []),                      // asked again: nothing twice
        (2, 6, 8, false, [7, 8]),                  // off after period 2, on again at hour 6: periods 3 to 6 are not billed
        (2, 6, 8, true, [3, 4, 5, 6, 7, 8]),       // unless the merchant asks for them
        (2, 7, 7, false, []),                      // on exactly at a boundary: the next one is the first
        (2, 7 * 3_600 + 1, 8, false, [8]),         // (enabledAt in seconds here: just after hour 7)
    ]

    @Test("off and on: renewals resume at the next boundary after it was turned on; back-fill only when asked", arguments: offAndOnCases)
    func offAndOn(_ example: (last: UInt64, enabled: UInt64, now: UInt64, backfill: Bool, expected: [UInt64])) throws {
        let (last, enabled, now, backfill, expected) = example
        let anchor = Self.at(2027, 5, 1, 10)
        let enabledAt = enabled > 1_000 ? anchor + enabled : anchor + enabled * 3_600
        let schedule = AutoInvoicing.Schedule(anchor: anchor, interval: try BillingInterval(.hour), lastInvoiced: last, enabledAt: enabledAt)
        #expect(AutoInvoicing.due(schedule, now: anchor + now * 3_600, backfill: backfill) == expected)
        var off = schedule
        off.enabled = false
        #expect(AutoInvoicing.due(off, now: anchor + now * 3_600, backfill: backfill).isEmpty)
    }

    @Test("a month of hourly billing, asked at random moments with random off and on spans: each period at most once, none missed while on, none from an off span")
    func simulated() async {
        await propertyCheck(count: 200, input: Gen.int(in: 1...5_000).array(of: 5...60), Gen.bool.array(of: 5...60)) { steps, toggles in
            let anchor = Self.at(2027, 1, 1)
            var schedule = AutoInvoicing.Schedule(anchor: anchor, interval: try! BillingInterval(.hour))
            var now = anchor
            var invoiced: [UInt64] = []
            var offSpans: [(from: UInt64, to: UInt64)] = []  // times auto-invoicing was off
            for (step, toggle) in zip(steps, toggles) {
                now += UInt64(step) * 60  // up to ~3.5 days later
                if toggle {
                    if schedule.enabled { offSpans.append((now, .max)) } else {
                        offSpans[offSpans.count - 1].to = now
                        schedule.enabledAt = now
                    }
                    schedule.enabled.toggle()
                }
                let due = AutoInvoicing.due(schedule, now: now, limit: 10_000)
                invoiced += due
                if let last = due.last { schedule.lastInvoiced = last }
            }
            #expect(invoiced == invoiced.sorted() && Set(invoiced).count == invoiced.count, "a period twice: \(invoiced)")
            for index in invoiced {
                let at = BillingCalendar.boundary(anchor: anchor, interval: schedule.interval, index: index)!
                // Never a boundary that passed while auto-invoicing was off (or at the moment it came back on).
                #expect(!offSpans.contains { at > $0.from && at <= $0.to }, "period \(index) ended while auto-invoicing was off")
            }
            // While on, nothing missed: every boundary up to now after the last turn-on is invoiced.
            if schedule.enabled {
                let resume = BillingCalendar.firstIndex(after: schedule.enabledAt, anchor: anchor, interval: schedule.interval) ?? 1
                let lastDue = BillingCalendar.firstIndex(after: now, anchor: anchor, interval: schedule.interval)! - 1
                if lastDue >= max(1, resume) { #expect(Set(max(1, resume)...lastDue).isSubset(of: Set(invoiced))) }
            }
        }
    }
}
