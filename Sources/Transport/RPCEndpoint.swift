/// One JSON-RPC endpoint. The URL may carry a provider API key, so only `label` is ever logged or shown.
public struct RPCEndpoint: Sendable, CustomStringConvertible {
    /// The URL (secret: never logged).
    public var url: String
    /// A name safe to log, e.g. `ethereum#0`.
    public var label: String

    public init(url: String, label: String) {
        self.url = url
        self.label = label
    }

    public var description: String { label }
}
