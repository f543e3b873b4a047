import API
import Foundation
import SettleConfiguration
import SettleCore
import Signing
import Solana
import SolanaIndexer
import Store
import TestSupport
import Transport

/// A Solana index in a fresh database (SQLite or PostgreSQL) with one wallet holding a USDC and a EURC token account,
/// our delegate, and the API's chain view over it (its node is never asked: history and current delegations come from
/// the index).
struct SolanaHistoryWorld: Sendable {
    let index: SolanaIndexDatabase
    let store: any SolanaIndexStore
    let chain: Int64
    let view: SolanaChainView
    let http: HTTPClient
    let wallet: SolanaPublicKey
    let delegate: SolanaPublicKey
    let stranger: SolanaPublicKey
    let usdc: SolanaPublicKey
    let eurc: SolanaPublicKey
    let usdcAccount: SolanaPublicKey
    let eurcAccount: SolanaPublicKey

    static func make(_ backend: SolanaIndexDatabase.Backend = .sqlite) async throws -> SolanaHistoryWorld {
        let index = try await SolanaIndexDatabase.make(backend)
        let store = index.store
        let chain = try await store.register(name: "solana")
        let wallet = SolanaPublicKey(Ed25519PrivateKey.generate().publicKey)
        let delegate = SolanaPublicKey(Ed25519PrivateKey.generate().publicKey)
        let stranger = SolanaPublicKey(Ed25519PrivateKey.generate().publicKey)
        let usdc = try SolanaPublicKey(base58: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
        let eurc = try SolanaPublicKey(base58: "HzwqbKZw8HxMN6bF2yFZNrht3c2iXXzpKcFu7uBEDKtr")
        let usdcAccount = try SolanaPublicKey.associatedTokenAddress(wallet: wallet, mint: usdc, tokenProgram: .token)
        let eurcAccount = try SolanaPublicKey.associatedTokenAddress(wallet: wallet, mint: eurc, tokenProgram: .token)
        for (account, mint) in [(usdcAccount, usdc), (eurcAccount, eurc)] {
            try await store.track(chain: chain, TrackedTokenAccount(account: account, owner: wallet, mint: mint, program: .token, newestSignature: nil))
        }
        let config = try SolanaChainConfig.parse("""
            family = "solana"
            rpc_urls = ["http://127.0.0.1:9/"]
            [[tokens]]
            symbol = "USDC"
            mint = "\(usdc)"
            decimals = 6
            [[tokens]]
            symbol = "EURC"
            mint = "\(eurc)"
            decimals = 6
            """, file: "solana.toml")
        let http = HTTPClient()
        let node = SolanaNode(rpc: JSONRPCClient(endpoints: [RPCEndpoint(url: "http://127.0.0.1:9/", label: "unused")], http: http))
        let view = SolanaChainView(config: config, store: store, node: node, delegate: delegate)
        return SolanaHistoryWorld(index: index, store: store, chain: chain, view: view, http: http, wallet: wallet, delegate: delegate,
                                  stranger: stranger, usdc: usdc, eurc: eurc, usdcAccount: usdcAccount, eurcAccount: eurcAccount)
    }

    func stop() {
        http.shutdown()
        index.close()
    }

    /// What happened in one transaction on one of the wallet's accounts.
    enum Move {
        /// Approve (`checked`: ApproveChecked, naming the mint) to `to`.
        case approve(to: SolanaPublicKey, checked: Bool)
        case revoke
        /// A transfer out signed by `by` (our delegate: a pull; the wallet: its own payment).
        case transfer(by: SolanaPublicKey, checked: Bool)
    }

    /// Indexes one confirmed transaction at `slot` with one event on `account` (the USDC account when nil).
    @discardableResult
    func add(slot: UInt64, _ move: Move, account: SolanaPublicKey? = nil, amount: UInt64 = 1_000_000) async throws -> SolanaSignature {
        let account = account ?? usdcAccount
        let mint = account == usdcAccount ? usdc : eurc
        let event: TokenEvent = switch move {
        case .approve(let to, let checked):
            TokenEvent(kind: .approve, program: .token, source: account, counterparty: to, authority: wallet, mint: checked ? mint : nil,
                       amount: amount, decimals: checked ? 6 : nil, outerIndex: 0, innerIndex: nil)
        case .revoke:
            TokenEvent(kind: .revoke, program: .token, source: account, counterparty: nil, authority: wallet, mint: nil, amount: 0, decimals: nil,
                       outerIndex: 0, innerIndex: nil)
        case .transfer(let by, let checked):
            TokenEvent(kind: .transfer, program: .token, source: account, counterparty: stranger, authority: by, mint: checked ? mint : nil,
                       amount: amount, decimals: checked ? 6 : nil, outerIndex: 0, innerIndex: nil)
        }
        let signature = SolanaSignature(Ed25519PrivateKey.generate().sign(Array("\(slot)".utf8)))
        let transaction = FetchedSolanaTransaction(signature: signature, slot: slot, blockTime: 1_700_000_000 + slot, failed: false, accountKeys: [],
                                                   instructions: [], preTokenBalances: [], postTokenBalances: [], fee: 5_000)
        try await store.commit(chain: chain, [(transaction, [event])], owners: [usdcAccount: wallet, eurcAccount: wallet])
        return signature
    }

    /// Indexes `count` transactions from slot 1 in one commit, the wallet's busy life: of every 20, an approval to our
    /// delegate, a revoke, ten pulls by our delegate, five of the wallet's own payments, three approvals to someone
    /// else; alternately on the USDC and the EURC account.
    func addMany(_ count: Int) async throws {
        var batch: [(transaction: FetchedSolanaTransaction, events: [TokenEvent])] = []
        for i in 0..<count {
            let account = i % 2 == 0 ? usdcAccount : eurcAccount
            let event: TokenEvent = switch i % 20 {
            case 0: TokenEvent(kind: .approve, program: .token, source: account, counterparty: delegate, authority: wallet, mint: nil,
                               amount: 5, decimals: nil, outerIndex: 0, innerIndex: nil)
            case 1: TokenEvent(kind: .revoke, program: .token, source: account, counterparty: nil, authority: wallet, mint: nil, amount: 0,
                               decimals: nil, outerIndex: 0, innerIndex: nil)
            case 2...11: TokenEvent(kind: .transfer, program: .token, source: account, counterparty: stranger, authority: delegate, mint: nil,
                                    amount: 1, decimals: nil, outerIndex: 1, innerIndex: 0)
            case 12...16: TokenEvent(kind: .transfer, program: .token, source: account, counterparty: stranger, authority: wallet, mint: nil,
                                     amount: 1, decimals: nil, outerIndex: 0, innerIndex: nil)
            default: TokenEvent(kind: .approve, program: .token, source: account, counterparty: stranger, authority: wallet, mint: nil,
                                amount: 5, decimals: nil, outerIndex: 0, innerIndex: nil)
            }
            let signature = SolanaSignature(Ed25519PrivateKey.generate().sign(Array("\(i)".utf8)))
            batch.append((FetchedSolanaTransaction(signature: signature, slot: UInt64(i + 1), blockTime: nil, failed: false, accountKeys: [],
                                                   instructions: [], preTokenBalances: [], postTokenBalances: [], fee: 5_000), [event]))
        }
        try await store.commit(chain: chain, batch, owners: [usdcAccount: wallet, eurcAccount: wallet])
    }

    /// Every page of the wallet's allowance history, following `next_cursor` (at most 1,000 pages).
    func pages(limit: Int, token: String? = nil) async throws -> [[JSON]] {
        var out: [[JSON]] = []
        var cursor: String?
        repeat {
            let page = try await view.allowances(wallet: wallet.description, token: token, cursor: cursor, limit: limit)
            out.append(page.history)
            cursor = page.nextCursor
        } while cursor != nil && out.count < 1_000
        return out
    }
}
