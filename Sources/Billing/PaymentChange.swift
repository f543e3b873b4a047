import SettleCore

/// The portal's "pay from another wallet or in another token": once the chain proves the new approval, whether the
/// agreement changes now. Pure: the portal gathers the evidence (the proof read from the chain, the agreement's charges
/// from the ledger) and carries the answer out (Stripe's `settle_*` metadata, then the ledger's agreement).
public enum PaymentChange: Equatable, Sendable {
    /// Change the agreement to this wallet and token.
    case apply(wallet: String, token: String)
    /// The agreement already pays this way (the same report again, or an approval from the wallet that pays now).
    case unchanged
    /// Not now: a payment is on its way under the current terms; the approval stays valid, ask again once it settles.
    case wait(String)
    /// Never: the token is not one the customer may pay this agreement with.
    case refuse(String)

    /// - Parameters:
    ///   - current: the agreement's wallet and token now.
    ///   - proven: the wallet the approval proves (read from the chain, never from the page) and the token it is in.
    ///   - accepted: the tokens this agreement may be paid in (upper-case symbols).
    ///   - inFlight: the agreement has a charge with a transaction that could still land.
    public static func decide(current: (wallet: String, token: String), proven: (wallet: String, token: String), accepted: Set<String>,
                              inFlight: Bool) -> PaymentChange {
        let token = proven.token.uppercased()
        guard accepted.contains(token) else {
            return .refuse("\(proven.token) is not accepted here (accepted: \(accepted.sorted().joined(separator: ", ")))")
        }
        if proven.wallet == current.wallet && token == current.token.uppercased() { return .unchanged }
        if inFlight {
            return .wait("a payment is on its way from \(current.wallet); the new wallet or token applies once it has settled: try again in a minute")
        }
        return .apply(wallet: proven.wallet, token: token)
    }
}
