import Billing
import Foundation
import SettleCore
import Settlement

/// What the dashboard needs beyond the API's own parts: its sign-in sessions, billing's findings, and "collect now".
public struct DashboardService: Sendable {
    public var sessions: DashboardSessionStore
    public var billing: BillingStore
    /// Collects a draft or open invoice now (`settled collect-now`); the outcome in words.
    public var collectNow: @Sendable (_ invoice: String) async throws -> String
    /// The Stripe audit (`settled audit stripe`), run now.
    public var audit: @Sendable () async throws -> StripeAudit.Report
    /// How long a sign-in lasts, in seconds.
    public var lifetime: UInt64 = 8 * 3_600
    /// The cookie is `Secure` (the dashboard is served over https: `[server] public_url` starts with https://).
    public var secureCookie: Bool
    /// Where an invoice opens in Stripe's dashboard.
    public var stripeDashboard = "https://dashboard.stripe.com"

    /// An invoice's page in Stripe's dashboard.
    func stripeInvoiceURL(_ invoice: String) -> String {
        stripeDashboard + "/invoices/" + (invoice.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "_"))) ?? "")
    }

    public init(sessions: DashboardSessionStore, billing: BillingStore, secureCookie: Bool,
                collectNow: @escaping @Sendable (_ invoice: String) async throws -> String,
                audit: @escaping @Sendable () async throws -> StripeAudit.Report) {
        self.sessions = sessions
        self.billing = billing
        self.secureCookie = secureCookie
        self.collectNow = collectNow
        self.audit = audit
    }
}

/// `application/x-www-form-urlencoded` fields (the sign-in and sign-out forms).
enum FormFields {
    static func parse(_ bytes: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: bytes, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            guard let name = parts.first else { continue }
            fields[decode(name)] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }
}
