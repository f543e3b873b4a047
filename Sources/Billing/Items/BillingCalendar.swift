/// How often a subscription item bills: a unit times a whole multiple (every 2 weeks, every 3 months).
public struct BillingInterval: Hashable, Sendable, CustomStringConvertible {
    public enum Unit: String, Hashable, Sendable, CaseIterable {
        case hour, day, week, month, year

        /// The payments an allowance is suggested for (a day of hours, a month of days, half a year of weeks, a year
        /// and a month of months, three years).
        public var suggestedPayments: UInt64 {
            switch self {
            case .hour: 24
            case .day: 30
            case .week: 26
            case .month: 13
            case .year: 3
            }
        }

        /// Its length in seconds, for the units of fixed length.
        var seconds: UInt64? {
            switch self {
            case .hour: 3_600
            case .day: 86_400
            case .week: 604_800
            case .month, .year: nil
            }
        }
    }

    public var unit: Unit
    public var count: UInt32

    /// - Throws: when `count` is 0 or longer than ten years of the unit.
    public init(_ unit: Unit, count: UInt32 = 1) throws(BillingError) {
        let limit: UInt32 = switch unit {
        case .hour: 87_600
        case .day: 3_650
        case .week: 520
        case .month: 120
        case .year: 10
        }
        guard (1...limit).contains(count) else {
            throw BillingError(.invalidInput, "an interval of \(count) \(unit.rawValue)s is not 1 to \(limit)")
        }
        self.unit = unit
        self.count = count
    }

    public var description: String { count == 1 ? unit.rawValue : "\(count) \(unit.rawValue)s" }
}

/// Period boundaries in UTC, pure. A subscription anchored at `anchor` has period `k` start at `boundary(k)`.
/// Hours, days and weeks are fixed lengths. Months and years are calendar months counted from the anchor's date
/// each time (never from the previous boundary), the day clamped to the month's length and the time of day kept:
/// anchored on January 31 it bills on February 28 (29 in a leap year), then March 31, April 30.
public enum BillingCalendar {
    /// The start of period `index` (0 is the anchor); nil past the year 9999 or when the arithmetic would overflow.
    public static func boundary(anchor: UInt64, interval: BillingInterval, index: UInt64) -> UInt64? {
        if let seconds = interval.unit.seconds {
            let (step, o1) = seconds.multipliedReportingOverflow(by: UInt64(interval.count))
            let (offset, o2) = step.multipliedReportingOverflow(by: index)
            let (value, o3) = anchor.addingReportingOverflow(offset)
            guard !o1, !o2, !o3, value <= maximum else { return nil }
            return value
        }
        let perPeriod = UInt64(interval.count) * (interval.unit == .year ? 12 : 1)
        let (months, overflow) = perPeriod.multipliedReportingOverflow(by: index)
        guard !overflow, anchor <= maximum else { return nil }
        let day = anchor / 86_400, timeOfDay = anchor % 86_400
        let (year, month, dayOfMonth) = civil(fromDays: Int64(day))
        let total = Int64(month - 1) + (months > UInt64(Int64.max / 2) ? Int64.max / 2 : Int64(months))
        let newYear = year + total / 12, newMonth = Int(total % 12) + 1
        guard newYear <= 9_999 else { return nil }
        let clamped = min(dayOfMonth, daysIn(year: newYear, month: newMonth))
        let value = UInt64(days(fromYear: newYear, month: newMonth, day: clamped)) * 86_400 + timeOfDay
        return value <= maximum ? value : nil
    }

    /// The first period index whose boundary is after `time` (0 when `time` is before the anchor); nil when that
    /// boundary is past the calendar's range.
    public static func firstIndex(after time: UInt64, anchor: UInt64, interval: BillingInterval) -> UInt64? {
        guard time >= anchor else { return 0 }
        var index: UInt64
        if let seconds = interval.unit.seconds {
            index = (time - anchor) / (seconds * UInt64(interval.count)) + 1
        } else {
            // An estimate from the average month, then corrected by the exact boundaries (a step or two at most).
            let monthSeconds: UInt64 = 2_629_746 * UInt64(interval.count) * (interval.unit == .year ? 12 : 1)
            index = (time - anchor) / monthSeconds
            while let at = boundary(anchor: anchor, interval: interval, index: index), at <= time { index += 1 }
            while index > 0, let at = boundary(anchor: anchor, interval: interval, index: index - 1), at > time { index -= 1 }
        }
        return boundary(anchor: anchor, interval: interval, index: index) == nil ? nil : index
    }

    /// 9999-12-31T23:59:59Z.
    static let maximum: UInt64 = 253_402_300_799

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil-date algorithm).
    static func days(fromYear year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month), d = Int64(day)
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date of a day count since 1970-01-01.
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysIn(year: Int64, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// Which renewals of one agreement on a subscription item are due now, pure. Period 0 is paid when the customer
/// subscribes (the checkout); period `k ≥ 1` is invoiced at `boundary(k)`. The scheduler stores each invoice under
/// (agreement, period) so a period is invoiced once however often this is asked, across restarts and daemons.
public enum AutoInvoicing {
    public struct Schedule: Hashable, Sendable {
        /// When the subscription started: period 0's start.
        public var anchor: UInt64
        public var interval: BillingInterval
        /// The last period invoiced (0: only the first payment).
        public var lastInvoiced: UInt64
        /// Auto-invoicing is on for the item now.
        public var enabled: Bool
        /// When it was last turned on (the anchor if it never was off).
        public var enabledAt: UInt64

        public init(anchor: UInt64, interval: BillingInterval, lastInvoiced: UInt64 = 0, enabled: Bool = true, enabledAt: UInt64? = nil) {
            self.anchor = anchor
            self.interval = interval
            self.lastInvoiced = lastInvoiced
            self.enabled = enabled
            self.enabledAt = enabledAt ?? anchor
        }
    }

    /// The periods to invoice now, oldest first, at most `limit`. Periods missed while the daemon was down are owed
    /// (auto-invoicing was on); periods that ended while auto-invoicing was off are not, unless `backfill` (the
    /// merchant asks for them explicitly): turned on again, billing resumes at the next boundary after that moment.
    public static func due(_ schedule: Schedule, now: UInt64, backfill: Bool = false, limit: Int = 100) -> [UInt64] {
        guard schedule.enabled, limit > 0 else { return [] }
        let (next, overflow) = schedule.lastInvoiced.addingReportingOverflow(1)
        guard !overflow else { return [] }
        var first = next
        if !backfill, schedule.enabledAt > schedule.anchor,
           let resume = BillingCalendar.firstIndex(after: schedule.enabledAt, anchor: schedule.anchor, interval: schedule.interval) {
            first = max(first, resume)
        }
        var out: [UInt64] = []
        var index = first
        while out.count < limit, let at = BillingCalendar.boundary(anchor: schedule.anchor, interval: schedule.interval, index: index), at <= now {
            out.append(index)
            index += 1
        }
        return out
    }
}
