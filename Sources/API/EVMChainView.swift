import Foundation
import ChainAdapters
import EVM
import EVMIndexer
import SettleConfiguration
import SettleCore
import Settlement
import Transport

/// An EVM chain for the API: allowances to the merchant's spender and balances from the EVM index, live reads,
/// and unsigned EIP-1559 `approve(spender, amount)` transactions for the customer's wallet to sign.
public struct EVMChainView: ChainView {
    public let config: ChainConfig
    public let store: any EVMIndexStore
    public let node: EVMNode
    public let spender: EVMAddress
    public let capacity: any CapacityReader
    /// `spender` checksummed, once: every history row names it.
    let spenderText: String
    /// The chain file's tokens as answers name them (symbol upper-cased), by address.
    let tokenNames: [(address: EVMAddress, symbol: String, decimals: Int)]
    /// The largest max fee per gas an approval is offered with.
    public var feeCap = UInt256(UInt64(500_000_000_000))

    public init(config: ChainConfig, store: any EVMIndexStore, node: EVMNode, spender: EVMAddress) {
        self.config = config
        self.store = store
        self.node = node
        self.spender = spender
        self.capacity = EVMCapacityReader(config: config, node: node, spender: spender)
        self.spenderText = spender.checksummed
        self.tokenNames = config.tokens.map { ($0.address, $0.symbol.uppercased(), $0.decimals) }
    }

    public var name: String { config.name }
    public var family: String { "evm" }
    public var puller: String { spenderText }
    public var tokens: [(symbol: String, decimals: Int)] { config.tokens.map { ($0.symbol.uppercased(), $0.decimals) } }
    public var explorerTransactionURL: String? { config.explorerTransactionURL }

    public func canonicalWallet(_ wallet: String) throws(APIError) -> String { try address(wallet).checksummed }

    func address(_ wallet: String) throws(APIError) -> EVMAddress {
        do { return try EVMAddress(hex: wallet) } catch { throw .badRequest("'\(wallet)' is not an EVM address on \(name): \(error.message)") }
    }

    func token(_ symbol: String) throws(APIError) -> ChainConfig.Token {
        guard let token = config.token(symbol) else {
            throw .badRequest("'\(symbol)' is not a token of \(name) (tokens: \(config.tokens.map(\.symbol).joined(separator: ", ")))")
        }
        return token
    }

    func symbol(of address: EVMAddress) -> (String, Int)? {
        tokenNames.first { $0.address == address }.map { ($0.symbol, $0.decimals) }
    }

    public func allowances(wallet: String, token: String?, cursor: String?, limit: Int) async throws -> AllowancePage {
        let owner = try address(wallet)
        let tokenAddress = try token.map { (symbol: String) throws(APIError) in try self.token(symbol).address }
        let after = try PageCursor.decodePosition(cursor)
        // One read (one snapshot): the current allowance and the history agree with each other.
        guard let read = try await store.allowancePage(chain: config.name, owner: owner, token: tokenAddress, spender: spender,
                                                       after: after, limit: limit + 1)
        else { return AllowancePage(current: [], history: [], nextCursor: nil) }
        let current = read.current.map { state -> JSON in
            let (symbol, decimals) = symbol(of: state.token) ?? (state.token.checksummed, 0)
            return ["token": .string(symbol), "spender": .string(state.spender.checksummed), "amount": .string(state.value.description),
                    "display": .string(AmountText.display(state.value, decimals: decimals)), "as_of": .number(String(state.asOfBlock))]
        }
        var rows = read.history
        let more = rows.count > limit
        if more { rows.removeLast() }
        let history = rows.map { row -> JSON in
            let (symbol, decimals) = symbol(of: row.token) ?? (row.token.checksummed, 0)
            let amount = row.value.description
            return ["kind": "approval", "token": .string(symbol), "spender": .string(row.spender == spender ? spenderText : row.spender.checksummed),
                    "amount": .string(amount), "display": .string(AmountText.display(digits: amount, decimals: decimals)),
                    "block": .number(String(row.block)), "time": .number(String(row.blockTime)), "transaction": .string(row.transactionHash.description)]
        }
        let next = more ? rows.last.map { PageCursor.encode([String($0.block), String($0.logIndex)]) } : nil
        return AllowancePage(current: current, history: history, nextCursor: next)
    }

    public func balances(wallet: String) async throws -> [JSON] {
        let owner = try address(wallet)
        var indexed: [EVMAddress: BalanceState] = [:]
        if let chain = try await store.chainID(named: config.name) {
            for state in try await store.balances(chain: chain, owner: owner) { indexed[state.token] = state }
        }
        var out: [JSON] = []
        for token in config.tokens {
            let value: UInt256
            let source: JSON
            let asOf: JSON
            if let state = indexed[token.address] {
                (value, source, asOf) = (state.value, "index", .number(String(state.asOfBlock)))
            } else {
                (value, source, asOf) = (try await node.balanceOf(token: token.address, owner: owner, block: .latest), "chain", nil)
            }
            out.append(["token": .string(token.symbol.uppercased()), "amount": .string(value.description), "decimals": .number(String(token.decimals)),
                        "display": .string(AmountText.display(value, decimals: token.decimals)), "source": source, "as_of": asOf])
        }
        return out
    }

    /// - Throws: 400 for the zero address (no key signs for it); 409 when the token would revert the `approve` now
    ///   (paused, the wallet or spender blocklisted): the node's gas estimate says so, and there is nothing to sign.
    public func unsignedApproval(wallet: String, token symbol: String, amount: UInt256) async throws -> JSON {
        let owner = try address(wallet)
        guard owner != .zero else { throw APIError.badRequest("the zero address cannot sign an approval: give the customer's wallet") }
        let token = try token(symbol)
        let data = ERC20.approve(spender: spender, amount: amount)
        let nonce = try await node.pendingNonce(of: owner)
        let estimate: UInt64
        do {
            estimate = try await node.estimateGas(from: owner, to: token.address, data: data)
        } catch {
            guard let revert = error.revertMessage else { throw error }
            throw APIError.conflict("\(token.symbol.uppercased()) refuses this approval now (\(revert)): nothing to sign until the token allows it")
        }
        let gas = EVMFees.gasLimit(estimate: estimate)
        let (priority, maxFee) = try await EVMFees.suggest(node: node, cap: feeCap)
        let transaction: JSON = [
            "type": "0x2", "chainId": .string(UInt256(config.chainID).hexQuantity), "from": .string(owner.checksummed),
            "to": .string(token.address.checksummed), "value": "0x0", "data": .string(Hex.encode(data, prefix: true)),
            "nonce": .string(UInt256(nonce).hexQuantity), "gas": .string(UInt256(gas).hexQuantity),
            "maxFeePerGas": .string(maxFee.hexQuantity), "maxPriorityFeePerGas": .string(priority.hexQuantity),
        ]
        return [
            "family": "evm", "chain": .string(name), "token": .string(token.symbol.uppercased()), "spender": .string(spender.checksummed),
            "amount": .string(amount.description), "display": .string(AmountText.display(amount, decimals: token.decimals)),
            "transaction": transaction,
        ]
    }

    public var walletChainID: String? { UInt256(config.chainID).hexQuantity }

    public func evmApprovalVerdict(transaction: String, token symbol: String, minimum: UInt256, revoke: Bool = false) async throws -> ApprovalVerdict {
        let token = try token(symbol)
        // (`try?`, not do/catch around a typed throw before an await: Swift 6.3.1 miscompiled that into a call through a
        // null pointer at run time.)
        guard let hash = try? Hash32(hex: transaction) else { throw APIError.badRequest("'\(transaction)' is not a transaction hash (0x and 64 hex digits)") }
        let receipt = try await node.receipt(hash)
        return EVMApprovalRule.verdict(receipt: receipt, token: token.symbol, tokenAddress: token.address, spender: spender, minimum: minimum, revoke: revoke)
    }

    public func stopReason(wallet: String, token: String, amount: UInt256) async throws -> PullStop? {
        guard let treasury = config.treasury, let token = config.token(token) else { return nil }
        let payer = try EVMAddress(hex: wallet)
        if case .stops(let reason, let message) = try await EVMPullCheck(node: node, spender: spender, treasury: treasury)
            .check(token: token.address, payer: payer, amount: amount) {
            return PullStop(reason: reason, detail: message)
        }
        return nil
    }
}
