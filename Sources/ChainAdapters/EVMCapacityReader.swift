import SettleConfiguration
import EVM
import EVMIndexer
import SettleCore
import Settlement

/// Live balance and allowance of an EVM wallet by `eth_call` (`balanceOf`, `allowance(wallet, spender)`) at the
/// latest block, as the executor's preflight needs them.
public struct EVMCapacityReader: CapacityReader {
    public let config: ChainConfig
    public let node: EVMNode
    public let spender: EVMAddress

    public init(config: ChainConfig, node: EVMNode, spender: EVMAddress) {
        self.config = config
        self.node = node
        self.spender = spender
    }

    public func capacity(wallet: String, token: String) async throws -> PaymentCapacity {
        guard let token = config.token(token) else {
            throw LedgerError(.invalidInput, "\(token) is not a token of \(config.name)")
        }
        let owner: EVMAddress
        do { owner = try EVMAddress(hex: wallet) } catch { throw LedgerError(.invalidInput, "wallet \(wallet): \(error.message)") }
        async let balance = node.balanceOf(token: token.address, owner: owner, block: .latest)
        async let allowance = node.allowance(token: token.address, owner: owner, spender: spender, block: .latest)
        return PaymentCapacity(balance: try await balance, allowance: try await allowance)
    }
}
