import Foundation
import SettleCore
import Settlement

/// The dashboard's charts, drawn by the server as SVG (no script, no other origin). Pure: numbers in, markup out.
enum DashboardCharts {
    /// Amount collected per UTC day and token over the `days` days ending today.
    struct Daily: Equatable {
        /// The first second (UTC) of each day, oldest first.
        var days: [UInt64]
        /// Per token (sorted by symbol): its decimals and the base units collected each day.
        var series: [(token: String, decimals: Int, totals: [UInt256])]

        static func == (lhs: Daily, rhs: Daily) -> Bool {
            lhs.days == rhs.days && lhs.series.map { "\($0)" } == rhs.series.map { "\($0)" }
        }
    }

    static func daily(_ payments: [Ledger.Collected], days: Int, now: UInt64) -> Daily {
        let today = now - now % 86_400
        let first = today - UInt64(days - 1) * 86_400
        let starts = (0..<days).map { first + UInt64($0) * 86_400 }
        var totals: [String: (decimals: Int, totals: [UInt256])] = [:]
        for payment in payments where payment.settledAt >= first {
            let index = Int((payment.settledAt - first) / 86_400)
            guard index < days else { continue }
            let token = payment.token.uppercased()
            var entry = totals[token] ?? (payment.amount.decimals, Array(repeating: .zero, count: days))
            // Saturating: a sum past 2^256 cannot come from real payments, and a chart must not trap on it.
            let (sum, overflow) = entry.totals[index].addingReportingOverflow(payment.amount.baseUnits)
            entry.totals[index] = overflow ? .max : sum
            totals[token] = entry
        }
        return Daily(days: starts, series: totals.keys.sorted().map { ($0, totals[$0]!.decimals, totals[$0]!.totals) })  // swiftlint:disable:this force_unwrapping
    }

    static let colors = ["#1f4fd6", "#137a3a", "#b3261e", "#8a4fd6", "#c77700", "#0f7c8c"]

    /// A bar chart of `daily`: one group of bars per day, one bar per token, with the axis in whole units.
    static func svg(_ daily: Daily) -> String {
        let width = 720.0, height = 240.0, left = 56.0, bottom = 28.0, top = 12.0
        let values = daily.series.map { series in series.totals.map { units($0, series.decimals) } }
        let peak = max(1, values.flatMap { $0 }.max() ?? 1)
        let scale = niceCeiling(peak)
        let plotHeight = height - bottom - top, plotWidth = width - left - 8
        let slot = plotWidth / Double(max(1, daily.days.count))
        let barWidth = max(1, (slot - 2) / Double(max(1, daily.series.count)))
        var out = "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-labelledby=\"chart-title\">"
        out += "<title id=\"chart-title\">Collected per day, last \(daily.days.count) days</title>"
        for step in 0...4 {
            let value = scale * Double(step) / 4
            let y = top + plotHeight - plotHeight * Double(step) / 4
            out += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(width - 8))\" y2=\"\(f(y))\" stroke=\"#dde2ea\" stroke-width=\"1\"/>"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\" font-size=\"11\" fill=\"#5b6472\">\(label(value))</text>"
        }
        for (i, day) in daily.days.enumerated() {
            let x = left + Double(i) * slot + 1
            for (s, series) in values.enumerated() where series[i] > 0 {
                let h = plotHeight * series[i] / scale
                out += "<rect x=\"\(f(x + Double(s) * barWidth))\" y=\"\(f(top + plotHeight - h))\" width=\"\(f(barWidth))\" height=\"\(f(h))\" "
                    + "fill=\"\(colors[s % colors.count])\"><title>\(PageHTML.escape(dayText(day))): \(PageHTML.escape(AmountText.short(daily.series[s].totals[i], decimals: daily.series[s].decimals))) \(PageHTML.escape(daily.series[s].token))</title></rect>"
            }
            let last = daily.days.count - 1
            if i % 7 == 0 || (i == last && last % 7 >= 3) {  // the last day too, unless its label would touch the one before
                out += "<text x=\"\(f(x + slot / 2))\" y=\"\(f(height - 10))\" text-anchor=\"middle\" font-size=\"11\" fill=\"#5b6472\">\(dayText(day))</text>"
            }
        }
        out += "</svg>"
        return out
    }

    /// The legend: each token with its colour and its total over the range.
    static func legend(_ daily: Daily) -> String {
        guard !daily.series.isEmpty else { return "<p class=\"hint\">Nothing settled in this range yet.</p>" }
        return "<ul class=\"legend\">" + daily.series.enumerated().map { index, series in
            var total = UInt256.zero
            for value in series.totals {
                let (sum, overflow) = total.addingReportingOverflow(value)
                total = overflow ? .max : sum
            }
            return "<li><svg width=\"12\" height=\"12\" aria-hidden=\"true\"><rect width=\"12\" height=\"12\" fill=\"\(colors[index % colors.count])\"/></svg> "
                + "\(PageHTML.escape(series.token)): \(PageHTML.escape(AmountText.short(total, decimals: series.decimals)))</li>"
        }.joined() + "</ul>"
    }

    /// An amount in whole units, for drawing only (labels use the exact text).
    static func units(_ value: UInt256, _ decimals: Int) -> Double {
        (Double(value.description) ?? 0) / pow(10, Double(decimals))
    }

    /// 1, 2 or 5 × a power of ten at or above `value`.
    static func niceCeiling(_ value: Double) -> Double {
        let power = pow(10, floor(log10(value)))
        for step in [1.0, 2, 5, 10] where step * power >= value { return step * power }
        return 10 * power
    }

    static func label(_ value: Double) -> String {
        value >= 1_000_000 ? String(format: "%.1fM", value / 1_000_000) : value >= 1_000 ? String(format: "%.1fk", value / 1_000)
            : value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
    }

    static func dayText(_ day: UInt64) -> String {
        let date = Date(timeIntervalSince1970: TimeInterval(day))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!  // swiftlint:disable:this force_unwrapping
        let parts = calendar.dateComponents([.month, .day], from: date)
        return "\(parts.month ?? 0)/\(parts.day ?? 0)"
    }

    static func f(_ value: Double) -> String { String(format: "%.1f", value) }
}
