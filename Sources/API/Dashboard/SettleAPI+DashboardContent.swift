import Billing
import Foundation
import SettleCore
import Settlement

/// What each dashboard page reads and shows.
extension SettleAPI {
    typealias E = PageHTML
    typealias P = DashboardPages

    // MARK: - Overview

    func overview(_ viewer: P.Viewer) async throws -> (title: String, html: String) {
        let now = now()
        let daily = DashboardCharts.daily(try await ledger.collected(since: now - 31 * 86_400), days: 30, now: now)
        let counts = try await ledger.chargeCounts()
        let states = ChargeState.allCases.filter { (counts[$0] ?? 0) > 0 }
        let stateRows = states.map { [P.link("/dashboard/payments?state=\($0.rawValue)", $0.rawValue.replacingOccurrences(of: "_", with: " ")),
                                      String(counts[$0] ?? 0)] }
        let waiting = try await ledger.charges(in: [.awaitingFunds]).prefix(50)
        var agreements: [Int64: Agreement] = [:]
        var waitingRows: [[String]] = []
        for charge in waiting {
            if agreements[charge.agreement] == nil { agreements[charge.agreement] = try await ledger.agreement(id: charge.agreement) }
            waitingRows.append([P.link("/dashboard/payments/\(charge.invoice)", charge.invoice), E.escape(agreements[charge.agreement]?.customer ?? "—"),
                                E.escape(AmountText.short(charge.tokenAmount.baseUnits, decimals: charge.tokenAmount.decimals) + " " + charge.terms.token),
                                E.escape(charge.reason ?? "—"), P.time(charge.nextAttemptAt)])
        }
        let open = try await dashboardService().billing.findings().filter { $0.kind.needsAction && $0.resolvedAt == nil }
        let chainRows = health.snapshot().map { name, status in
            [E.escape(name), E.escape(status.family), status.head.map { String($0) } ?? "—", status.indexed.map { String($0) } ?? "—",
             status.lag.map { String($0) } ?? "—", P.time(status.lastSuccess), E.escape(status.lastError ?? "")]
        }
        let html = """
            <section aria-labelledby="collected"><h2 id="collected">Collected per day (UTC), last 30 days</h2>
            \(DashboardCharts.svg(daily))
            \(DashboardCharts.legend(daily))
            </section>
            <div class="grid">
            <section aria-labelledby="states"><h2 id="states">Charges by state</h2>
            \(P.table(["State", "Charges"], stateRows, empty: "No charges yet."))
            </section>
            <section aria-labelledby="findings-title"><h2 id="findings-title">Open findings</h2>
            <p class="big"><a href="/dashboard/findings">\(open.count)</a></p>
            <p class="hint">\(open.isEmpty ? "Nothing needs you now." : "Invoices that need you: see Findings.")</p>
            </section>
            </div>
            <section aria-labelledby="waiting-title"><h2 id="waiting-title">Waiting for funds</h2>
            \(P.table(["Invoice", "Customer", "Amount", "Why", "Next check"], waitingRows, empty: "No charge is waiting for funds."))
            </section>
            <section aria-labelledby="chains-title"><h2 id="chains-title">Chains</h2>
            \(P.table(["Chain", "Family", "Head", "Indexed", "Lag", "Last successful poll", "Last error"], chainRows, empty: "No chains configured.", id: "chains"))
            </section>
            """
        return ("Overview", html)
    }

    // MARK: - Customers

    func customers(_ viewer: P.Viewer, query: String?) async throws -> (title: String, html: String) {
        let needle = query?.lowercased() ?? ""
        let all = try await ledger.agreements()
        let matching = all.filter { agreement in
            needle.isEmpty || [agreement.customer, agreement.subscription ?? "", agreement.chain, agreement.token, agreement.wallet]
                .contains { $0.lowercased().contains(needle) }
        }
        let shown = matching.prefix(500)
        let rows = shown.map { a in
            [P.link("/dashboard/customers/\(a.id)", a.customer), E.escape(a.subscription ?? "—"), E.escape(a.chain), E.escape(a.token),
             "<span class=\"mono\">\(E.escape(a.wallet))</span>",
             "<span data-field=\"allowance\">—</span>", "<span data-field=\"balance\">—</span>", "<span data-field=\"readiness\">—</span>",
             "<button type=\"button\" class=\"small\" data-get-data=\"\(a.id)\">Get data</button>"]
        }
        let html = """
            <form method="get" action="/dashboard/customers" class="search" role="search">
            <label for="q">Search customers, subscriptions, wallets</label>
            <div class="row"><input id="q" name="q" value="\(E.escape(query ?? ""))" autocomplete="off"><button type="submit" class="small">Search</button></div>
            </form>
            <p class="hint">\(matching.count) of \(all.count) agreements\(matching.count > shown.count ? ", the first \(shown.count) shown" : ""). "Get data" reads the allowance, balance and readiness for the next invoice from the chain now.</p>
            \(P.table(["Customer", "Subscription", "Chain", "Token", "Wallet", "Allowance", "Balance", "Next invoice", ""], Array(rows),
                      empty: needle.isEmpty ? "No agreements yet: customers appear once they approve in a checkout or their metadata names a wallet." : "Nothing matches.",
                      id: "customers"))
            """
        return ("Customers", html)
    }

    func agreementOrNotFound(_ text: String) async throws -> (Agreement, any ChainView) {
        guard let id = Int64(text), let agreement = try await ledger.agreement(id: id) else { throw APIError.notFound("no agreement \(text)") }
        guard let chain = chains[agreement.chain] else { throw APIError.notFound("agreement \(id) is on chain \(agreement.chain), which is not configured") }
        return (agreement, chain)
    }

    /// "Get data": the live allowance, balance and readiness for the next invoice (read from the chain now).
    func liveData(_ text: String) async throws -> JSON {
        let (agreement, chain) = try await agreementOrNotFound(text)
        guard let portal else {
            let capacity = try await chain.capacity.capacity(wallet: agreement.wallet, token: agreement.token)
            let decimals = try chain.decimals(of: agreement.token)
            return ["allowance": .string(AmountText.short(capacity.allowance, decimals: decimals)), "balance": .string(AmountText.short(capacity.balance, decimals: decimals)),
                    "token": .string(agreement.token), "readiness": .null, "advice": .null]
        }
        let card = try await portal.card(agreement, chain: chain)
        return ["allowance": card["allowance"] ?? .null, "balance": card["balance"] ?? .null, "token": .string(agreement.token),
                "readiness": card["readiness"] ?? .null, "advice": card["advice"] ?? .null, "next": card["next"] ?? .null]
    }

    func customer(_ viewer: P.Viewer, _ text: String) async throws -> (title: String, html: String) {
        let (agreement, chain) = try await agreementOrNotFound(text)
        let decimals = try chain.decimals(of: agreement.token)
        let page = try await chain.allowances(wallet: agreement.wallet, token: agreement.token, cursor: nil, limit: 200)
        // Approvals and revokes set the allowance; a Solana pull lowers it by its amount (shown in the table, not drawn).
        let points = page.history.compactMap { entry -> (at: UInt64, value: UInt256)? in
            guard entry["kind"]?.stringValue != "pull", let value = entry["amount"]?.stringValue, let units = try? UInt256(decimal: value) else { return nil }
            return (entry["time"]?.uint64Value ?? 0, units)
        }
        let historyRows = page.history.map { entry in
            [E.escape(entry["kind"]?.stringValue ?? "—"),
             E.escape((entry["amount"]?.stringValue).flatMap { try? UInt256(decimal: $0) }.map { AmountText.short($0, decimals: decimals) } ?? "—"),
             E.escape(entry["block"].map { $0.text } ?? "—"),
             entry["transaction"]?.stringValue.map { P.transaction($0, chain: chain) } ?? "—"]
        }
        let charges = try await ledger.charges(agreement: agreement.id)
        let chargeRows = charges.map { c in
            [P.link("/dashboard/payments/\(c.invoice)", c.invoice), E.escape(AmountText.short(c.tokenAmount.baseUnits, decimals: c.tokenAmount.decimals) + " " + c.terms.token),
             P.state(c.state), P.time(c.dueAt)]
        }
        let html = """
            <dl class="facts">
            <dt>Customer</dt><dd>\(E.escape(agreement.customer))</dd>
            <dt>Subscription</dt><dd>\(E.escape(agreement.subscription ?? "—"))</dd>
            <dt>Pays with</dt><dd>\(E.escape(agreement.token)) on \(E.escape(agreement.chain))</dd>
            <dt>Wallet</dt><dd class="mono">\(E.escape(agreement.wallet))</dd>
            </dl>
            <div class="actions" data-agreement="\(agreement.id)">
            <button type="button" class="small" data-get-data="\(agreement.id)">Get data</button>
            \(P.action("Create a portal link", url: "/dashboard/customers/\(agreement.id)/portal-link",
                       confirm: "Create a portal link for \(agreement.customer)? Anyone with the link sees this customer's payments for an hour.",
                       viewer: viewer, result: "portal"))
            <p class="live" data-live="\(agreement.id)">Allowance <span data-field="allowance">—</span> · balance <span data-field="balance">—</span> · next invoice <span data-field="readiness">—</span></p>
            <p class="result" data-result-for="portal" role="status"></p>
            </div>
            <section aria-labelledby="history-title"><h2 id="history-title">Allowance to the merchant over time</h2>
            \(Self.allowanceChart(points, decimals: decimals, token: agreement.token, now: now()))
            \(P.table(["Event", "Amount", "Block", "Transaction"], historyRows, empty: "No approvals indexed for this wallet and token."))
            </section>
            <section aria-labelledby="charges-title"><h2 id="charges-title">Charges</h2>
            \(P.table(["Invoice", "Amount", "State", "Due"], chargeRows, empty: "No charges yet."))
            </section>
            """
        return ("Customer \(agreement.customer)", html)
    }

    /// The allowance as a step line over time (SVG): each event sets it, the last value runs on to `now`. Events without
    /// a time are spaced evenly.
    static func allowanceChart(_ points: [(at: UInt64, value: UInt256)], decimals: Int, token: String, now: UInt64) -> String {
        guard !points.isEmpty else { return "" }
        let values = points.map { DashboardCharts.units($0.value, decimals) }
        let peak = DashboardCharts.niceCeiling(max(1, values.max() ?? 1))
        let timed = points.allSatisfy { $0.at > 0 }
        let start = Double(timed ? points[0].at : 0), end = Double(timed ? max(now, points.last!.at + 1) : UInt64(points.count))  // swiftlint:disable:this force_unwrapping
        let width = 720.0, height = 160.0, left = 56.0, right = 8.0, top = 10.0, bottom = 10.0
        func x(_ i: Int) -> Double { left + (width - left - right) * ((timed ? Double(points[i].at) : Double(i)) - start) / max(1, end - start) }
        func y(_ value: Double) -> Double { top + (height - top - bottom) * (1 - value / peak) }
        var path = "M\(DashboardCharts.f(x(0))),\(DashboardCharts.f(y(values[0])))"
        for i in 1..<max(1, values.count) where values.count > 1 {
            path += " H\(DashboardCharts.f(x(i))) V\(DashboardCharts.f(y(values[i])))"
        }
        path += " H\(DashboardCharts.f(width - right))"
        let last = "\(DashboardCharts.label(values.last ?? 0)) \(token)"
        return "<svg class=\"chart\" viewBox=\"0 0 720 160\" role=\"img\" aria-label=\"Allowance over time: \(points.count) events, now \(E.escape(last))\">"
            + "<line x1=\"56\" y1=\"150\" x2=\"712\" y2=\"150\" stroke=\"#dde2ea\"/>"
            + "<text x=\"50\" y=\"14\" text-anchor=\"end\" font-size=\"11\" fill=\"#5b6472\">\(DashboardCharts.label(peak))</text>"
            + "<text x=\"50\" y=\"150\" text-anchor=\"end\" font-size=\"11\" fill=\"#5b6472\">0</text>"
            + "<path d=\"\(path)\" fill=\"none\" stroke=\"#1f4fd6\" stroke-width=\"2\"/>"
            + "<text x=\"712\" y=\"\(DashboardCharts.f(max(22, y(values.last ?? 0) - 6)))\" text-anchor=\"end\" font-size=\"11\" fill=\"#1f4fd6\">now \(E.escape(last))</text></svg>"
    }

    func portalLink(_ text: String) async throws -> JSON {
        let (agreement, _) = try await agreementOrNotFound(text)
        guard let portal else { throw APIError.conflict("portal links need [stripe] in settle.toml") }
        let created = try await portal.create(Array(#"{"customer": "\#(agreement.customer)"}"#.utf8), now: now())
        return ["message": .string("Portal link (valid for an hour): \(created["url"]?.stringValue ?? "")"), "url": created["url"] ?? .null]
    }

    // MARK: - Payments

    func payments(_ viewer: P.Viewer, state: String?, chain: String?) async throws -> (title: String, html: String) {
        let states = try state.map { text throws(APIError) in try Self.chargeStates(text) }
        let charges = try await ledger.recentCharges(states: states, chain: chain, limit: 300)
        var agreements: [Int64: Agreement] = [:]
        var rows: [[String]] = []
        for charge in charges {
            if agreements[charge.agreement] == nil { agreements[charge.agreement] = try await ledger.agreement(id: charge.agreement) }
            rows.append([P.link("/dashboard/payments/\(charge.invoice)", charge.invoice), E.escape(agreements[charge.agreement]?.customer ?? "—"),
                         E.escape(charge.terms.chain), E.escape(AmountText.short(charge.tokenAmount.baseUnits, decimals: charge.tokenAmount.decimals) + " " + charge.terms.token),
                         P.state(charge.state), P.time(charge.dueAt)])
        }
        let stateOptions = (["" ] + ChargeState.allCases.map(\.rawValue)).map { value in
            "<option value=\"\(value)\"\(value == (state ?? "") ? " selected" : "")>\(value.isEmpty ? "every state" : value.replacingOccurrences(of: "_", with: " "))</option>"
        }.joined()
        let chainOptions = ([""] + chains.keys.sorted()).map { value in
            "<option value=\"\(E.escape(value))\"\(value == (chain ?? "") ? " selected" : "")>\(value.isEmpty ? "every chain" : E.escape(value))</option>"
        }.joined()
        let html = """
            <form method="get" action="/dashboard/payments" class="filters">
            <label for="state">State</label><select id="state" name="state">\(stateOptions)</select>
            <label for="chain">Chain</label><select id="chain" name="chain">\(chainOptions)</select>
            <button type="submit" class="small">Filter</button>
            </form>
            <p class="hint">The newest \(rows.count == 300 ? "300" : "\(rows.count)") charges\(state.map { " in \($0.replacingOccurrences(of: "_", with: " "))" } ?? "")\(chain.map { " on \($0)" } ?? ""), newest first.</p>
            \(P.table(["Invoice", "Customer", "Chain", "Amount", "State", "Due"], rows, empty: "No charges match.", id: "payments"))
            """
        return ("Payments", html)
    }

    func payment(_ viewer: P.Viewer, _ invoice: String) async throws -> (title: String, html: String) {
        guard let charge = try await ledger.charge(invoice: invoice) else { throw APIError.notFound("no charge for invoice '\(invoice)'") }
        let agreement = try await ledger.agreement(id: charge.agreement)
        let chain = chains[charge.terms.chain]
        let moves = try await ledger.timeline(charge.id).map { move in
            [P.time(move.at), "\(P.state(move.from)) → \(P.state(move.to))", E.escape(move.reason ?? "")]
        }
        let attempts = try await ledger.attempts(charge: charge.id).map { attempt in
            [String(attempt.sequence), P.transaction(attempt.transactionID, chain: chain), E.escape(attempt.outcome.rawValue),
             attempt.nonce.map { String($0) } ?? "—", attempt.block.map { String($0) } ?? "—"]
        }
        let native = NativeInvoice.isNative(invoice)
        let source = native ? "<dt>Invoice by</dt><dd>Settle (an item's renewal, no Stripe)</dd>"
            : "<dt>Stripe</dt><dd><a href=\"\(E.escape(try dashboardService().stripeInvoiceURL(invoice)))\" rel=\"noopener noreferrer\" target=\"_blank\">\(E.escape(invoice)) in Stripe</a></dd>"
        let canRetry = charge.state == .awaitingFunds
        let html = """
            <dl class="facts">
            <dt>State</dt><dd>\(P.state(charge.state))\(charge.reason.map { " · " + E.escape($0) } ?? "")</dd>
            <dt>Amount</dt><dd>\(E.escape(AmountText.short(charge.tokenAmount.baseUnits, decimals: charge.tokenAmount.decimals))) \(E.escape(charge.terms.token)) on \(E.escape(charge.terms.chain))</dd>
            <dt>Invoice</dt><dd>\(E.escape(AmountText.display(UInt256(charge.amount.minorUnits), decimals: charge.amount.currency.exponent))) \(E.escape(charge.amount.currency.code)), at \(E.escape(charge.rate.description)) \(E.escape(charge.terms.token)) per \(E.escape(charge.amount.currency.code))</dd>
            <dt>Customer</dt><dd>\(agreement.map { P.link("/dashboard/customers/\($0.id)", $0.customer) } ?? "—")</dd>
            <dt>Paying wallet</dt><dd class="mono">\(E.escape(charge.terms.wallet))</dd>
            <dt>Due</dt><dd>\(P.time(charge.dueAt))</dd>
            <dt>Next check</dt><dd>\(P.time(charge.nextAttemptAt))</dd>
            \(source)
            </dl>
            <div class="actions">
            \(canRetry ? P.action("Retry now", url: "/dashboard/payments/\(invoice)/retry", confirm: "Check \(invoice) again now and charge it if the wallet can pay?", viewer: viewer, result: "action") : "")
            \(charge.state != .ingested || native ? "" : P.action("Collect now", url: "/dashboard/payments/\(invoice)/collect", confirm: "Make \(invoice) due now and charge it?", viewer: viewer, result: "action"))
            <p class="result" data-result-for="action" role="status"></p>
            </div>
            <section aria-labelledby="timeline-title"><h2 id="timeline-title">Timeline</h2>
            \(P.table(["When", "Move", "Why"], moves, empty: "No moves yet.", id: "timeline"))
            </section>
            <section aria-labelledby="attempts-title"><h2 id="attempts-title">Transactions</h2>
            \(P.table(["#", "Transaction", "Outcome", "Nonce", "Block"], attempts, empty: "No transaction signed yet.", id: "attempts"))
            </section>
            """
        return ("Payment \(invoice)", html)
    }

    func retryCharge(_ invoice: String) async throws -> JSON {
        guard let retrier else { throw APIError.conflict("retries need [stripe] in settle.toml") }
        let (charge, findings) = try await retrier.retry(invoice: invoice)
        guard let charge else { throw APIError.notFound("no charge for \(invoice)\(findings.isEmpty ? "" : ": " + findings.joined(separator: "; "))") }
        return ["message": .string("Retried: the charge is \(charge.state.rawValue.replacingOccurrences(of: "_", with: " ")) now."), "state": .string(charge.state.rawValue)]
    }

    func collect(_ invoice: String) async throws -> JSON {
        let outcome = try await dashboardService().collectNow(invoice)
        return ["message": .string(outcome)]
    }

    // MARK: - Findings and webhooks

    func findings(_ viewer: P.Viewer) async throws -> (title: String, html: String) {
        let open = try await dashboardService().billing.findings().filter { $0.resolvedAt == nil }
            .sorted { ($0.kind.needsAction ? 0 : 1, $1.lastSeen) < ($1.kind.needsAction ? 0 : 1, $0.lastSeen) }
        let service = try dashboardService()
        var charged: Set<String> = []
        for f in open where try await ledger.charge(invoice: f.invoice) != nil { charged.insert(f.invoice) }
        let findingRows = open.map { f in
            // An invoice with a charge opens its payment page; one without (no agreement) opens in Stripe.
            [charged.contains(f.invoice) ? P.link("/dashboard/payments/\(f.invoice)", f.invoice)
                : "<a href=\"\(E.escape(service.stripeInvoiceURL(f.invoice)))\" rel=\"noopener noreferrer\" target=\"_blank\">\(E.escape(f.invoice))</a>", E.escape(f.kind.rawValue.replacingOccurrences(of: "_", with: " ")) + (f.kind.needsAction ? " <span class=\"tag\">action</span>" : ""),
             E.escape(f.detail), E.escape(f.kind.fix), P.time(f.lastSeen)]
        }
        let messages = try await outbox.messages(limit: 200).reversed()
        let webhookRows = messages.map { m in
            [E.escape(m.type), m.invoice.map { P.link("/dashboard/payments/\($0)", $0) } ?? "—", "<span class=\"delivery \(m.status)\">\(E.escape(m.status.replacingOccurrences(of: "_", with: " ")))</span>",
             String(m.attempts), m.lastStatus.map { String($0) } ?? "—", E.escape(m.lastError ?? ""), P.time(m.createdAt),
             P.action("Redeliver", url: "/dashboard/webhooks/\(m.id)/redeliver", confirm: "Send \(m.type) (\(m.eventID)) to your endpoint again?", viewer: viewer, result: "webhook-\(m.id)")
                + "<span class=\"result\" data-result-for=\"webhook-\(m.id)\" role=\"status\"></span>"]
        }
        let html = """
            <section aria-labelledby="open-title"><h2 id="open-title">Open findings</h2>
            <p class="hint">What Settle found about invoices, and what to do. Findings close by themselves once the invoice is right. <code>settled audit stripe</code> also lists subscriptions still on charge_automatically.</p>
            \(P.table(["Invoice", "Finding", "Detail", "Fix", "Last seen"], findingRows, empty: "No open findings.", id: "findings"))
            </section>
            <section aria-labelledby="audit-title"><h2 id="audit-title">Subscriptions Stripe would charge to a card</h2>
            <p class="hint">Subscriptions with an agreement still on <code>charge_automatically</code>, and open invoices without one, read from Stripe now.</p>
            <button type="button" class="small" data-audit>Check Stripe now</button>
            <ul id="audit" class="mono" role="status"></ul>
            </section>
            <section aria-labelledby="webhooks-title"><h2 id="webhooks-title">Webhook deliveries</h2>
            \(P.table(["Event", "Invoice", "Status", "Attempts", "Last HTTP status", "Last error", "Created", ""], Array(webhookRows), empty: "No webhooks sent yet (or no [webhooks] endpoint configured).", id: "webhooks"))
            </section>
            """
        return ("Findings & webhooks", html)
    }

    /// The Stripe audit, read now: what would make Stripe and Settle disagree about who collects, with the fix.
    func audit() async throws -> JSON {
        let report = try await dashboardService().audit()
        let lines: [JSON] = report.chargeAutomatically.map {
            .string("\($0.subscription) (\($0.customer)) is charge_automatically: \(InvoiceFinding.Kind.chargeAutomatically.fix)")
        } + report.withoutAgreement.map { .string("\($0.invoice) (\($0.customer)): \($0.problem). \(InvoiceFinding.Kind.noAgreement.fix)") }
        return ["findings": .array(lines)]
    }

    func redeliver(_ id: String) async throws -> JSON {
        guard try await outbox.redeliver(id, now: now()) else { throw APIError.notFound("no webhook delivery \(id)") }
        return ["message": "Queued: it is sent again within seconds."]
    }
}
