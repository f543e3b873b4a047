import SettleCore

/// The error a `JSONRPCClient` call throws.
public enum RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The node answered with a JSON-RPC error object (code, message, optional data). Not retried here: the
    /// caller knows whether, say, "query returned more than 10000 results" means "shrink the range".
    case server(code: Int, message: String, data: JSON?)
    /// Every attempt failed at the HTTP level (network, timeout, 429, 5xx); the last failure is attached.
    case transport(TransportError)
    /// The node answered something that is not a valid JSON-RPC response (bad JSON, wrong id, no result).
    case malformedResponse(String)

    /// The JSON-RPC error code, for `.server`.
    public var serverCode: Int? {
        if case .server(let code, _, _) = self { return code }
        return nil
    }

    public var description: String {
        switch self {
        case .server(let code, let message, let data):
            var text = "RPC error \(code): \(message)"
            if let data { text += " (data: \(String(data.text.prefix(200))))" }
            return text
        case .transport(let error): return "transport: \(error)"
        case .malformedResponse(let message): return "malformed RPC response: \(message)"
        }
    }
}

extension RPCError {
    /// The `kind` label of `settle_rpc_errors_total`.
    var metricsKind: String {
        switch self {
        case .server: "server"
        case .transport: "transport"
        case .malformedResponse: "malformed"
        }
    }
}
