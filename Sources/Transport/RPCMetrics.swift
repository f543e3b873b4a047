import CoreMetrics

/// The JSON-RPC client's metrics, through swift-metrics (a no-op until the executable bootstraps a backend):
///
/// - `settle_rpc_requests_total{chain, endpoint, method}`: requests sent (a batch counts once, as its first method
///   with `+batch`);
/// - `settle_rpc_errors_total{chain, endpoint, method, kind}`: requests that failed after their retries, `kind` one of `server` (a JSON-RPC
///   error), `transport` (timeouts, HTTP statuses, connection faults) or `malformed`;
/// - `settle_rpc_duration_seconds{chain, method}`: the time of each request, retries included.
///
/// Labels carry the endpoint's label (`base#0`), never its URL, which may hold an API key.
enum RPCMetrics {
    static func dimensions(_ endpoint: String, _ method: String) -> [(String, String)] {
        [("chain", chain(of: endpoint)), ("endpoint", endpoint), ("method", method)]
    }

    static func chain(of endpoint: String) -> String {
        endpoint.split(separator: "#", maxSplits: 1).first.map(String.init) ?? endpoint
    }

    static func request(endpoint: String, method: String) {
        Counter(label: "settle_rpc_requests_total", dimensions: dimensions(endpoint, method)).increment()
    }

    static func failure(endpoint: String, method: String, kind: String) {
        Counter(label: "settle_rpc_errors_total", dimensions: dimensions(endpoint, method) + [("kind", kind)]).increment()
    }

    static func duration(endpoint: String, method: String, _ duration: Duration) {
        Timer(label: "settle_rpc_duration_seconds", dimensions: [("chain", chain(of: endpoint)), ("method", method)]).recordNanoseconds(
            duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
