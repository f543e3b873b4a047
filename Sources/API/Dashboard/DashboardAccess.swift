import Billing
import Foundation
import SettleConfiguration

/// Who may do what on the dashboard, decided from the evidence a request brings: the session its cookie names, the
/// token that session was opened with as configured now, and the CSRF token it sends. Pure; the routes gather the
/// evidence and carry the answer out (a page, a redirect to sign in, a refusal).
public enum DashboardAccess: Equatable, Sendable {
    /// Go on, with what the session may do (the smaller of the scope at sign-in and the token's scope now).
    case allowed(scope: BearerTokens.Scope, tokenName: String)
    /// No usable session: sign in (the text says why, for the sign-in page).
    case signIn(String)
    /// Signed in, but this needs `admin`.
    case forbidden(String)
    /// A state-changing request without the session's CSRF token.
    case csrf

    /// - Parameters:
    ///   - session: the session the cookie names (nil: no cookie, or one that names nothing).
    ///   - tokenScope: the scope of the session's token in the configuration now (nil: the token was removed).
    ///   - csrf: the CSRF token the request sent (header or form field), for state-changing requests.
    public static func decide(session: DashboardSession?, tokenScope: BearerTokens.Scope?, now: UInt64, needs: BearerTokens.Scope,
                              stateChanging: Bool, csrf: String?) -> DashboardAccess {
        guard let session else { return .signIn("Sign in with an API token.") }
        if session.endedAt != nil { return .signIn("You signed out. Sign in again.") }
        guard now < session.expiresAt else { return .signIn("Your session expired. Sign in again.") }
        guard let tokenScope, let signedIn = BearerTokens.Scope(rawValue: session.scope) else {
            return .signIn("The token you signed in with is no longer configured. Sign in with another.")
        }
        if stateChanging {
            guard let csrf, CheckoutService.same(csrf, session.csrf) else { return .csrf }
        }
        let scope = min(signedIn, tokenScope)
        guard scope >= needs else {
            return .forbidden("Token '\(session.tokenName)' is read-only: this needs an admin token.")
        }
        return .allowed(scope: scope, tokenName: session.tokenName)
    }
}

/// The dashboard's cookie: `settle_dashboard`, HttpOnly, SameSite=Strict, scoped to `/dashboard`, Secure when the
/// dashboard is served over https.
public enum DashboardCookie {
    public static let name = "settle_dashboard"

    /// The cookie's value in a `Cookie` header, or nil.
    public static func value(in header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            guard pair.hasPrefix(name + "=") else { continue }
            let value = String(pair.dropFirst(name.count + 1))
            guard value.hasPrefix("ds_"), value.utf8.count < 100 else { return nil }
            return value
        }
        return nil
    }

    /// `Set-Cookie` for a new session of `lifetime` seconds.
    public static func set(_ value: String, lifetime: UInt64, secure: Bool) -> String {
        "\(name)=\(value); Path=/dashboard; Max-Age=\(lifetime); HttpOnly; SameSite=Strict\(secure ? "; Secure" : "")"
    }

    /// `Set-Cookie` that removes it.
    public static func clear(secure: Bool) -> String {
        "\(name)=; Path=/dashboard; Max-Age=0; HttpOnly; SameSite=Strict\(secure ? "; Secure" : "")"
    }
}
