import EVM
import Foundation
import SettleCore
import Signing
import Solana
import SolanaIndexer
import Transport

/// A chain as a test of the `settled serve` binary sees it: a payer who approved the merchant, the chain file the
/// daemon loads, the environment holding its key, a clock (blocks or slots) the test keeps moving, and ground truth
/// read from the chain itself — never from Settle's tables.
public protocol ServedChain: Sendable {
    /// The chain's name in `settle.toml` (and its file `chains/<name>.toml`).
    var name: String { get }
    /// The family, for reports ("evm", "solana").
    var family: String { get }
    /// The payer's wallet as a Stripe customer's `settle_wallet` metadata names it.
    var payerWallet: String { get }
    /// `chains/<name>.toml`.
    var chainFile: String { get }
    /// Variables the daemon needs (its signing key, referenced by the chain file as `env:`).
    var environment: [String: String] { get }
    /// Moves the chain on by one block (EVM) or slot (Solana), so what landed becomes final.
    func tick() async throws
    /// Every token movement into the treasury that the chain holds, one entry per transfer, in chain order.
    func treasuryDeposits() async throws -> [UInt256]
    /// The treasury's token balance.
    func treasuryBalance() async throws -> UInt256
}

/// The py-evm devnet: a token, payer account 1 with a large allowance to spender account 7, treasury account 8.
public struct EVMServedChain: ServedChain {
    public let devnet: Devnet
    public let token: EVMAddress
    public let payer: EVMAddress
    public let spender: EVMAddress
    public let treasury: EVMAddress
    public let name: String
    public let family = "evm"
    private let keyVariable: String
    private let spenderKey: String

    private init(devnet: Devnet, token: EVMAddress, payer: EVMAddress, spender: EVMAddress, treasury: EVMAddress, name: String,
                 keyVariable: String, spenderKey: String) {
        self.devnet = devnet
        self.token = token
        self.payer = payer
        self.spender = spender
        self.treasury = treasury
        self.name = name
        self.keyVariable = keyVariable
        self.spenderKey = spenderKey
    }

    /// A fresh devnet with the token deployed, `balance` minted to the payer and `allowance` approved to the spender.
    public static func make(name: String = "devnet", balance: UInt256 = 1_000_000_000_000, allowance: UInt256 = 1_000_000_000_000) async throws -> EVMServedChain {
        let devnet = try await Devnet.start()
        let accounts = try await devnet.accounts()
        let token = try await devnet.deployToken(owner: accounts[0].address)
        try await devnet.mint(token: token, to: accounts[1].address, amount: balance)
        try await devnet.approve(token: token, owner: accounts[1], spender: accounts[7].address, amount: allowance)
        return EVMServedChain(devnet: devnet, token: token, payer: accounts[1].address, spender: accounts[7].address, treasury: accounts[8].address,
                              name: name, keyVariable: "SETTLE_TEST_SPENDER_\(UInt32.random(in: 0...UInt32.max))",
                              spenderKey: try await devnet.privateKeyHex(7))
    }

    public var payerWallet: String { "0x" + payer.lowercaseHex }

    public var chainFile: String {
        devnet.chainConfig(name: name, tokens: [("USDC", token, 6)], spenders: [spender], confirmations: 2, signerKey: "env:\(keyVariable)",
                           treasury: treasury)
    }

    public var environment: [String: String] { [keyVariable: spenderKey] }

    public func tick() async throws { try await devnet.mine(1) }

    /// Transfer logs of the token into the treasury (any sender), their amounts.
    public func treasuryDeposits() async throws -> [UInt256] {
        let logs = try await devnet.rpc.call("eth_getLogs", [.object([
            ("fromBlock", "0x0"), ("toBlock", "latest"), ("address", .string(token.checksummed)),
            ("topics", [.string(ERC20.transferTopic.description), nil, .string("0x000000000000000000000000" + treasury.lowercaseHex)]),
        ])])
        return try (logs.arrayValue ?? []).map { try UInt256(hex: $0["data"]?.stringValue ?? "") }
    }

    public func treasuryBalance() async throws -> UInt256 { try await devnet.balance(token: token, owner: treasury) }
}

/// LiteSVM: a mint, a payer whose associated token account delegated a large amount to the merchant's delegate, and
/// the treasury's associated token account.
public struct SolanaServedChain: ServedChain {
    public let net: SolanaTestnet
    public let mint: SolanaPublicKey
    public let payer: SolanaPublicKey
    public let delegate: SolanaPublicKey
    public let treasury: SolanaPublicKey
    public let treasuryAccount: SolanaPublicKey
    public let name: String
    public let family = "solana"
    private let keyVariable: String
    private let delegateKey: String

    private init(net: SolanaTestnet, mint: SolanaPublicKey, payer: SolanaPublicKey, delegate: SolanaPublicKey, treasury: SolanaPublicKey,
                 treasuryAccount: SolanaPublicKey, name: String, keyVariable: String, delegateKey: String) {
        self.net = net
        self.mint = mint
        self.payer = payer
        self.delegate = delegate
        self.treasury = treasury
        self.treasuryAccount = treasuryAccount
        self.name = name
        self.keyVariable = keyVariable
        self.delegateKey = delegateKey
    }

    /// A fresh LiteSVM peer with a 6-decimal SPL Token mint, `balance` minted to the payer and `allowance` delegated.
    public static func make(name: String = "litesvm", balance: UInt64 = 1_000_000_000_000, allowance: UInt64 = 1_000_000_000_000) async throws -> SolanaServedChain {
        let net = try await SolanaTestnet.start()
        let keys = try await net.node.rpc.call("settle_keypairs", [3]).arrayValue ?? []
        let secrets = keys.map { $0["secretKey"] ?? .null }
        let signers = try secrets.map { try Ed25519PrivateKey(keypairBytes: ($0.arrayValue ?? []).compactMap { $0.uint64Value.map { UInt8($0) } }) }
        let (delegate, treasury, payer) = (SolanaPublicKey(signers[0].publicKey), SolanaPublicKey(signers[1].publicKey), signers[2])
        let owner = SolanaPublicKey(payer.publicKey)
        let mint = try await net.createMint()
        let treasuryAccount = try await net.createATA(owner: treasury, mint: mint)
        let source = try await net.createATA(owner: owner, mint: mint)
        try await net.mint(mint, to: source, amount: balance)
        try await net.send([TokenInstruction.approve(source: source, delegate: delegate, owner: owner, amount: allowance)], signers: [payer])
        return SolanaServedChain(net: net, mint: mint, payer: owner, delegate: delegate, treasury: treasury, treasuryAccount: treasuryAccount,
                                 name: name, keyVariable: "SETTLE_TEST_DELEGATE_\(UInt32.random(in: 0...UInt32.max))", delegateKey: secrets[0].text)
    }

    public var payerWallet: String { payer.description }

    public var chainFile: String {
        """
        family = "solana"
        rpc_urls = ["\(net.peer.url("/"))"]
        poll_interval_ms = 200

        [[tokens]]
        symbol = "USDC"
        mint = "\(mint)"
        decimals = 6
        program = "token"

        [signer]
        key = "env:\(keyVariable)"
        treasury = "\(treasury)"
        """
    }

    public var environment: [String: String] { [keyVariable: delegateKey] }

    public func tick() async throws { try await net.advance(1) }

    /// Every transaction the node lists for the treasury's token account (`getSignaturesForAddress`, paged), read
    /// with `getTransaction` (JSON encoding): the account's token balance change, for each successful one that moved
    /// it. Parsed here from the node's own JSON, not with Settle's decoder.
    public func treasuryDeposits() async throws -> [UInt256] {
        var signatures: [String] = []
        var before: String?
        while true {
            var config: [(key: String, value: JSON)] = [("commitment", "confirmed"), ("limit", 1000)]
            if let before { config.append(("before", .string(before))) }
            let page = try await net.node.rpc.call("getSignaturesForAddress", [.string(treasuryAccount.description), .object(config)]).arrayValue ?? []
            for entry in page where entry["err"]?.isNull ?? true {
                if let signature = entry["signature"]?.stringValue { signatures.append(signature) }
            }
            guard page.count == 1000, let last = page.last?["signature"]?.stringValue else { break }
            before = last
        }
        var deposits: [UInt256] = []
        for signature in signatures.reversed() {  // newest first from the node: oldest first here
            let transaction = try await net.node.rpc.call("getTransaction", [.string(signature), .object([
                ("encoding", "json"), ("commitment", "confirmed"), ("maxSupportedTransactionVersion", 0),
            ])])
            let keys = transaction["transaction"]?["message"]?["accountKeys"]?.arrayValue?.compactMap(\.stringValue) ?? []
            guard let index = keys.firstIndex(of: treasuryAccount.description) else { continue }
            func amount(_ field: String) -> UInt64 {
                let entry = transaction["meta"]?[field]?.arrayValue?.first { $0["accountIndex"]?.int64Value == Int64(index) }
                return entry?["uiTokenAmount"]?["amount"]?.stringValue.flatMap { UInt64($0) } ?? 0
            }
            let (pre, post) = (amount("preTokenBalances"), amount("postTokenBalances"))
            if post > pre { deposits.append(UInt256(post - pre)) }
        }
        return deposits
    }

    public func treasuryBalance() async throws -> UInt256 { UInt256(try await net.tokenAccount(treasuryAccount).amount) }
}
