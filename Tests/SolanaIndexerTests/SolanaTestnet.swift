import Foundation
import SettleCore
import Signing
import Solana
import SolanaIndexer
import TestSupport
import Transport

/// The LiteSVM JSON-RPC peer (`Tests/Peers/solana_rpc.py`: a real Solana runtime with SPL Token and Token-2022)
/// and helpers that build, sign and send real transactions with Settle's own Solana module.
final class SolanaTestnet: Sendable {
    let peer: Peer
    let http: HTTPClient
    let node: SolanaNode

    init() throws {
        peer = try Peer(script: "solana_rpc.py")
        http = HTTPClient()
        node = SolanaNode(rpc: JSONRPCClient(endpoints: [RPCEndpoint(url: peer.url("/"), label: "litesvm")], http: http,
                                             retry: RetryPolicy(maximumAttempts: 2)))
    }

    deinit {
        http.shutdown()
        peer.stop()
    }

    /// Funded keypairs.
    func keypairs(_ count: Int) async throws -> [Ed25519PrivateKey] {
        let result = try await node.rpc.call("settle_keypairs", [.number(String(count))])
        return try (result.arrayValue ?? []).map { item in
            let bytes = (item["secretKey"]?.arrayValue ?? []).compactMap { $0.uint64Value.map { UInt8($0) } }
            return try Ed25519PrivateKey(keypairBytes: bytes)
        }
    }

    func createMint(decimals: Int = 6, program: TokenProgram = .token) async throws -> SolanaPublicKey {
        let result = try await node.rpc.call("settle_createMint", [
            .object([("decimals", .number(String(decimals))), ("program", .string(program == .token ? "token" : "token2022"))]),
        ])
        return try SolanaPublicKey(base58: result.stringValue ?? "")
    }

    func createATA(owner: SolanaPublicKey, mint: SolanaPublicKey) async throws -> SolanaPublicKey {
        let result = try await node.rpc.call("settle_createAta", [.object([("owner", .string(owner.description)), ("mint", .string(mint.description))])])
        return try SolanaPublicKey(base58: result.stringValue ?? "")
    }

    func mint(_ mint: SolanaPublicKey, to destination: SolanaPublicKey, amount: UInt64) async throws {
        _ = try await node.rpc.call("settle_mintTo", [
            .object([("mint", .string(mint.description)), ("destination", .string(destination.description)), ("amount", .number(String(amount)))]),
        ])
    }

    func lookupTable(_ addresses: [SolanaPublicKey]) async throws -> SolanaPublicKey {
        let result = try await node.rpc.call("settle_createLookupTable", [.object([("addresses", .array(addresses.map { .string($0.description) }))])])
        return try SolanaPublicKey(base58: result.stringValue ?? "")
    }

    func advance(_ slots: Int) async throws {
        _ = try await node.rpc.call("settle_advanceSlots", [.number(String(slots))])
    }

    /// Signs `instructions` (fee payer first signer) as a legacy message and sends it.
    @discardableResult
    func send(_ instructions: [SolanaInstruction], signers: [Ed25519PrivateKey], skipPreflight: Bool = false) async throws -> SolanaSignature {
        let blockhash = try await node.latestBlockhash().blockhash
        let message = try LegacyMessage(instructions: instructions, payer: SolanaPublicKey(signers[0].publicKey), recentBlockhash: blockhash)
        let transaction = try SolanaTransaction(message: .legacy(message), signers: signers)
        return try await node.send(transaction.serialized(), skipPreflight: skipPreflight)
    }

    /// Signs `instructions` as a v0 message with `tables` and sends it.
    @discardableResult
    func sendV0(_ instructions: [SolanaInstruction], tables: [AddressLookupTableAccount], signers: [Ed25519PrivateKey]) async throws -> SolanaSignature {
        let blockhash = try await node.latestBlockhash().blockhash
        let message = try MessageV0(payer: SolanaPublicKey(signers[0].publicKey), instructions: instructions,
                                    addressLookupTables: tables, recentBlockhash: blockhash)
        let transaction = try SolanaTransaction(message: .v0(message), signers: signers)
        return try await node.send(transaction.serialized())
    }

    /// The token account as the runtime reports it.
    func tokenAccount(_ address: SolanaPublicKey) async throws -> TokenAccount {
        guard let account = try await node.accounts([address]).first ?? nil else { throw PeerError("no account \(address)") }
        return try TokenAccount(data: account.data)
    }
}
