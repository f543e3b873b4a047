import Billing
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SettleCore
import Settlement
import Store

/// The merchant dashboard under `/dashboard`: sign in with an API token (a cookie, not the token, from then on), the
/// overview, customers with "Get data", payments with their timelines, findings and webhook deliveries. See
/// `DashboardPages` for what a page may show and `DashboardAccess` for who may do what.
extension SettleAPI {
    func addDashboard<Context: RequestContext>(to router: Router<Context>) {
        router.get("/assets/dashboard.css") { _, _ in PageHTML.asset("text/css; charset=utf-8", DashboardAssets.css) }
        router.get("/assets/dashboard.js") { _, _ in PageHTML.asset("text/javascript; charset=utf-8", DashboardAssets.js) }
        router.get("/dashboard/sign-in") { _, _ in self.dashboardHTML(.ok, DashboardPages.signIn(message: nil)) }
        router.post("/dashboard/sign-in") { request, _ in await self.signIn(request) }
        router.post("/dashboard/sign-out") { request, _ in await self.signOut(request) }
        router.get("/dashboard") { request, _ in await self.page(request, "overview") { viewer in try await self.overview(viewer) } }
        router.get("/dashboard/customers") { request, _ in
            await self.page(request, "customers") { viewer in try await self.customers(viewer, query: QueryParameters(request).string("q")) }
        }
        router.get("/dashboard/customers/:agreement") { request, context in
            await self.page(request, "customers") { viewer in try await self.customer(viewer, Self.parameter(context, "agreement") ?? "") }
        }
        router.get("/dashboard/payments") { request, _ in
            await self.page(request, "payments") { viewer in
                let query = QueryParameters(request)
                return try await self.payments(viewer, state: query.string("state"), chain: query.string("chain"))
            }
        }
        router.get("/dashboard/payments/:invoice") { request, context in
            await self.page(request, "payments") { viewer in try await self.payment(viewer, Self.parameter(context, "invoice") ?? "") }
        }
        router.get("/dashboard/findings") { request, _ in await self.page(request, "findings") { viewer in try await self.findings(viewer) } }
        router.get("/dashboard/data/agreements/:agreement") { request, context in
            await self.dashboardJSON(request, needs: .read) { try await self.liveData(Self.parameter(context, "agreement") ?? "") }
        }
        router.get("/dashboard/data/audit") { request, _ in await self.dashboardJSON(request, needs: .read) { try await self.audit() } }
        router.post("/dashboard/customers/:agreement/portal-link") { request, context in
            await self.dashboardJSON(request, needs: .admin) { try await self.portalLink(Self.parameter(context, "agreement") ?? "") }
        }
        router.post("/dashboard/payments/:invoice/retry") { request, context in
            await self.dashboardJSON(request, needs: .admin) { try await self.retryCharge(Self.parameter(context, "invoice") ?? "") }
        }
        router.post("/dashboard/payments/:invoice/collect") { request, context in
            await self.dashboardJSON(request, needs: .admin) { try await self.collect(Self.parameter(context, "invoice") ?? "") }
        }
        router.post("/dashboard/webhooks/:id/redeliver") { request, context in
            await self.dashboardJSON(request, needs: .admin) { try await self.redeliver(Self.parameter(context, "id") ?? "") }
        }
    }

    func dashboardService() throws(APIError) -> DashboardService {
        guard let dashboard else { throw APIError.notFound("the dashboard is not served by this daemon") }
        return dashboard
    }

    func dashboardHTML(_ status: HTTPResponse.Status, _ html: String, cookie: String? = nil) -> Response {
        var headers = PageHTML.headers("text/html; charset=utf-8")
        headers[HTTPField.Name("Content-Security-Policy")!] = PageHTML.dashboardSecurityPolicy  // swiftlint:disable:this force_unwrapping
        // Links to explorers and Stripe leave without the dashboard's address; its own forms carry their origin.
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"  // swiftlint:disable:this force_unwrapping
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    func redirect(_ location: String, cookie: String? = nil) -> Response {
        var headers = PageHTML.headers("text/plain; charset=utf-8")
        headers[.location] = location
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: .seeOther, headers: headers)
    }

    /// The session the request's cookie names, judged by `DashboardAccess`.
    func access(_ request: Request, needs: BearerTokens.Scope, stateChanging: Bool, csrf: String?) async throws -> (DashboardAccess, DashboardSession?) {
        let service = try dashboardService()
        var session: DashboardSession?
        if let value = DashboardCookie.value(in: request.headers[.cookie]) {
            session = try await service.sessions.session(key: PageSession.key(of: value))
        }
        let decision = DashboardAccess.decide(session: session, tokenScope: session.flatMap { tokens.scope(named: $0.tokenName) }, now: now(),
                                              needs: needs, stateChanging: stateChanging, csrf: csrf)
        return (decision, session)
    }

    /// A page for a signed-in viewer; anyone else is sent to sign in.
    func page(_ request: Request, _ section: String, _ body: (DashboardPages.Viewer) async throws -> (title: String, html: String)) async -> Response {
        await ReadLane.$current.withValue(.api) {
            do {
                let (decision, session) = try await access(request, needs: .read, stateChanging: false, csrf: nil)
                guard case .allowed(let scope, let name) = decision, let session else {
                    if case .signIn(let why) = decision, DashboardCookie.value(in: request.headers[.cookie]) != nil {
                        return dashboardHTML(.unauthorized, DashboardPages.signIn(message: why), cookie: DashboardCookie.clear(secure: dashboard?.secureCookie ?? false))
                    }
                    return redirect("/dashboard/sign-in")
                }
                let viewer = DashboardPages.Viewer(tokenName: name, scope: scope, csrf: session.csrf)
                let (title, html) = try await body(viewer)
                return dashboardHTML(.ok, DashboardPages.layout(title, active: section, viewer: viewer, body: html))
            } catch let error as APIError {
                return dashboardHTML(error.status, "<!doctype html><title>\(PageHTML.escape(error.message))</title><main class=\"card\"><h1>\(error.status.code)</h1><p>\(PageHTML.escape(error.message))</p><p><a href=\"/dashboard\">Back to the dashboard</a></p></main>")
            } catch {
                logger.error("dashboard page failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
                return dashboardHTML(.internalServerError, "<!doctype html><title>Error</title><main class=\"card\"><h1>Something went wrong</h1><p>See the daemon's log.</p></main>")
            }
        }
    }

    /// A JSON request from a dashboard page: the session's cookie, and for actions the CSRF header.
    func dashboardJSON(_ request: Request, needs: BearerTokens.Scope, _ body: @escaping () async throws -> JSON) async -> Response {
        await guarded(request, nil) {
            let stateChanging = request.method == .post
            let (decision, _) = try await access(request, needs: needs, stateChanging: stateChanging,
                                                 csrf: request.headers[HTTPField.Name("X-Settle-CSRF")!])  // swiftlint:disable:this force_unwrapping
            switch decision {
            case .allowed(_, let name):
                let answer = try await body()
                if stateChanging { logger.notice("dashboard action", metadata: ["path": "\(request.uri.path)", "api.token": "\(name)"]) }
                return JSONBody.response(.ok, answer)
            case .signIn(let why): throw APIError(.unauthorized, "unauthorized", why)
            case .forbidden(let why): throw APIError(.forbidden, "forbidden", why)
            case .csrf: throw APIError(.forbidden, "csrf", "missing or wrong X-Settle-CSRF header: reload the page")
            }
        }
    }

    /// `POST /dashboard/sign-in` (form field `token`): a session cookie for a configured token, else the form again.
    func signIn(_ request: Request) async -> Response {
        do {
            let service = try dashboardService()
            // Another site's form must not sign a browser in (login CSRF). Browsers say where a request comes from:
            // Sec-Fetch-Site, and Origin (a page's own origin under the dashboard's same-origin referrer policy).
            let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!]  // swiftlint:disable:this force_unwrapping
            let origin = request.headers[HTTPField.Name("Origin")!]  // swiftlint:disable:this force_unwrapping
            let originHost = origin.flatMap(URL.init(string:)).map { "\($0.host ?? "")\($0.port.map { ":\($0)" } ?? "")" }
            if let site, site != "same-origin" && site != "none" {
                return dashboardHTML(.forbidden, DashboardPages.signIn(message: "This sign-in came from another site; sign in from this page."))
            }
            if let origin, origin != "null", originHost != request.head.authority {
                return dashboardHTML(.forbidden, DashboardPages.signIn(message: "This sign-in came from another site (\(origin)); sign in from this page."))
            }
            let fields = FormFields.parse(try await body(request))
            guard let token = fields["token"], !token.isEmpty, let match = tokens.match(token: token) else {
                logger.notice("dashboard sign-in refused", metadata: ["reason": "unknown token"])
                return dashboardHTML(.unauthorized, DashboardPages.signIn(message: "That token is not one of this daemon's API tokens."))
            }
            let (id, key) = DashboardSession.newID()
            let now = now()
            try await service.sessions.create(DashboardSession(key: key, tokenName: match.name, scope: match.scope.rawValue, csrf: PageSession.randomToken(),
                                                               createdAt: now, expiresAt: now + service.lifetime))
            try await service.sessions.prune(before: now - 7 * 86_400)  // ended or expired a week ago: gone
            logger.notice("dashboard sign-in", metadata: ["api.token": "\(match.name)", "scope": "\(match.scope.rawValue)"])
            return redirect("/dashboard", cookie: DashboardCookie.set(id, lifetime: service.lifetime, secure: service.secureCookie))
        } catch {
            logger.error("dashboard sign-in failed", metadata: ["error": "\(error)"])
            return dashboardHTML(.internalServerError, DashboardPages.signIn(message: "Signing in failed; see the daemon's log."))
        }
    }

    /// `POST /dashboard/sign-out` (form field `csrf`): ends the session and clears the cookie.
    func signOut(_ request: Request) async -> Response {
        do {
            let service = try dashboardService()
            let fields = FormFields.parse(try await body(request))
            let (decision, session) = try await access(request, needs: .read, stateChanging: true, csrf: fields["csrf"])
            guard case .allowed = decision, let session else {
                return dashboardHTML(.forbidden, DashboardPages.signIn(message: "Sign-out refused (the page was stale): reload the dashboard and try again."))
            }
            try await service.sessions.end(key: session.key, now: now())
            return redirect("/dashboard/sign-in", cookie: DashboardCookie.clear(secure: service.secureCookie))
        } catch {
            logger.error("dashboard sign-out failed", metadata: ["error": "\(error)"])
            return dashboardHTML(.internalServerError, DashboardPages.signIn(message: "Signing out failed; see the daemon's log."))
        }
    }
}
