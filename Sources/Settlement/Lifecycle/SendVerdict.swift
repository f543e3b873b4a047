/// What a node's answer to a broadcast means. Only an acceptance, or a refusal that names the transaction as
/// already known or mined, acknowledges it; everything else leaves it unacknowledged and followed. No answer is ever
/// taken as proof that the transaction will not land.
public enum SendVerdict: Hashable, Sendable {
    /// The node holds it (accepted now, or already known).
    case acknowledged
    /// "nonce too low": the nonce is used. Ours or not is for the evidence to show; nothing is concluded here.
    case nonceUsed
    /// Refused as underpriced: re-price at the same nonce (EVM), never declare dead.
    case underpriced
    /// The signer cannot pay fees: an operator must fund it.
    case insufficientFunds
    /// Anything else (transport failure, 5xx, a timeout after forwarding, an unknown error): may or may not be held.
    case unacknowledged(String)

    /// Classifies a refusal's message (nil: accepted).
    public static func classify(refusal: String?) -> SendVerdict {
        guard let refusal else { return .acknowledged }
        let text = refusal.lowercased()
        if text.contains("already known") || text.contains("known transaction") || text.contains("alreadyprocessed")
            || text.contains("already been processed") {
            return .acknowledged
        }
        if text.contains("nonce too low") { return .nonceUsed }
        if text.contains("underpriced") { return .underpriced }
        if text.contains("insufficient funds") { return .insufficientFunds }
        return .unacknowledged(refusal)
    }
}
