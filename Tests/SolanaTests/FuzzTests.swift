import Foundation
import Solana
import Testing
import TestSupport

/// Every decoder of outside data sees 100,000 random and mutated inputs; none may trap. Results are
/// discarded: a decoder may accept or refuse, it must only return.
@Suite("Fuzz")
struct FuzzTests {
    static let count = 100_000

    private static func messageSeeds() throws -> [[UInt8]] {
        let transactions = try Vectors.load("solana_transactions", as: [TransactionCase].self)
        return transactions.prefix(200).map { [UInt8](hex: $0.transaction) }
    }

    @Test("base58 decode and public key parse")
    func base58() throws {
        let seeds = try Vectors.load("solana_base58", as: [Base58Case].self).prefix(300).map { Array($0.base58.utf8) }
        var accepted = 0
        for input in FuzzInputs(count: Self.count, seeds: seeds, maxLength: 90, seed: 1) {
            if (try? Base58.decode(utf8: input)) != nil { accepted += 1 }
            _ = try? SolanaPublicKey(base58: String(decoding: input, as: UTF8.self))
        }
        #expect(accepted > 0)
    }

    @Test("compact-u16")
    func compactU16() {
        let seeds: [[UInt8]] = [[0], [0x7f], [0x80, 0x01], [0xff, 0x7f], [0x80, 0x80, 0x01], [0xff, 0xff, 0x03]]
        for input in FuzzInputs(count: Self.count, seeds: seeds, maxLength: 6, seed: 2) {
            if let (value, count) = try? CompactU16.decode(input) {
                #expect(CompactU16.encode(value) == Array(input.prefix(count)))
            }
        }
    }

    @Test("versioned, legacy and v0 message decode")
    func messages() throws {
        let seeds = try Self.messageSeeds().map { transaction in
            Array(transaction.dropFirst(1 + 64 * Int(transaction[0])))
        }
        for input in FuzzInputs(count: Self.count, seeds: seeds, maxLength: 400, seed: 3) {
            if let message = try? VersionedMessage(wireBytes: input) {
                #expect(message.serialized() == input)
            }
            _ = try? LegacyMessage(wireBytes: input)
            _ = try? MessageV0(wireBytes: input)
        }
    }

    @Test("transaction decode")
    func transactions() throws {
        for input in FuzzInputs(count: Self.count, seeds: try Self.messageSeeds(), maxLength: 500, seed: 4) {
            if let transaction = try? SolanaTransaction(wireBytes: input) {
                #expect(transaction.serialized() == input)
            }
        }
    }

    @Test("token account decode")
    func tokenAccounts() throws {
        let seeds = try Vectors.load("solana_token_accounts", as: [TokenAccountCase].self).prefix(200).map {
            [UInt8](hex: $0.hex)
        }
        for input in FuzzInputs(count: Self.count, seeds: seeds + seeds.map { $0 + [2, 0, 0] }, maxLength: 200, seed: 5) {
            if (try? TokenAccount(data: input)) != nil {
                #expect(input.count >= TokenAccount.size)
            }
        }
    }

    @Test("Token-2022 extension decode (mint and account TLV entries), on LiteSVM's real accounts")
    func tokenExtensions() throws {
        // The data of a transfer-fee mint and a memo-requiring account, as getAccountInfo returned them.
        let seeds: [[UInt8]] = try ["getAccountInfo_token2022_mint", "getAccountInfo_token2022_account"].map { name in
            let text = try Fixtures.json("solana", name)["result"]?["value"]?["data"]?.arrayValue?.first?.stringValue ?? ""
            return Array(try #require(Data(base64Encoded: text)))
        }
        #expect(try TokenExtensions(data: seeds[0], accountType: 1).transferFeeBasisPoints == 100)
        #expect(try TokenExtensions(data: seeds[1], accountType: 2).requiresIncomingMemo)
        var decoded = 0
        for (i, input) in FuzzInputs(count: Self.count, seeds: seeds, maxLength: 400, seed: 6).enumerated() {
            guard let extensions = try? TokenExtensions(data: input, accountType: i % 2 == 0 ? 1 : 2) else { continue }
            decoded += 1
            // Every entry lies within the data; the fee readers and the hook reader never trap.
            #expect(extensions.entries.values.reduce(0) { $0 + 4 + $1.count } <= max(0, input.count - 166))
            _ = (extensions.transferFeeBasisPoints, extensions.transferFeeMaximum, extensions.transferHookProgram, extensions.requiresIncomingMemo)
        }
        #expect(decoded > 0)
    }
}
