import Billing
import HTTPTypes
import Hummingbird
import NIOCore
import SettleCore

/// Server-rendered pages for customers (checkout, portal): plain HTML with every value escaped, one stylesheet and one
/// script from this server, and a Content-Security-Policy that allows nothing else — no inline script or style, no
/// other origin, not framed. No token, key or secret is ever written into a page; the session id is in the URL the
/// merchant gave the customer, and the page's CSRF token goes back only in a header.
enum PageHTML {
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    /// The dashboard's: the same, with its forms (sign-in, sign-out, search, filters) posting to this server only.
    static let dashboardSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    /// Text for HTML content and quoted attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static func headers(_ contentType: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("Content-Security-Policy")!] = contentSecurityPolicy  // swiftlint:disable:this force_unwrapping
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"  // swiftlint:disable:this force_unwrapping
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"  // swiftlint:disable:this force_unwrapping
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"  // swiftlint:disable:this force_unwrapping
        return headers
    }

    static func response(_ status: HTTPResponse.Status, _ html: String) -> Response {
        Response(status: status, headers: headers("text/html; charset=utf-8"), body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    /// A page's start, through `<head>`: its metadata (`meta`: name and content, escaped here), title and stylesheets.
    static func head(title: String, meta: [(String, String)] = [], referrer: String = "no-referrer", stylesheets: [String] = ["pages.css"]) -> String {
        let metas = meta.map { "<meta name=\"\(escape($0.0))\" content=\"\(escape($0.1))\">" }.joined(separator: "\n")
        let sheets = stylesheets.map { "<link rel=\"stylesheet\" href=\"/assets/\(escape($0))\">" }.joined(separator: "\n")
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="referrer" content="\(escape(referrer))">
            \(metas)
            <title>\(escape(title))</title>
            <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
            \(sheets)
            </head>
            """
    }

    /// A whole page around `body` (already escaped HTML).
    static func document(title: String, body: String, meta: [(String, String)] = [], script: String? = nil) -> String {
        """
            \(head(title: title, meta: meta))
            <body>
            <main class="card">
            \(body)
            </main>
            <footer>Payments by Settle · you approve from your own wallet, and can revoke it at any time</footer>
            \(script.map { "<script src=\"/assets/wallet.js\"></script>\n<script src=\"/assets/\(escape($0))\"></script>" } ?? "")
            </body>
            </html>

            """
    }

    /// A page that says only what went wrong and what to do (unknown, expired or used sessions).
    static func notice(_ status: HTTPResponse.Status, title: String, message: String) -> Response {
        response(status, document(title: title, body: "<h1>\(escape(title))</h1>\n<p class=\"lead\">\(escape(message))</p>"))
    }

    static func asset(_ contentType: String, _ text: String) -> Response {
        var headers = headers(contentType)
        headers[.cacheControl] = "public, max-age=300"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The checkout page for one session.
enum CheckoutPage {
    struct Option {
        var chain: String
        var family: String
        var chainID: String?
        var token: String
        var decimals: Int
        var payment: String
        var suggested: String
        var suggestedDisplay: String
        var paymentDisplay: String
        var payments: UInt64
    }

    static func render(id: String, csrf: String, request: CheckoutRequest, options: [Option], progress: CheckoutProgress) -> String {
        let e = PageHTML.escape
        let plan = request.plan
        let money = Self.money(plan.amount, currency: plan.currency)
        let oneTime = plan.interval == CheckoutRequest.oneTime
        let every = plan.intervalCount == 1 ? plan.interval : "\(plan.intervalCount) \(plan.interval)s"
        let choices = options.map { option in
            """
            <option value="\(e(option.chain))/\(e(option.token))" data-chain="\(e(option.chain))" data-family="\(e(option.family))" \
            data-chain-id="\(e(option.chainID ?? ""))" data-token="\(e(option.token))" data-decimals="\(option.decimals)" \
            data-payment="\(e(option.payment))" data-payment-display="\(e(option.paymentDisplay))" data-suggested="\(e(option.suggested))" \
            data-suggested-display="\(e(option.suggestedDisplay))" data-payments="\(option.payments)">\(e(option.token)) on \(e(option.chain))</option>
            """
        }.joined(separator: "\n")
        let what = oneTime ? "Buy" : request.upgrade != nil ? "Upgrade to" : request.subscription != nil ? "Pay with crypto for" : "Subscribe to"
        let cadence = oneTime ? "once" : "every \(every)\(request.payNow ? ", the first payment now" : "")"
        let started = request.nativeItem == nil ? "Subscription switched to crypto" : oneTime ? "Order recorded" : "Subscription started"
        let body = """
            <p class="eyebrow">\(e(what))</p>
            <h1 id="plan">\(e(plan.name))</h1>
            <p class="price"><span id="amount">\(e(money))</span> \(e(cadence))</p>
            <section id="choose" aria-labelledby="choose-title">
            <h2 id="choose-title">1. Choose how to pay</h2>
            <label for="option">Token and network</label>
            <select id="option">\(choices)</select>
            <p class="hint" id="reason"></p>
            <label for="allowance">Allowance (the most the merchant may take; you can change it)</label>
            <div class="row"><input id="allowance" inputmode="decimal" autocomplete="off" spellcheck="false"><span id="allowance-token" class="unit"></span></div>
            </section>
            <section id="wallet" aria-labelledby="wallet-title">
            <h2 id="wallet-title">2. Approve from your wallet</h2>
            <button id="connect" type="button">Connect wallet</button>
            <p id="account" class="mono"></p>
            <button id="approve" type="button" disabled>Approve</button>
            </section>
            <section id="progress" aria-labelledby="progress-title">
            <h2 id="progress-title">3. Progress</h2>
            <ol id="steps">
            <li data-step="approving">Approval sent</li>
            <li data-step="approved">Approval seen on chain</li>
            <li data-step="switched">\(e(started))</li>
            \(request.payNow ? "<li data-step=\"charging\">\(oneTime ? "Payment sent" : "First payment sent")</li>" : "")
            <li data-step="complete">\(request.payNow ? "Paid" : "All set")</li>
            </ol>
            <p id="status" role="status" aria-live="polite">\(progress.step == .open ? "Choose a token, connect your wallet and approve." : "")</p>
            <p id="problem" class="error" role="alert"></p>
            <ul id="payments" class="mono"></ul>
            <p><a id="done" class="button" hidden href="\(e(request.successURL ?? "#"))">Continue</a></p>
            </section>
            """
        return PageHTML.document(title: "\(what) \(plan.name)", body: body,
                                 meta: [("settle-session", id), ("settle-csrf", csrf), ("settle-step", progress.step.rawValue)], script: "checkout.js")
    }

    /// `2500 usd` as `25.00 USD`.
    static func money(_ minor: UInt64, currency: String) -> String {
        let exponent = (try? Currency(code: currency).exponent) ?? 2
        return "\(AmountText.display(UInt256(minor), decimals: exponent)) \(currency.uppercased())"
    }
}

/// The customer portal's page: a frame the script fills from `/portal/{id}/state` (values set as text, never as HTML).
enum PortalPage {
    static func render(id: String, csrf: String) -> String {
        let body = """
            <p class="eyebrow">Your payments</p>
            <h1>Wallets paying your subscriptions</h1>
            <p class="lead">For each: what the wallet holds, what it allows the merchant to take, and whether the next payment can go through.</p>
            <p id="status" role="status" aria-live="polite">Loading…</p>
            <p id="problem" class="error" role="alert"></p>
            <div id="agreements"></div>
            """
        return PageHTML.document(title: "Your payments", body: body, meta: [("settle-session", id), ("settle-csrf", csrf)], script: "portal.js")
    }
}
