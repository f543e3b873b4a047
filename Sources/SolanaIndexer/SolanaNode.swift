import Foundation
import SettleCore
import Solana
import Transport

/// Typed Solana JSON-RPC calls over a `JSONRPCClient`. Numbers that do not fit a `Double` (lamports, token
/// amounts, `rentEpoch`) are read exactly from their JSON text; account data is requested as base64 and decoded
/// with Settle's own layouts.
public struct SolanaNode: Sendable {
    public let rpc: JSONRPCClient

    public init(rpc: JSONRPCClient) {
        self.rpc = rpc
    }

    static func config(_ commitment: Commitment, _ extra: [(key: String, value: JSON)] = []) -> JSON {
        .object([("commitment", .string(commitment.rawValue))] + extra)
    }

    /// `getSlot`.
    public func slot(_ commitment: Commitment = .confirmed) async throws(RPCError) -> UInt64 {
        try SolanaJSON.height(try await rpc.call("getSlot", [Self.config(commitment)]), "getSlot")
    }

    /// `getBlockHeight`.
    public func blockHeight(_ commitment: Commitment = .confirmed) async throws(RPCError) -> UInt64 {
        try SolanaJSON.height(try await rpc.call("getBlockHeight", [Self.config(commitment)]), "getBlockHeight")
    }

    /// `minimumLedgerSlot`: the oldest slot this node's ledger holds. A signature status lookup on this node cannot
    /// see transactions in older slots, so its silence about them proves nothing.
    public func minimumLedgerSlot() async throws(RPCError) -> UInt64 {
        try SolanaJSON.height(try await rpc.call("minimumLedgerSlot", []), "minimumLedgerSlot")
    }

    /// `getLatestBlockhash`: the blockhash and the last block height at which a transaction using it can land.
    public func latestBlockhash(_ commitment: Commitment = .confirmed) async throws(RPCError) -> (blockhash: Blockhash, lastValidBlockHeight: UInt64) {
        try SolanaJSON.latestBlockhash(try await rpc.call("getLatestBlockhash", [Self.config(commitment)]))
    }

    /// `getMultipleAccounts` (base64); nil for accounts that do not exist.
    public func accounts(_ keys: [SolanaPublicKey], _ commitment: Commitment = .confirmed) async throws(RPCError) -> [SolanaAccount?] {
        guard !keys.isEmpty else { return [] }
        return try SolanaJSON.accounts(try await rpc.call("getMultipleAccounts", [
            .array(keys.map { .string($0.description) }), Self.config(commitment, [("encoding", "base64")]),
        ]), count: keys.count)
    }

    /// `getTokenAccountsByOwner` / `getTokenAccountsByDelegate` for one token program (base64).
    public func tokenAccounts(by role: TokenAccountRole, _ key: SolanaPublicKey, program: TokenProgram,
                              _ commitment: Commitment = .confirmed) async throws(RPCError) -> [(address: SolanaPublicKey, account: SolanaAccount)] {
        let method = role == .owner ? "getTokenAccountsByOwner" : "getTokenAccountsByDelegate"
        return try SolanaJSON.tokenAccounts(try await rpc.call(method, [
            .string(key.description), .object([("programId", .string(program.programID.description))]),
            Self.config(commitment, [("encoding", "base64")]),
        ]), method: method)
    }

    /// Whose token accounts `tokenAccounts(by:)` lists.
    public enum TokenAccountRole: Sendable { case owner, delegate }

    /// `getSignaturesForAddress`, newest first.
    public func signatures(for address: SolanaPublicKey, before: SolanaSignature? = nil, until: SolanaSignature? = nil,
                           limit: Int = 1000, _ commitment: Commitment = .confirmed) async throws(RPCError) -> [SignatureInfo] {
        var options: [(key: String, value: JSON)] = [("limit", .number(String(limit)))]
        if let before { options.append(("before", .string(before.description))) }
        if let until { options.append(("until", .string(until.description))) }
        return try SolanaJSON.signatures(try await rpc.call("getSignaturesForAddress", [.string(address.description), Self.config(commitment, options)]))
    }

    /// `getTransaction` (base64, v0 allowed); nil when the node does not have it at `commitment`.
    public func transaction(_ signature: SolanaSignature, _ commitment: Commitment = .confirmed) async throws(RPCError) -> FetchedSolanaTransaction? {
        let result = try await rpc.call("getTransaction", [
            .string(signature.description),
            Self.config(commitment, [("encoding", "base64"), ("maxSupportedTransactionVersion", 0)]),
        ])
        return result.isNull ? nil : try SolanaJSON.transaction(result, signature: signature)
    }

    /// `sendTransaction` (base64); the signature the node reports.
    public func send(_ wire: [UInt8], skipPreflight: Bool = false) async throws(RPCError) -> SolanaSignature {
        let result = try await rpc.call("sendTransaction", [
            .string(Data(wire).base64EncodedString()),
            .object([("encoding", "base64"), ("skipPreflight", .bool(skipPreflight)), ("preflightCommitment", "confirmed")]),
        ])
        return try SolanaJSON.signature(result, "sendTransaction")
    }

    /// `simulateTransaction` (signatures verified, blockhash kept): whether it would fail, its logs and compute units.
    public func simulate(_ wire: [UInt8]) async throws(RPCError) -> (failed: Bool, logs: [String], unitsConsumed: UInt64?) {
        try SolanaJSON.simulation(try await rpc.call("simulateTransaction", [
            .string(Data(wire).base64EncodedString()),
            .object([("encoding", "base64"), ("sigVerify", true), ("commitment", "confirmed")]),
        ]))
    }

    /// `getAccountInfo` (base64); nil when the account does not exist.
    public func account(_ key: SolanaPublicKey, _ commitment: Commitment = .confirmed) async throws(RPCError) -> SolanaAccount? {
        try SolanaJSON.optionalAccount(try await rpc.call("getAccountInfo", [
            .string(key.description), Self.config(commitment, [("encoding", "base64")]),
        ]))
    }

    /// `getSignatureStatuses` (with history): per signature, nil when unknown, else its slot, failure and status.
    public func statuses(_ signatures: [SolanaSignature]) async throws(RPCError) -> [(slot: UInt64, failed: Bool, status: Commitment?)?] {
        try SolanaJSON.statuses(try await rpc.call("getSignatureStatuses", [
            .array(signatures.map { .string($0.description) }), .object([("searchTransactionHistory", true)]),
        ]), count: signatures.count)
    }
}
