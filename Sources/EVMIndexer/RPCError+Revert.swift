import Transport

extension RPCError {
    /// The node's message when it refused a call or gas estimate because the EVM reverted it (JSON-RPC error code 3,
    /// or a message naming a revert, as geth, Erigon and eth-tester word it); nil for any other failure, which says
    /// nothing about the call itself.
    public var revertMessage: String? {
        guard case .server(let code, let message, _) = self, code == 3 || message.lowercased().contains("revert") else { return nil }
        return message
    }
}
