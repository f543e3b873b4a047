import Billing
import SettleCore
import Settlement

/// `AllowanceWatch` over the chain views: the live allowance to our spender (or delegation to our delegate) and,
/// when above zero, the unsigned revoke the customer can sign (EVM `approve(spender, 0)`, Solana SPL `Revoke`) —
/// the same transaction `GET /v1/chains/{chain}/wallets/{wallet}/approval?amount=0` returns.
public struct ViewAllowanceWatch: AllowanceWatch {
    public let chains: [any ChainView]

    public init(chains: [any ChainView]) { self.chains = chains }

    public func orphaned(chain: String, wallet: String, token: String) async throws -> JSON? {
        guard let view = chains.first(where: { $0.name == chain }) else { return nil }
        let allowance = try await view.capacity.capacity(wallet: wallet, token: token).allowance
        guard allowance > .zero else { return nil }
        let decimals = try view.decimals(of: token)
        return [
            "chain": .string(chain), "wallet": .string(wallet), "token": .string(token.uppercased()), "spender": .string(view.puller),
            "allowance": ["amount": .string(allowance.description), "display": .string(AmountText.display(allowance, decimals: decimals))],
            "revoke": try await view.unsignedApproval(wallet: wallet, token: token, amount: .zero),
        ]
    }
}
