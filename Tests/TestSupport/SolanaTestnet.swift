import Foundation
import SettleCore
import Signing
import Solana
import SolanaIndexer
import Transport

/// The LiteSVM JSON-RPC peer (`Tests/Peers/solana_rpc.py`: a real Solana runtime with SPL Token and Token-2022)
/// and helpers that build, sign and send real transactions with Settle's own Solana module.
public final class SolanaTestnet: Sendable {
    public let peer: Peer
    public let http: HTTPClient
    public let node: SolanaNode

    public init() throws {
        peer = try Peer(script: "solana_rpc.py")
        http = HTTPClient()
        node = SolanaNode(rpc: JSONRPCClient(endpoints: [RPCEndpoint(url: peer.url("/"), label: "litesvm")], http: http,
                                             retry: RetryPolicy(maximumAttempts: 2)))
    }

    /// Starts the peer as `init` does, off the cooperative pool (see `onThread`): async code starts it with this.
    public static func start() async throws -> SolanaTestnet {
        try await onThread { try SolanaTestnet() }
    }

    deinit {
        http.shutdown()
        peer.stop()
    }

    /// Funded keypairs.
    public func keypairs(_ count: Int) async throws -> [Ed25519PrivateKey] {
        let result = try await node.rpc.call("settle_keypairs", [.number(String(count))])
        return try (result.arrayValue ?? []).map { item in
            let bytes = (item["secretKey"]?.arrayValue ?? []).compactMap { $0.uint64Value.map { UInt8($0) } }
            return try Ed25519PrivateKey(keypairBytes: bytes)
        }
    }

    /// A new mint. `extensions` (Token-2022 only) as the peer takes them, e.g. `["transferFee": ["basisPoints": 100,
    /// "maximumFee": 1000000]]`, `["nonTransferable": true]`, `["transferHook": ["programId": "…"]]`; `freezable` gives it
    /// the peer's mint authority as freeze authority (for `freeze`).
    public func createMint(decimals: Int = 6, program: TokenProgram = .token, extensions: JSON? = nil, freezable: Bool = false) async throws -> SolanaPublicKey {
        var spec: [(key: String, value: JSON)] = [("decimals", .number(String(decimals))), ("program", .string(program == .token ? "token" : "token2022"))]
        if let extensions { spec.append(("extensions", extensions)) }
        if freezable { spec.append(("freezeAuthority", "default")) }
        let result = try await node.rpc.call("settle_createMint", [.object(spec)])
        return try SolanaPublicKey(base58: result.stringValue ?? "")
    }

    /// Freezes a token account with its mint's freeze authority.
    public func freeze(_ account: SolanaPublicKey) async throws {
        _ = try await node.rpc.call("settle_freeze", [.object([("account", .string(account.description))])])
    }

    /// Turns on MemoTransfer (incoming transfers need a memo) on a Token-2022 account whose owner the peer holds.
    public func requireMemo(_ account: SolanaPublicKey) async throws {
        _ = try await node.rpc.call("settle_enableRequiredMemo", [.object([("account", .string(account.description))])])
    }

    public func createATA(owner: SolanaPublicKey, mint: SolanaPublicKey) async throws -> SolanaPublicKey {
        let result = try await node.rpc.call("settle_createAta", [.object([("owner", .string(owner.description)), ("mint", .string(mint.description))])])
        return try SolanaPublicKey(base58: result.stringValue ?? "")
    }

    public func mint(_ mint: SolanaPublicKey, to destination: SolanaPublicKey, amount: UInt64) async throws {
        _ = try await node.rpc.call("settle_mintTo", [
            .object([("mint", .string(mint.description)), ("destination", .string(destination.description)), ("amount", .number(String(amount)))]),
        ])
    }

    public func lookupTable(_ addresses: [SolanaPublicKey]) async throws -> SolanaPublicKey {
        let result = try await node.rpc.call("settle_createLookupTable", [.object([("addresses", .array(addresses.map { .string($0.description) }))])])
        return try SolanaPublicKey(base58: result.stringValue ?? "")
    }

    public func advance(_ slots: Int) async throws {
        _ = try await node.rpc.call("settle_advanceSlots", [.number(String(slots))])
    }

    /// Signs `instructions` (fee payer first signer) as a legacy message and sends it.
    @discardableResult
    public func send(_ instructions: [SolanaInstruction], signers: [Ed25519PrivateKey], skipPreflight: Bool = false) async throws -> SolanaSignature {
        let blockhash = try await node.latestBlockhash().blockhash
        let message = try LegacyMessage(instructions: instructions, payer: SolanaPublicKey(signers[0].publicKey), recentBlockhash: blockhash)
        let transaction = try SolanaTransaction(message: .legacy(message), signers: signers)
        return try await node.send(transaction.serialized(), skipPreflight: skipPreflight)
    }

    /// Signs `instructions` as a v0 message with `tables` and sends it.
    @discardableResult
    public func sendV0(_ instructions: [SolanaInstruction], tables: [AddressLookupTableAccount], signers: [Ed25519PrivateKey]) async throws -> SolanaSignature {
        let blockhash = try await node.latestBlockhash().blockhash
        let message = try MessageV0(payer: SolanaPublicKey(signers[0].publicKey), instructions: instructions,
                                    addressLookupTables: tables, recentBlockhash: blockhash)
        let transaction = try SolanaTransaction(message: .v0(message), signers: signers)
        return try await node.send(transaction.serialized())
    }

    /// The token account as the runtime reports it.
    public func tokenAccount(_ address: SolanaPublicKey) async throws -> TokenAccount {
        guard let account = try await node.accounts([address]).first ?? nil else { throw PeerError("no account \(address)") }
        return try TokenAccount(data: account.data)
    }
}
