import Foundation
import SettleCore
import Transport

/// A Stripe API error object (`type`, `code`, `param`, `message`) with the HTTP status it came with.
public struct StripeError: Error, Hashable, Sendable, CustomStringConvertible {
    public var status: Int
    /// `api_error`, `card_error`, `idempotency_error`, `invalid_request_error`, … (or `transport` / `malformed`).
    public var type: String
    public var code: String?
    public var param: String?
    public var message: String

    /// True for failures a retry may cure (429, 5xx, network): safe to retry because every POST carries an
    /// idempotency key.
    public var isRetryable: Bool { status == 429 || status >= 500 || type == "transport" }

    public var description: String {
        var text = "Stripe \(status) \(type)"
        if let code { text += " \(code)" }
        if let param { text += " (param \(param))" }
        return text + ": \(message)"
    }
}

/// The Stripe REST API over Settle's libcurl transport: form-encoded requests with nested keys, a pinned
/// `Stripe-Version`, an `Idempotency-Key` on every POST (derived by the caller from its own ids, so a retry or a
/// restart repeats the same request, never a new one), list pagination, typed errors, and retries with backoff on
/// 429, 5xx and network failures.
public struct StripeClient: Sendable {
    /// The largest Stripe response read: a page of 100 invoices with their lines is a few MiB at most.
    public static let maximumResponseBytes = 16 << 20
    /// The API version Settle is written against.
    public static let pinnedVersion = "2025-03-31.basil"

    public let baseURL: String
    private var apiKey: String?
    public let version: String
    private let http: HTTPClient
    private let retry: RetryPolicy
    private let sleep: JSONRPCClient.Sleeper

    /// - Parameter apiKey: the secret key (never logged; errors never include it).
    public init(baseURL: String = "https://api.stripe.com", apiKey: String, version: String = pinnedVersion, http: HTTPClient,
                retry: RetryPolicy = RetryPolicy(), sleep: @escaping JSONRPCClient.Sleeper = { try await Task.sleep(for: $0) }) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.version = version
        self.http = http
        self.retry = retry
        self.sleep = sleep
    }

    /// No Stripe account (`[stripe]` has no `api_key`): Settle bills its own items only. Every request fails at once
    /// with `not_configured`, before anything leaves the process.
    public static func notConfigured(http: HTTPClient) -> StripeClient {
        var client = StripeClient(baseURL: "https://api.stripe.com", apiKey: "", http: http)
        client.apiKey = nil
        return client
    }

    /// Whether a Stripe account is configured (else only Settle's own items are billed).
    public var isConfigured: Bool { apiKey != nil }

    /// `GET path?params`.
    public func get(_ path: String, _ params: JSON = [:]) async throws(StripeError) -> JSON {
        let query = StripeForm.encode(params)
        return try await send(.get, path + (query.isEmpty ? "" : "?" + query), body: [], idempotencyKey: nil)
    }

    /// `POST path` with form-encoded `params` and the caller's idempotency key.
    public func post(_ path: String, _ params: JSON = [:], idempotencyKey: String) async throws(StripeError) -> JSON {
        try await send(.post, path, body: Array(StripeForm.encode(params).utf8), idempotencyKey: idempotencyKey)
    }

    /// Every object of a list endpoint, following `has_more` with `starting_after`.
    public func listAll(_ path: String, _ params: JSON = [:], pageSize: Int = 100) async throws(StripeError) -> [JSON] {
        var objects: [JSON] = []
        var after: String?
        while true {
            var members: [(key: String, value: JSON)] = []
            if case .object(let given) = params { members = given }
            members.append(("limit", .number(String(pageSize))))
            if let after { members.append(("starting_after", .string(after))) }
            let page = try StripeListPage(json: try await get(path, .object(members)))
            objects += page.objects
            guard let next = page.nextAfter else { return objects }
            after = next
        }
    }

    private func send(_ method: HTTPRequest.Method, _ path: String, body: [UInt8], idempotencyKey: String?) async throws(StripeError) -> JSON {
        guard let apiKey else {
            throw StripeError(status: 0, type: "not_configured",
                              message: "no Stripe account is configured ([stripe] api_key): this daemon bills Settle's own items only")
        }
        var headers: [(name: String, value: String)] = [
            ("Authorization", "Bearer \(apiKey)"), ("Stripe-Version", version), ("Accept", "application/json"),
        ]
        if method == .post { headers.append(("Content-Type", "application/x-www-form-urlencoded")) }
        if let idempotencyKey { headers.append(("Idempotency-Key", idempotencyKey)) }
        var last = StripeError(status: 0, type: "transport", message: "no attempt made")
        var retryAfter: Double?
        for attempt in 1...retry.maximumAttempts {
            let wait = retry.delay(beforeAttempt: attempt, retryAfter: retryAfter, random: Double.random(in: 0...1))
            if wait > .zero {
                do { try await sleep(wait) } catch { throw StripeError(status: 0, type: "transport", message: "cancelled") }
            }
            let response: HTTPResponse
            do {
                response = try await http.execute(HTTPRequest(url: baseURL + path, method: method, headers: headers, body: body, timeout: .seconds(80),
                                                               maximumResponseBytes: Self.maximumResponseBytes))
            } catch {
                last = StripeError(status: 0, type: "transport", message: error.message)
                guard error.isRetryable else { throw last }
                continue
            }
            retryAfter = response.retryAfter
            let json = try? JSON(parsing: response.body)
            if (200..<300).contains(response.status) {
                guard let json else { throw StripeError(status: response.status, type: "malformed", message: "response is not JSON") }
                return json
            }
            let error = json?["error"]
            last = StripeError(status: response.status, type: error?["type"]?.stringValue ?? "api_error", code: error?["code"]?.stringValue,
                               param: error?["param"]?.stringValue, message: error?["message"]?.stringValue ?? "HTTP \(response.status)")
            guard last.isRetryable else { throw last }
        }
        throw last
    }
}
