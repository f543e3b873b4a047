import SettleConfiguration
import SettleCore
import Settlement
import Solana
import SolanaIndexer

/// Live balance and delegation of a Solana wallet's associated token account for the token's mint: the delegated
/// amount counts only when the delegate is ours.
public struct SolanaCapacityReader: CapacityReader {
    public let config: SolanaChainConfig
    public let node: SolanaNode
    public let delegate: SolanaPublicKey

    public init(config: SolanaChainConfig, node: SolanaNode, delegate: SolanaPublicKey) {
        self.config = config
        self.node = node
        self.delegate = delegate
    }

    public func capacity(wallet: String, token: String) async throws -> PaymentCapacity {
        guard let token = config.token(token) else {
            throw LedgerError(.invalidInput, "\(token) is not a token of \(config.name)")
        }
        let owner: SolanaPublicKey
        do { owner = try SolanaPublicKey(base58: wallet) } catch { throw LedgerError(.invalidInput, "wallet \(wallet): \(error.message)") }
        let address = try SolanaPublicKey.associatedTokenAddress(wallet: owner, mint: token.mint, tokenProgram: token.program)
        guard let account = try await node.account(address) else { return PaymentCapacity(balance: .zero, allowance: .zero) }
        let state = try TokenAccount(data: account.data)
        guard state.owner == owner, state.mint == token.mint else {
            throw LedgerError(.invalidInput, "\(address) is not \(wallet)'s \(token.symbol) account")
        }
        let allowance = state.delegate == delegate ? UInt256(state.delegatedAmount) : .zero
        return PaymentCapacity(balance: UInt256(state.amount), allowance: allowance)
    }
}
