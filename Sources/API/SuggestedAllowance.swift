import SettleCore

/// The allowance to ask a customer for: the plan's amount × the payments one allowance should cover for the billing
/// interval × the interval count. Payments per interval default to hour 24, day 30, week 26, month 13, year 3 (a
/// day, a month, half a year, thirteen months, three years of payments); the merchant overrides them in
/// `[allowance]`, or per request.
public enum SuggestedAllowance {
    public static let intervals = ["hour", "day", "week", "month", "year"]

    /// - Throws: 400 for an unknown interval, or when the product exceeds 2^256 - 1.
    public static func compute(amount: UInt256, interval: String, intervalCount: UInt64, payments: UInt64) throws(APIError) -> UInt256 {
        guard intervals.contains(interval) else {
            throw .badRequest("'interval' must be one of \(intervals.joined(separator: ", ")) (got '\(interval)')")
        }
        do {
            return try amount.checkedMultiplying(by: UInt256(payments)).checkedMultiplying(by: UInt256(intervalCount))
        } catch {
            throw .badRequest("amount × payments × interval_count exceeds 2^256 - 1")
        }
    }
}
