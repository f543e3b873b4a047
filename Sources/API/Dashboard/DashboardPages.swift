import Billing
import Foundation
import SettleCore
import Settlement

/// The merchant dashboard's pages, server-rendered: every value escaped, tables that scroll sideways on a phone, charts
/// as SVG, one stylesheet and one script from this server under the pages' Content-Security-Policy (forms may post to
/// this server only). Read pages need a `read` session; actions (retry, collect now, redeliver, portal link) need
/// `admin` and the session's CSRF token.
enum DashboardPages {
    typealias E = PageHTML

    struct Viewer {
        var tokenName: String
        var scope: BearerTokens.Scope
        var csrf: String
        var isAdmin: Bool { scope == .admin }
    }

    static let stylesheets = ["pages.css", "dashboard.css"]

    static let sections = [("overview", "/dashboard", "Overview"), ("customers", "/dashboard/customers", "Customers"),
                           ("payments", "/dashboard/payments", "Payments"), ("findings", "/dashboard/findings", "Findings & webhooks")]

    /// The page around `body`: the navigation, who is signed in, sign-out.
    static func layout(_ title: String, active: String, viewer: Viewer, body: String) -> String {
        let nav = sections.map { key, href, label in
            "<a href=\"\(href)\"\(key == active ? " aria-current=\"page\"" : "")>\(label)</a>"
        }.joined()
        return """
            \(E.head(title: "\(title) · Settle dashboard", meta: [("settle-csrf", viewer.csrf)], referrer: "same-origin", stylesheets: stylesheets))
            <body class="dashboard">
            <header class="bar">
            <span class="brand">Settle</span>
            <nav aria-label="Dashboard">\(nav)</nav>
            <form method="post" action="/dashboard/sign-out" class="signout">
            <input type="hidden" name="csrf" value="\(E.escape(viewer.csrf))">
            <span class="who">\(E.escape(viewer.tokenName)) · \(viewer.isAdmin ? "admin" : "read-only")</span>
            <button type="submit" class="link">Sign out</button>
            </form>
            </header>
            <main class="wide">
            <h1>\(E.escape(title))</h1>
            \(body)
            </main>
            <script src="/assets/wallet.js"></script>
            <script src="/assets/dashboard.js"></script>
            </body>
            </html>

            """
    }

    /// The sign-in page; `message` says why it is shown (signed out, expired, a wrong token).
    static func signIn(message: String?) -> String {
        """
        \(E.head(title: "Sign in · Settle dashboard", referrer: "same-origin", stylesheets: stylesheets))
        <body>
        <main class="card">
        <p class="eyebrow">Settle dashboard</p>
        <h1>Sign in</h1>
        <p class="lead">Use one of the API tokens in settle.toml (<code>[[api.tokens]]</code>). A read token shows everything;
        an admin token can also retry charges, collect invoices, redeliver webhooks and create portal links.</p>
        \(message.map { "<p id=\"problem\" class=\"error\" role=\"alert\">\(E.escape($0))</p>" } ?? "")
        <form method="post" action="/dashboard/sign-in">
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required>
        <button type="submit">Sign in</button>
        </form>
        <p class="hint">You stay signed in for 8 hours on this browser, or until you sign out.</p>
        </main>
        </body>
        </html>

        """
    }

    static func table(_ headers: [String], _ rows: [[String]], empty: String, id: String? = nil) -> String {
        guard !rows.isEmpty else { return "<p class=\"hint\">\(E.escape(empty))</p>" }
        let head = headers.map { "<th scope=\"col\">\(E.escape($0))</th>" }.joined()
        // Each cell names its column (`data-label`): on a phone the rows stack as cards, each value under its name.
        let body = rows.map { row in
            "<tr>" + zip(headers + Array(repeating: "", count: max(0, row.count - headers.count)), row).map { label, cell in
                "<td data-label=\"\(E.escape(label))\"><div>\(cell)</div></td>"  // one child: on a phone, the label and the value
            }.joined() + "</tr>"
        }.joined(separator: "\n")
        return "<div class=\"scroll\"><table class=\"stack\"\(id.map { " id=\"\($0)\"" } ?? "")><thead><tr>\(head)</tr></thead><tbody>\n\(body)\n</tbody></table></div>"
    }

    static func time(_ seconds: UInt64?) -> String {
        guard let seconds else { return "—" }
        let date = Date(timeIntervalSince1970: TimeInterval(seconds))
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        return "<time datetime=\"\(seconds)\">\(E.escape(formatter.string(from: date))) UTC</time>"
    }

    static func state(_ state: ChargeState) -> String {
        "<span class=\"state \(state.rawValue)\">\(E.escape(state.rawValue.replacingOccurrences(of: "_", with: " ")))</span>"
    }

    static func link(_ href: String, _ text: String) -> String {
        "<a href=\"\(E.escape(href))\">\(E.escape(text))</a>"
    }

    /// A transaction id, linked to the chain's explorer when the chain file names one.
    static func transaction(_ id: String, chain: (any ChainView)?) -> String {
        if case .string(let url)? = chain?.transactionURL(id) {
            return "<a class=\"mono\" href=\"\(E.escape(url))\" rel=\"noopener noreferrer\" target=\"_blank\">\(E.escape(id))</a>"
        }
        return "<span class=\"mono\">\(E.escape(id))</span>"
    }

    /// A button that posts to `url` after the browser's confirmation (admin only; read-only viewers see it disabled).
    static func action(_ label: String, url: String, confirm: String, viewer: Viewer, result: String) -> String {
        guard viewer.isAdmin else { return "<button type=\"button\" class=\"small\" disabled title=\"needs an admin token\">\(E.escape(label))</button>" }
        return "<button type=\"button\" class=\"small\" data-action=\"\(E.escape(url))\" data-confirm=\"\(E.escape(confirm))\" "
            + "data-result=\"\(E.escape(result))\">\(E.escape(label))</button>"
    }
}

extension InvoiceFinding.Kind {
    /// What the merchant does about it.
    var fix: String {
        switch self {
        case .zeroAmount: "Nothing: there is nothing to collect."
        case .belowMinimum: "Nothing: Stripe adds it to the next invoice."
        case .noAgreement: "Send the customer a checkout link, or set settle_chain, settle_token and settle_wallet on the subscription."
        case .badAgreement: "Correct the settle_* metadata: the chain and token must be configured and the wallet valid."
        case .chargeAutomatically: "Switch the subscription to send_invoice: settled audit stripe --fix, or a checkout session."
        case .closedWhileInFlight: "Check the charge's transaction: if it settled, refund the customer or re-open the invoice."
        case .doublePayment: "Refund one of the two payments."
        case .paidAfterClose: "Refund the payment, or re-open the invoice in Stripe."
        case .amountMismatch: "Compare Stripe's amount with the settled transfer; refund or collect the difference."
        case .paymentMismatch: "The token delivered another amount: collect the rest or refund, and look at the token's behaviour."
        case .paymentReversed: "Re-open the invoice in Stripe, then run settled charge recollect."
        case .notSendInvoice: "Nothing: Stripe collects it itself."
        }
    }
}
