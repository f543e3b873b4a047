import SettleCore
import Synchronization

/// A JSON-RPC 2.0 client over `HTTPClient` with batches, typed errors, retries with backoff and jitter on
/// transport failures, 429 and 5xx, and failover across several endpoints of one chain.
///
/// After a failure the client moves to the next endpoint and stays there (sticky failover), so a dead primary
/// costs one failed attempt, not one per call.
public final class JSONRPCClient: Sendable {
    /// One call of a batch.
    public struct Call: Sendable {
        public var method: String
        public var params: JSON
        public init(_ method: String, _ params: JSON) {
            self.method = method
            self.params = params
        }
    }

    /// Sleeps between retries; injectable so tests need not wait.
    public typealias Sleeper = @Sendable (Duration) async throws -> Void

    private let endpoints: [RPCEndpoint]
    private let http: HTTPClient
    private let retry: RetryPolicy
    private let timeout: Duration
    private let maximumResponseBytes: Int
    private let sleep: Sleeper
    private let nextID = Atomic<UInt64>(1)
    private let current = Atomic<Int>(0)
    private let overloads = Atomic<Int>(0)

    /// Answers so far that showed an overloaded provider (HTTP 429 or 5xx, a `Retry-After`, a timeout), retried or
    /// not. A caller that keeps several requests in flight reads it to narrow its window (`RequestWindow`).
    public var overloadSignals: Int { overloads.load(ordering: .relaxed) }

    /// The largest response body read from a node: 64 MiB holds a provider's largest `eth_getLogs` page (10,000
    /// logs) or a full block's receipts many times over; beyond it a node is answering garbage.
    public static let defaultMaximumResponseBytes = 64 << 20

    /// - Parameters:
    ///   - endpoints: at least one; tried in order, sticky after failover.
    ///   - timeout: per-request timeout.
    ///   - maximumResponseBytes: a longer body fails the request (`.responseTooLarge`, tried on the next endpoint).
    public init(
        endpoints: [RPCEndpoint], http: HTTPClient, retry: RetryPolicy = RetryPolicy(),
        timeout: Duration = .seconds(30), maximumResponseBytes: Int = JSONRPCClient.defaultMaximumResponseBytes,
        sleep: @escaping Sleeper = { try await Task.sleep(for: $0) }
    ) {
        precondition(!endpoints.isEmpty, "a JSON-RPC client needs at least one endpoint")
        self.endpoints = endpoints
        self.http = http
        self.retry = retry
        self.timeout = timeout
        self.maximumResponseBytes = maximumResponseBytes
        self.sleep = sleep
    }

    /// The label of the endpoint currently in use.
    public var currentEndpoint: String { endpoints[current.load(ordering: .relaxed) % endpoints.count].label }

    /// Calls one method and returns its `result`.
    public func call(_ method: String, _ params: JSON = []) async throws(RPCError) -> JSON {
        try await call(method, params) { (bytes, id) throws(RPCError) in
            try Self.result(of: try Self.parse(bytes), id: id)
        }
    }

    /// Calls one method and hands the raw response body (and the request id) to `decode`, for responses too large
    /// to build a `JSON` tree of (`eth_getLogs`). A `.malformedResponse` from `decode` is retried like any other
    /// bad answer; other errors are returned as they are.
    public func call<T>(_ method: String, _ params: JSON, decode: (_ body: [UInt8], _ id: UInt64) throws(RPCError) -> T) async throws(RPCError) -> T {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let body = JSON.object([("jsonrpc", "2.0"), ("id", .number(String(id))), ("method", .string(method)), ("params", params)])
        return try await send(body.serialized, method: method) { (bytes) throws(RPCError) in try decode(bytes, id) }
    }

    /// Sends calls as one batch; results come back in call order, each a value or its own error.
    public func batch(_ calls: [Call]) async throws(RPCError) -> [Result<JSON, RPCError>] {
        guard !calls.isEmpty else { return [] }
        let firstID = nextID.add(UInt64(calls.count), ordering: .relaxed).oldValue
        let requests: [JSON] = calls.enumerated().map { offset, call in
            .object([("jsonrpc", "2.0"), ("id", .number(String(firstID + UInt64(offset)))),
                     ("method", .string(call.method)), ("params", call.params)])
        }
        let response = try await send(JSON.array(requests).serialized, method: calls[0].method + "+batch") { (bytes) throws(RPCError) in
            try Self.parse(bytes)
        }
        return try Self.batchResults(of: response, firstID: firstID, methods: calls.map(\.method))
    }

    /// The results of a batch whose calls (`methods`) had the ids `firstID`, `firstID + 1`, … : in call order, each
    /// a value or its own error; a call the response does not answer is `malformedResponse`.
    static func batchResults(of response: JSON, firstID: UInt64, methods: [String]) throws(RPCError) -> [Result<JSON, RPCError>] {
        guard case .array(let items) = response else {
            // Some providers answer a rejected batch with one error object.
            if case .object = response, let error = Self.serverError(in: response) {
                return Array(repeating: .failure(error), count: methods.count)
            }
            throw .malformedResponse("batch answered with a non-array")
        }
        var byID: [UInt64: JSON] = [:]
        for item in items {
            guard let id = item["id"]?.uint64Value else { continue }
            byID[id] = item
        }
        return methods.enumerated().map { offset, method in
            let id = firstID &+ UInt64(offset)
            guard let item = byID[id] else {
                return .failure(.malformedResponse("batch response has no answer for call \(offset) (\(method))"))
            }
            do throws(RPCError) {
                return .success(try Self.result(of: item, id: id))
            } catch {
                return .failure(error)
            }
        }
    }

    // MARK: - Sending with retry and failover

    private func send<T>(_ body: [UInt8], method: String, decode: ([UInt8]) throws(RPCError) -> T) async throws(RPCError) -> T {
        let started = ContinuousClock.now
        let label = endpoints[current.load(ordering: .relaxed) % endpoints.count].label
        RPCMetrics.request(endpoint: label, method: method)
        defer { RPCMetrics.duration(endpoint: label, method: method, ContinuousClock.now - started) }
        do throws(RPCError) {
            return try await sendWithRetries(body, method: method, decode: decode)
        } catch {
            RPCMetrics.failure(endpoint: label, method: method, kind: error.metricsKind)
            throw error
        }
    }

    private func sendWithRetries<T>(_ body: [UInt8], method: String, decode: ([UInt8]) throws(RPCError) -> T) async throws(RPCError) -> T {
        var lastError = RPCError.transport(TransportError(.other, "no attempt made"))
        var retryAfter: Double?
        for attempt in 1...retry.maximumAttempts {
            let wait = retry.delay(beforeAttempt: attempt, retryAfter: retryAfter, random: Double.random(in: 0...1))
            if wait > .zero {
                do { try await sleep(wait) } catch { throw .transport(TransportError(.cancelled, "cancelled while waiting to retry")) }
            }
            if Task.isCancelled { throw .transport(TransportError(.cancelled, "request cancelled")) }
            let index = current.load(ordering: .relaxed) % endpoints.count
            let endpoint = endpoints[index]
            retryAfter = nil
            do {
                let response = try await http.execute(HTTPRequest(
                    url: endpoint.url, method: .post,
                    headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
                    body: body, timeout: timeout, maximumResponseBytes: maximumResponseBytes))
                if response.status == 200 {
                    do throws(RPCError) {
                        return try decode(response.body)
                    } catch {
                        guard case .malformedResponse(let why) = error else { throw error }
                        lastError = .malformedResponse("\(endpoint.label): \(why)")
                    }
                } else if let json = try? JSON(parsing: response.body), let error = Self.serverError(in: json),
                          response.status < 500, response.status != 429 {
                    // A JSON-RPC error carried on a 4xx: the node's answer, not a transport fault.
                    throw error
                } else {
                    retryAfter = response.retryAfter
                    if response.status == 429 || response.status >= 500 || retryAfter != nil {
                        overloads.add(1, ordering: .relaxed)
                    }
                    let error = TransportError(
                        .httpStatus, "\(endpoint.label) answered HTTP \(response.status)",
                        status: response.status, retryAfter: response.retryAfter)
                    guard error.isRetryable else { throw RPCError.transport(error) }
                    lastError = .transport(error)
                }
            } catch let error as TransportError {
                if error.code == .timedOut { overloads.add(1, ordering: .relaxed) }
                if error.code == .cancelled || error.code == .shutDown || !error.isRetryable {
                    throw .transport(error)
                }
                lastError = .transport(TransportError(error.code, "\(endpoint.label): \(error.message)", status: error.status))
            } catch let error as RPCError {
                throw error
            } catch {
                throw .transport(TransportError(.other, "unexpected error: \(error)"))
            }
            // Fail over: the next attempt goes to the next endpoint (sticky for later calls).
            _ = current.compareExchange(expected: index, desired: (index + 1) % endpoints.count, ordering: .relaxed)
        }
        throw lastError
    }

    // MARK: - Response decoding

    /// Parses a response body, or reports it malformed.
    public static func parse(_ bytes: [UInt8]) throws(RPCError) -> JSON {
        do {
            return try JSON(parsing: bytes)
        } catch {
            throw .malformedResponse("invalid JSON: \(error.message) at byte \(error.offset ?? 0)")
        }
    }

    /// The JSON-RPC error object of a response, if it has one.
    public static func serverError(in response: JSON) -> RPCError? {
        guard let error = response["error"], case .object = error else { return nil }
        let code = error["code"]?.int64Value.map { Int($0) } ?? 0
        let message = error["message"]?.stringValue ?? "(no message)"
        let data = error["data"]
        return .server(code: code, message: message, data: data)
    }

    /// The `result` of a response to request `id`, or its error.
    public static func result(of response: JSON, id: UInt64) throws(RPCError) -> JSON {
        guard case .object = response else { throw .malformedResponse("response is not an object") }
        if let error = serverError(in: response) { throw error }
        guard response["id"]?.uint64Value == id else {
            throw .malformedResponse("response id does not match request id \(id)")
        }
        guard let result = response["result"] else { throw .malformedResponse("response has neither result nor error") }
        return result
    }
}
