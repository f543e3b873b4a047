import SettleCore
import Solana
import SolanaIndexer
import TestSupport
import Testing
import Transport

/// Issue 14: a node answering account indexes of 2^63 and more (or any other hostile number) in a real
/// `getTransaction` answer gets a typed `malformedResponse`, never a trap.
@Suite("getTransaction with hostile numbers: a typed error, never a trap")
struct HostileTransactionTests {
    /// Every way to replace one index-like number of the answer with `value`.
    static func mutations(of json: JSON, value: String, keys: Set<String>) -> [JSON] {
        switch json {
        case .object(let members):
            var out: [JSON] = []
            for (i, member) in members.enumerated() {
                if keys.contains(member.key), case .number = member.value {
                    var copy = members
                    copy[i].value = .number(value)
                    out.append(.object(copy))
                }
                if member.key == "accounts", case .array(let items) = member.value, !items.isEmpty {
                    var copy = members
                    copy[i].value = .array([.number(value)] + items.dropFirst())
                    out.append(.object(copy))
                }
                for inner in mutations(of: member.value, value: value, keys: keys) {
                    var copy = members
                    copy[i].value = inner
                    out.append(.object(copy))
                }
            }
            return out
        case .array(let items):
            var out: [JSON] = []
            for (i, item) in items.enumerated() {
                for inner in mutations(of: item, value: value, keys: keys) {
                    var copy = items
                    copy[i] = inner
                    out.append(.array(copy))
                }
            }
            return out
        default:
            return []
        }
    }

    @Test("accountIndex, index, programIdIndex and inner account indexes of 2^63, 2^64 - 1 and 10^30")
    func hugeIndexes() async throws {
        let net = try await sharedTestnet.value
        let keys = try await net.keypairs(2)
        let mint = try await net.createMint(decimals: 6)
        let owner = SolanaPublicKey(keys[0].publicKey)
        let source = try await net.createATA(owner: owner, mint: mint)
        let destination = try await net.createATA(owner: SolanaPublicKey(keys[1].publicKey), mint: mint)
        try await net.mint(mint, to: source, amount: 1_000)
        let signature = try await net.send([TokenInstruction.transferChecked(source: source, mint: mint, destination: destination, owner: owner,
                                                                             amount: 10, decimals: 6)], signers: [keys[0]])
        let answer = try await net.node.rpc.call("getTransaction", [
            .string(signature.description), .object([("encoding", "base64"), ("maxSupportedTransactionVersion", 0), ("commitment", "confirmed")]),
        ])
        _ = try SolanaNodeDecoding.transaction(answer, signature: signature)  // the real answer decodes
        var tried = 0
        for value in ["9223372036854775808", "18446744073709551615", "1000000000000000000000000000000"] {
            for mutated in Self.mutations(of: answer, value: value, keys: ["accountIndex", "index", "programIdIndex"]) {
                tried += 1
                #expect(throws: RPCError.self) { _ = try SolanaNodeDecoding.transaction(mutated, signature: signature) }
            }
        }
        #expect(tried >= 6, "the answer has token balances to mutate")
    }
}
