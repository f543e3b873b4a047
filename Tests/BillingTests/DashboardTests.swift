@testable import API
import Billing
import Foundation
import SettleCore
import Settlement
import TestSupport
import Testing

/// The dashboard's access rule, without I/O.
@Suite("Dashboard access: a live session, the token still configured, CSRF on every action, admin for actions")
struct DashboardAccessTests {
    static func session(scope: String = "admin", expiresAt: UInt64 = 100, endedAt: UInt64? = nil) -> DashboardSession {
        DashboardSession(key: "k", tokenName: "ops", scope: scope, csrf: "c5rf", createdAt: 0, expiresAt: expiresAt, endedAt: endedAt)
    }

    @Test("the table")
    func table() {
        func decide(_ session: DashboardSession?, token: BearerTokens.Scope? = .admin, now: UInt64 = 50, needs: BearerTokens.Scope = .read,
                    post: Bool = false, csrf: String? = nil) -> DashboardAccess {
            DashboardAccess.decide(session: session, tokenScope: token, now: now, needs: needs, stateChanging: post, csrf: csrf)
        }
        #expect(decide(Self.session()) == .allowed(scope: .admin, tokenName: "ops"))
        #expect(decide(nil) == .signIn("Sign in with an API token."))
        #expect(decide(Self.session(endedAt: 10)) == .signIn("You signed out. Sign in again."))
        #expect(decide(Self.session(), now: 100) == .signIn("Your session expired. Sign in again."))
        #expect(decide(Self.session(), token: nil) == .signIn("The token you signed in with is no longer configured. Sign in with another."))
        // An action: the CSRF token, exactly; then the scope.
        #expect(decide(Self.session(), needs: .admin, post: true) == .csrf)
        #expect(decide(Self.session(), needs: .admin, post: true, csrf: "c5rF") == .csrf)
        #expect(decide(Self.session(), needs: .admin, post: true, csrf: "c5rf") == .allowed(scope: .admin, tokenName: "ops"))
        #expect(decide(Self.session(scope: "read"), needs: .admin, post: true, csrf: "c5rf")
                == .forbidden("Token 'ops' is read-only: this needs an admin token."))
        // A token lowered to read in the configuration after sign-in acts as read from then on.
        #expect(decide(Self.session(), token: .read, needs: .admin, post: true, csrf: "c5rf")
                == .forbidden("Token 'ops' is read-only: this needs an admin token."))
        #expect(decide(Self.session(scope: "read"), token: .admin) == .allowed(scope: .read, tokenName: "ops"))
        #expect(decide(Self.session(scope: "root"), token: .admin) == .signIn("The token you signed in with is no longer configured. Sign in with another."))
    }

    @Test("the cookie: read back only in its own shape; set HttpOnly, SameSite=Strict, on /dashboard, Secure behind https")
    func cookie() {
        #expect(DashboardCookie.value(in: "a=1; settle_dashboard=ds_abc; b=2") == "ds_abc")
        #expect(DashboardCookie.value(in: "settle_dashboard=xyz") == nil)
        #expect(DashboardCookie.value(in: "settle_dashboard=ds_" + String(repeating: "a", count: 200)) == nil)
        #expect(DashboardCookie.value(in: nil) == nil)
        #expect(DashboardCookie.set("ds_x", lifetime: 60, secure: false) == "settle_dashboard=ds_x; Path=/dashboard; Max-Age=60; HttpOnly; SameSite=Strict")
        #expect(DashboardCookie.set("ds_x", lifetime: 60, secure: true).hasSuffix("; Secure"))
        #expect(DashboardCookie.clear(secure: false).contains("Max-Age=0"))
    }
}

/// The dashboard over HTTP against the devnet and localstripe: sign-in, pages, actions and their refusals.
@Suite("Dashboard over HTTP: sign-in for a cookie, read-only and admin, CSRF and expiry refused")
struct DashboardHTTPTests {
    static func signIn(_ api: APIFixture, _ token: String) async throws -> (cookie: String, csrf: String) {
        let answer = try await api.call(.post, "/dashboard/sign-in", template: "", token: nil, body: "token=\(token)",
                                        extraHeaders: [("Content-Type", "application/x-www-form-urlencoded")])
        #expect(answer.status == 303, "\(answer.text)")
        #expect(answer.header("Location") == "/dashboard")
        let setCookie = try #require(answer.header("Set-Cookie"))
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/dashboard"), "\(setCookie)")
        #expect(!setCookie.contains(token), "the cookie must not carry the token")
        let cookie = String(setCookie.prefix { $0 != ";" })
        let page = try await api.call(.get, "/dashboard", template: "", token: nil, extraHeaders: [("Cookie", cookie)])
        #expect(page.status == 200, "\(page.text)")
        let marker = "name=\"settle-csrf\" content=\""
        let csrf = String(try #require(page.text.range(of: marker).map { page.text[$0.upperBound...] }).prefix { $0 != "\"" })
        return (cookie, csrf)
    }

    @Test("sign in, read every page, act as admin with CSRF, refused as read-only, without CSRF, after sign-out and after expiry")
    func flow() async throws {
        let api = try await APIFixture.make()
        defer { api.stop() }
        let invoice = try await api.charge(cents: 900)
        let charge = try #require(try await api.world.ledger.charge(invoice: invoice))

        // Not signed in: pages send to the sign-in form; a wrong token gets the form again, with why.
        let anonymous = try await api.call(.get, "/dashboard", template: "", token: nil)
        #expect(anonymous.status == 303 && anonymous.header("Location") == "/dashboard/sign-in")
        let wrong = try await api.call(.post, "/dashboard/sign-in", template: "", token: nil, body: "token=nope")
        #expect(wrong.status == 401 && wrong.text.contains("not one of this daemon"), "\(wrong.text)")
        let elsewhere = try await api.call(.post, "/dashboard/sign-in", template: "", token: nil, body: "token=\(APIFixture.adminToken)",
                                           extraHeaders: [("Origin", "https://evil.example")])
        #expect(elsewhere.status == 403 && elsewhere.header("Set-Cookie") == nil, "\(elsewhere.text)")
        let crossSite = try await api.call(.post, "/dashboard/sign-in", template: "", token: nil, body: "token=\(APIFixture.adminToken)",
                                           extraHeaders: [("Sec-Fetch-Site", "cross-site"), ("Origin", "null")])
        #expect(crossSite.status == 403 && crossSite.header("Set-Cookie") == nil, "\(crossSite.text)")

        let admin = try await Self.signIn(api, APIFixture.adminToken)
        let headers = [("Cookie", admin.cookie)]
        for path in ["/dashboard", "/dashboard/customers", "/dashboard/customers?q=\(charge.terms.wallet.prefix(10))", "/dashboard/customers/\(charge.agreement)",
                     "/dashboard/payments", "/dashboard/payments?state=ingested&chain=devnet", "/dashboard/payments/\(invoice)", "/dashboard/findings"] {
            let page = try await api.call(.get, path, template: "", token: nil, extraHeaders: headers)
            #expect(page.status == 200, "\(path): \(page.status) \(page.text.prefix(300))")
            #expect(page.header("Content-Security-Policy")?.contains("form-action 'self'") == true)
            #expect(!page.text.contains(APIFixture.adminToken), "\(path) shows the token")
        }
        let customers = try await api.call(.get, "/dashboard/customers", template: "", token: nil, extraHeaders: headers)
        #expect(customers.text.contains(charge.terms.wallet), "the agreement's wallet is listed")
        let payment = try await api.call(.get, "/dashboard/payments/\(invoice)", template: "", token: nil, extraHeaders: headers)
        #expect(payment.text.contains("ingested") && payment.text.contains("dashboard.stripe.com/invoices/\(invoice)"))
        #expect(try await api.call(.get, "/dashboard/payments/in_nothing", template: "", token: nil, extraHeaders: headers).status == 404)

        // "Get data": the chain's numbers.
        let live = try await api.call(.get, "/dashboard/data/agreements/\(charge.agreement)", template: "", token: nil, extraHeaders: headers)
        let allowance = try await api.world.devnet.allowance(token: api.world.token, owner: api.world.payer.address, spender: api.world.spender.address)
        #expect(live.status == 200 && live.json["allowance"]?.stringValue == AmountText.short(allowance, decimals: charge.tokenAmount.decimals), "\(live.text)")

        // Actions: CSRF needed; with it, the admin acts.
        let link = "/dashboard/customers/\(charge.agreement)/portal-link"
        #expect(try await api.call(.post, link, template: "", token: nil, extraHeaders: headers).errorCode == "csrf")
        // A token that differs in its first character (one that starts with "x" gets "y": replacing it by "x" would
        // leave it as it was, and once in CI it did).
        let tampered = (admin.csrf.first == "x" ? "y" : "x") + admin.csrf.dropFirst()
        #expect(tampered != admin.csrf)
        #expect(try await api.call(.post, link, template: "", token: nil, extraHeaders: headers + [("X-Settle-CSRF", tampered)]).errorCode == "csrf")
        let made = try await api.call(.post, link, template: "", token: nil, extraHeaders: headers + [("X-Settle-CSRF", admin.csrf)])
        #expect(made.status == 200 && made.json["url"]?.stringValue?.contains("/portal/ps_") == true, "\(made.text)")
        // A bearer token is not a session: the dashboard's actions take only the cookie.
        let bearer = try await api.call(.post, link, template: "", token: APIFixture.adminToken, extraHeaders: [("X-Settle-CSRF", admin.csrf)])
        #expect(bearer.status == 401, "\(bearer.text)")

        // Read-only: every page, no action.
        let reader = try await Self.signIn(api, APIFixture.readToken)
        let refused = try await api.call(.post, link, template: "", token: nil, extraHeaders: [("Cookie", reader.cookie), ("X-Settle-CSRF", reader.csrf)])
        #expect(refused.status == 403 && refused.errorCode == "forbidden", "\(refused.text)")
        let readPage = try await api.call(.get, "/dashboard/payments/\(invoice)", template: "", token: nil, extraHeaders: [("Cookie", reader.cookie)])
        #expect(readPage.text.contains("needs an admin token") && !readPage.text.contains("data-action="), "read-only pages show actions disabled")

        // Sign-out ends the session: the old cookie opens nothing.
        let out = try await api.call(.post, "/dashboard/sign-out", template: "", token: nil, body: "csrf=\(admin.csrf)", extraHeaders: headers)
        #expect(out.status == 303 && out.header("Set-Cookie")?.contains("Max-Age=0") == true, "\(out.text)")
        let after = try await api.call(.get, "/dashboard", template: "", token: nil, extraHeaders: headers)
        #expect(after.status == 401 && after.text.contains("signed out"), "\(after.text.prefix(300))")
        #expect(try await api.call(.get, "/dashboard/data/agreements/\(charge.agreement)", template: "", token: nil, extraHeaders: headers).status == 401)

        // Expiry: a session past its end opens nothing.
        let store = DashboardSessionStore(database: api.world.runtime.database)
        let (id, key) = DashboardSession.newID()
        try await store.create(DashboardSession(key: key, tokenName: "ops", scope: "admin", csrf: "c", createdAt: 1, expiresAt: 2))
        let expired = try await api.call(.get, "/dashboard", template: "", token: nil, extraHeaders: [("Cookie", "settle_dashboard=\(id)")])
        #expect(expired.status == 401 && expired.text.contains("expired"), "\(expired.text.prefix(300))")
    }
}
