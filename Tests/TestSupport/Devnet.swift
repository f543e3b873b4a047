import EVM
import Foundation
import SettleCore
import Synchronization
import Signing
import Transport

/// The py-evm devnet test peer (`Tests/Peers/evm_devnet.py`) and typed helpers for driving it: prefunded accounts,
/// token deployment, and real signed transactions built with Settle's own EVM module.
public final class Devnet: Sendable {
    public let peer: Peer
    public let http: HTTPClient
    public let rpc: JSONRPCClient
    public let chainID: UInt64
    /// Next nonce per sender, so tests sharing one devnet can send from the same account concurrently.
    private let nonces = Mutex<[EVMAddress: UInt64]>([:])

    /// Starts a devnet with `arguments` (e.g. `["--no-automine"]`).
    public init(chainID: UInt64 = 1337, arguments: [String] = []) throws {
        peer = try Peer(script: "evm_devnet.py", arguments: ["--chain-id", String(chainID)] + arguments)
        http = HTTPClient()
        rpc = JSONRPCClient(endpoints: [RPCEndpoint(url: peer.url("/"), label: "devnet")], http: http,
                            retry: RetryPolicy(maximumAttempts: 3), timeout: .seconds(60))
        self.chainID = chainID
    }

    /// Starts a devnet as `init` does, off the cooperative pool (see `onThread`): async code starts devnets with this.
    public static func start(chainID: UInt64 = 1337, arguments: [String] = []) async throws -> Devnet {
        try await onThread { try Devnet(chainID: chainID, arguments: arguments) }
    }

    public var url: String { peer.url("/") }

    /// A prefunded account.
    public struct Account: Sendable {
        public let key: Secp256k1PrivateKey
        public var address: EVMAddress { EVMAddress(publicKey: key.publicKey) }
    }

    /// The prefunded accounts (keys 1…N).
    public func accounts() async throws -> [Account] {
        let result = try await rpc.call("settle_accounts")
        return try (result.arrayValue ?? []).map { item in
            Account(key: try Secp256k1PrivateKey(bytes: try Hex.decode(item["privateKey"]?.stringValue ?? "")))
        }
    }

    /// The hex private key of prefunded account `index` (for key references in chain files the daemon loads).
    public func privateKeyHex(_ index: Int) async throws -> String {
        let result = try await rpc.call("settle_accounts")
        return result.arrayValue?[index]["privateKey"]?.stringValue ?? ""
    }

    /// Deploys a fresh ERC-20 (snekmate, compiled with Vyper) owned by `owner`. `kind` picks a behaviour of real tokens
    /// (`standard`, `fee`: 1% fee on transfer, `false`: returns false instead of reverting, `noreturn`: USDT-style,
    /// `usdt`: USDT's approve, non-zero to non-zero reverts, and no return values, `pausable_blocklist`: USDC-style,
    /// `lying`: logs the full amount but credits half; see evm_devnet.py).
    public func deployToken(symbol: String = "USDC", decimals: Int = 6, owner: EVMAddress, kind: String = "standard") async throws -> EVMAddress {
        let result = try await rpc.call("settle_deployToken", [
            .object([("name", .string("Test \(symbol)")), ("symbol", .string(symbol)), ("decimals", .number(String(decimals))),
                     ("owner", .string(owner.checksummed)), ("kind", .string(kind))]),
        ])
        return try EVMAddress(hex: result.stringValue ?? "")
    }

    /// Mints `amount` base units to `to`.
    public func mint(token: EVMAddress, to: EVMAddress, amount: UInt256) async throws {
        _ = try await rpc.call("settle_mint", [
            .object([("token", .string(token.checksummed)), ("to", .string(to.checksummed)), ("amount", .string(amount.description))]),
        ])
    }

    /// Signs and sends a call from `account`; returns the transaction hash. Automine puts it in its own block.
    @discardableResult
    public func send(from account: Account, to: EVMAddress, data: [UInt8], gas: UInt64 = 200_000) async throws -> Hash32 {
        try await sendSigned(from: account, to: to, data: data, gas: gas).hash
    }

    /// Signs and sends a call from `account`; returns the signed transaction (to re-send its exact bytes).
    public func sendSigned(from account: Account, to: EVMAddress, data: [UInt8], gas: UInt64 = 200_000) async throws -> SignedTransaction {
        let nonceJSON = try await rpc.call("eth_getTransactionCount", [.string(account.address.checksummed), "pending"])
        let pending = UInt64((nonceJSON.stringValue ?? "0x0").dropFirst(2), radix: 16) ?? 0
        let nonce = nonces.withLock { nonces in
            let next = max(nonces[account.address] ?? 0, pending)
            nonces[account.address] = next + 1
            return next
        }
        let transaction = EIP1559Transaction(
            chainID: chainID, nonce: nonce, maxPriorityFeePerGas: 1_000_000_000, maxFeePerGas: 100_000_000_000,
            gasLimit: gas, to: to, data: data)
        let signed = transaction.signed(with: account.key)
        try await sendRaw(signed)
        return signed
    }

    /// Broadcasts already-signed bytes.
    public func sendRaw(_ signed: SignedTransaction) async throws {
        _ = try await rpc.call("eth_sendRawTransaction", [.string(signed.rawHex)])
    }

    public func approve(token: EVMAddress, owner: Account, spender: EVMAddress, amount: UInt256) async throws {
        try await send(from: owner, to: token, data: ERC20.approve(spender: spender, amount: amount))
    }

    public func transferFrom(token: EVMAddress, spender: Account, from: EVMAddress, to: EVMAddress, amount: UInt256) async throws {
        try await send(from: spender, to: token, data: ERC20.transferFrom(from: from, to: to, amount: amount))
    }

    public func transfer(token: EVMAddress, from: Account, to: EVMAddress, amount: UInt256) async throws {
        try await send(from: from, to: token, data: ERC20.transfer(to: to, amount: amount))
    }

    public func mine(_ blocks: Int = 1) async throws {
        _ = try await rpc.call("evm_mine", [.number(String(blocks))])
    }

    public func snapshot() async throws -> String {
        try await rpc.call("evm_snapshot").stringValue ?? ""
    }

    public func revert(_ id: String) async throws {
        _ = try await rpc.call("evm_revert", [.string(id)])
        nonces.withLock { $0.removeAll() }  // the chain's nonces went back
    }

    public func blockNumber() async throws -> UInt64 {
        UInt64((try await rpc.call("eth_blockNumber").stringValue ?? "0x0").dropFirst(2), radix: 16) ?? 0
    }

    /// `allowance(owner, spender)` read with eth_call at the latest block.
    public func allowance(token: EVMAddress, owner: EVMAddress, spender: EVMAddress) async throws -> UInt256 {
        try await word(token: token, data: ERC20.allowance(owner: owner, spender: spender))
    }

    /// `balanceOf(owner)` read with eth_call at the latest block.
    public func balance(token: EVMAddress, owner: EVMAddress) async throws -> UInt256 {
        try await word(token: token, data: ERC20.balanceOf(owner: owner))
    }

    private func word(token: EVMAddress, data: [UInt8]) async throws -> UInt256 {
        let result = try await rpc.call("eth_call", [.object([("to", .string(token.checksummed)), ("data", .string(Hex.encode(data, prefix: true)))]), "latest"])
        return try UInt256(bigEndian: try Hex.decode(result.stringValue ?? ""))
    }

    /// Chain configuration text for this devnet and `tokens`.
    public func chainConfig(name: String = "devnet", tokens: [(symbol: String, address: EVMAddress, decimals: Int)],
                            spenders: [EVMAddress], mode: String = "scoped", maxLogRange: Int = 1000,
                            confirmations: Int = 3, rpcURL: String? = nil, signerKey: String? = nil, treasury: EVMAddress? = nil) -> String {
        var text = """
            family = "evm"
            chain_id = \(chainID)
            rpc_urls = ["\(rpcURL ?? url)"]
            block_time_ms = 1000
            poll_interval_ms = 100
            max_log_range = \(maxLogRange)

            [finality]
            mode = "confirmations"
            confirmations = \(confirmations)
            reorg_window = 64

            [index]
            mode = "\(mode)"
            spenders = [\(spenders.map { "\"\($0.checksummed)\"" }.joined(separator: ", "))]

            """
        for token in tokens {
            text += "\n[[tokens]]\nsymbol = \"\(token.symbol)\"\naddress = \"\(token.address.checksummed)\"\ndecimals = \(token.decimals)\n"
        }
        if let signerKey, let treasury {
            text += "\n[signer]\nkey = \"\(signerKey)\"\ntreasury = \"\(treasury.checksummed)\"\n"
        }
        return text
    }

    deinit {
        http.shutdown()
        peer.stop()
    }
}

/// A fresh temporary directory for one test's database and chain files.
public func temporaryDirectory(_ prefix: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
