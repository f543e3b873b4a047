import ChainAdapters
import Foundation
import SettleConfiguration
import SettleCore
import Settlement
import Solana
import SolanaIndexer

/// A Solana chain for the API: delegations to the merchant's delegate and token balances from the Solana index,
/// live reads, and unsigned transactions with an SPL `ApproveChecked` for the customer's wallet to sign.
public struct SolanaChainView: ChainView {
    public let config: SolanaChainConfig
    public let store: any SolanaIndexStore
    public let node: SolanaNode
    public let delegate: SolanaPublicKey
    public let capacity: any CapacityReader

    public init(config: SolanaChainConfig, store: any SolanaIndexStore, node: SolanaNode, delegate: SolanaPublicKey) {
        self.config = config
        self.store = store
        self.node = node
        self.delegate = delegate
        self.capacity = SolanaCapacityReader(config: config, node: node, delegate: delegate)
    }

    public var name: String { config.name }
    public var family: String { "solana" }
    public var puller: String { delegate.description }
    public var tokens: [(symbol: String, decimals: Int)] { config.tokens.map { ($0.symbol.uppercased(), $0.decimals) } }
    public var explorerTransactionURL: String? { config.explorerTransactionURL }

    public func canonicalWallet(_ wallet: String) throws(APIError) -> String { try key(wallet).description }

    func key(_ wallet: String) throws(APIError) -> SolanaPublicKey {
        do { return try SolanaPublicKey(base58: wallet) } catch { throw .badRequest("'\(wallet)' is not a Solana public key on \(name): \(error.message)") }
    }

    func token(_ symbol: String) throws(APIError) -> SolanaChainConfig.Token {
        guard let token = config.token(symbol) else {
            throw .badRequest("'\(symbol)' is not a token of \(name) (tokens: \(config.tokens.map(\.symbol).joined(separator: ", ")))")
        }
        return token
    }

    func symbol(of mint: SolanaPublicKey?) -> (String, Int)? {
        config.tokens.first { $0.mint == mint }.map { ($0.symbol.uppercased(), $0.decimals) }
    }

    /// History: approvals to our delegate, revokes, and pulls our delegate signed (each lowers the delegation), oldest
    /// first, read a page at a time in SQL (`SolanaIndexStore.delegateHistory`). The cursor is the last row's position
    /// (slot, signature, instruction), so rows indexed or dropped meanwhile neither repeat nor skip a row of the next
    /// page. With a token, only the wallet's token accounts of its mint (plain Approve, Revoke and Transfer name no
    /// mint; the account does).
    public func allowances(wallet: String, token: String?, cursor: String?, limit: Int) async throws -> AllowancePage {
        let owner = try key(wallet)
        let mint = try token.map { (symbol: String) throws(APIError) in try self.token(symbol).mint }
        let after = try Self.position(cursor)
        guard let chain = try await store.chainID(named: config.name) else { return AllowancePage(current: [], history: [], nextCursor: nil) }
        let states = try await store.states(chain: chain, owner: owner, mint: mint)
        var mints: [SolanaPublicKey: SolanaPublicKey] = [:]  // token account → mint
        let current = try await currentDelegations(chain: chain, owner: owner, mint: mint, states: states, mints: &mints)
        var rows = try await store.delegateHistory(chain: chain, owner: owner, delegate: delegate, mint: mint, after: after, limit: limit + 1)
        let more = rows.count > limit
        if more { rows.removeLast() }
        let history = rows.map { record -> JSON in
            let (symbol, decimals) = symbol(of: record.event.mint ?? mints[record.event.source]) ?? ("?", 0)
            let kind: JSON = switch record.event.kind {
            case .approve: "approval"
            case .revoke: "revoke"
            case .transfer: "pull"
            }
            let amount = UInt256(record.event.kind == .revoke ? 0 : record.event.amount)
            return ["kind": kind, "token": .string(symbol), "spender": .string(delegate.description), "account": .string(record.event.source.description),
                    "amount": .string(amount.description), "display": .string(AmountText.display(amount, decimals: decimals)),
                    "block": .number(String(record.slot)), "time": record.blockTime.map { .number(String($0)) } ?? .null,
                    "transaction": .string(record.signature.description), "final": .bool(record.final)]
        }
        let next = more ? rows.last.map { record in
            PageCursor.encode([String(record.slot), Hex.encode(record.signature.rawValue.bytes), String(record.event.outerIndex),
                               String(record.event.innerIndex ?? -1)])
        } : nil
        return AllowancePage(current: current, history: history, nextCursor: next)
    }

    /// The position a cursor names: `slot:signature hex:outer index:inner index` (-1: none), each in range. Anything
    /// else (an offset from before, or text this API never made) is a 400.
    static func position(_ cursor: String?) throws(APIError) -> SolanaHistoryPosition? {
        guard let parts = try PageCursor.decode(cursor, parts: 4) else { return nil }
        let refused = APIError.badRequest("'cursor' is not a cursor this API returned (start again without one)")
        guard let slot = Int64(parts[0]), slot >= 0,
              parts[1].count == 128, let bytes = try? Hex.decode(parts[1]), bytes.count == 64, let signature = try? SolanaSignature(bytes: bytes),
              let outer = Int32(parts[2]), outer >= 0, let inner = Int32(parts[3]), inner >= -1
        else { throw refused }
        return SolanaHistoryPosition(slot: UInt64(slot), signature: signature, outerIndex: Int(outer), innerIndex: inner < 0 ? nil : Int(inner))
    }

    private func currentDelegations(chain: Int64, owner: SolanaPublicKey, mint: SolanaPublicKey?, states: [SolanaAccountState],
                                    mints: inout [SolanaPublicKey: SolanaPublicKey]) async throws -> [JSON] {
        var out: [JSON] = []
        for token in config.tokens where mint == nil || token.mint == mint {
            let account = try SolanaPublicKey.associatedTokenAddress(wallet: owner, mint: token.mint, tokenProgram: token.program)
            mints[account] = token.mint
            guard let state = states.first(where: { $0.account == account }) else { continue }
            let amount = UInt256(state.delegate == delegate ? state.delegatedAmount : 0)
            out.append(["token": .string(token.symbol.uppercased()), "spender": .string(delegate.description), "account": .string(account.description),
                        "amount": .string(amount.description), "display": .string(AmountText.display(amount, decimals: token.decimals)),
                        "as_of": .number(String(state.slot))])
        }
        return out
    }

    public func balances(wallet: String) async throws -> [JSON] {
        let owner = try key(wallet)
        var indexed: [SolanaPublicKey: SolanaAccountState] = [:]
        if let chain = try await store.chainID(named: config.name) {
            for state in try await store.states(chain: chain, owner: owner) { indexed[state.account] = state }
        }
        var out: [JSON] = []
        for token in config.tokens {
            let account = try SolanaPublicKey.associatedTokenAddress(wallet: owner, mint: token.mint, tokenProgram: token.program)
            let value: UInt256
            let source: JSON
            let asOf: JSON
            if let state = indexed[account] {
                (value, source, asOf) = (UInt256(state.amount), "index", .number(String(state.slot)))
            } else {
                (value, source, asOf) = (try await capacity.capacity(wallet: owner.description, token: token.symbol).balance, "chain", nil)
            }
            out.append(["token": .string(token.symbol.uppercased()), "amount": .string(value.description), "decimals": .number(String(token.decimals)),
                        "display": .string(AmountText.display(value, decimals: token.decimals)), "account": .string(account.description),
                        "source": source, "as_of": asOf])
        }
        return out
    }

    /// A legacy transaction paid by the wallet, with one `ApproveChecked` of the wallet's associated token account
    /// to our delegate; its one signature slot is zeros for the wallet to fill. Valid until the block height given.
    public var walletChainID: String? { nil }

    public func solanaApprovalVerdict(transaction: String, token symbol: String, minimum: UInt256, revoke: Bool = false) async throws -> ApprovalVerdict {
        let token = try token(symbol)
        guard let signature = try? SolanaSignature(base58: transaction) else { throw APIError.badRequest("'\(transaction)' is not a transaction signature (base58)") }
        // A minimum beyond u64 cannot be delegated at all.
        let floor = minimum.high == 0 ? UInt64(exactly: minimum.low) ?? .max : .max
        return SolanaApprovalRule.verdict(transaction: try await node.transaction(signature, .confirmed), token: token.symbol, mint: token.mint,
                                          program: token.program, delegate: delegate, minimum: floor, revoke: revoke)
    }

    public func unsignedApproval(wallet: String, token symbol: String, amount: UInt256) async throws -> JSON {
        let owner = try key(wallet)
        let token = try token(symbol)
        guard amount.high == 0, let units = UInt64(exactly: amount.low) else { throw APIError.badRequest("'amount' exceeds an SPL Token amount (at most 2^64 - 1 base units)") }
        let account = try SolanaPublicKey.associatedTokenAddress(wallet: owner, mint: token.mint, tokenProgram: token.program)
        // Amount 0 is a revoke: SPL Revoke clears the delegate itself, not only its amount.
        let instruction = units == 0
            ? TokenInstruction.revoke(program: token.program, source: account, owner: owner)
            : TokenInstruction.approveChecked(program: token.program, source: account, mint: token.mint, delegate: delegate, owner: owner,
                                              amount: units, decimals: UInt8(token.decimals))
        let (blockhash, lastValid) = try await node.latestBlockhash(.confirmed)
        let message = try LegacyMessage(instructions: [instruction], payer: owner, recentBlockhash: blockhash)
        let unsigned = SolanaTransaction(signatures: Array(repeating: .zero, count: Int(message.header.numRequiredSignatures)), message: .legacy(message))
        let accounts: [JSON] = instruction.accounts.map { meta -> JSON in
            ["pubkey": .string(meta.publicKey.description), "is_signer": .bool(meta.isSigner), "is_writable": .bool(meta.isWritable)]
        }
        return [
            "family": "solana", "chain": .string(name), "token": .string(token.symbol.uppercased()), "spender": .string(delegate.description),
            "amount": .string(amount.description), "display": .string(AmountText.display(amount, decimals: token.decimals)),
            "token_account": .string(account.description),
            "instruction": ["program_id": .string(instruction.programID.description), "accounts": .array(accounts),
                            "data": .string(Data(instruction.data).base64EncodedString())],
            "transaction": .string(Data(unsigned.serialized()).base64EncodedString()),
            "recent_blockhash": .string(blockhash.description), "last_valid_block_height": .number(String(lastValid)),
        ]
    }

    public func stopReason(wallet: String, token: String, amount: UInt256) async throws -> PullStop? {
        guard let treasury = config.treasury, let token = config.token(token) else { return nil }
        let owner = try SolanaPublicKey(base58: wallet)
        let source = try SolanaPublicKey.associatedTokenAddress(wallet: owner, mint: token.mint, tokenProgram: token.program)
        let destination = try SolanaPublicKey.associatedTokenAddress(wallet: treasury, mint: token.mint, tokenProgram: token.program)
        if case .stop(let reason, let detail) = try await SolanaPreflight.read(node: node, source: source, destination: destination, mint: token.mint) {
            return PullStop(reason: reason, detail: detail)
        }
        return nil
    }
}
