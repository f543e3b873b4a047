import Foundation
import SettleCore
import Solana
@testable import SolanaIndexer
import TestSupport
import Testing
@testable import Transport

/// Issue 14: every decoder of a Solana node's JSON-RPC answers sees 100,000 random and mutated answers (seeds:
/// LiteSVM's real ones in `Tests/Fixtures/solana`, mutated by `JSONFuzzInputs`), through the client's own steps
/// (parse, the envelope, then the typed decoder). The only outcomes allowed are a value or an `RPCError` (typed
/// throws); a trap fails the whole run. What decodes must hold the decoder's invariants: slots, heights and times
/// at most `NodeNumbers.maximum`, one entry per key asked, instructions resolved to keys the transaction has.
@Suite("Fuzz: Solana node answers")
struct SolanaResponseFuzzTests {
    static let count = 100_000

    static func seeds(_ names: [String]) throws -> [JSON] {
        try names.map { try Fixtures.json("solana", $0) }
    }

    /// Feeds `count` inputs through parse → envelope (id 1) → `decode`; returns how many decoded.
    static func run(_ seeds: [JSON], seed: UInt64, _ decode: (JSON) throws(RPCError) -> Void) -> Int {
        var decoded = 0
        for input in JSONFuzzInputs(count: count, seeds: seeds, seed: seed) {
            do throws(RPCError) {
                let response = switch input {
                case .tree(let json): json
                case .bytes(let bytes): try JSONRPCClient.parse(bytes)
                }
                try decode(try JSONRPCClient.result(of: response, id: 1))
                decoded += 1
            } catch {
                continue  // RPCError, by the types
            }
        }
        return decoded
    }

    static func bounded(_ value: UInt64?) -> Bool { (value ?? 0) <= NodeNumbers.maximum }

    @Test("getSlot, getBlockHeight, minimumLedgerSlot and getLatestBlockhash: heights Settle stores")
    func heights() throws {
        let decoded = Self.run(try Self.seeds(["getSlot", "getBlockHeight", "minimumLedgerSlot", "getLatestBlockhash"]), seed: 201) { (result) throws(RPCError) in
            if case .object = result {
                let (_, lastValid) = try SolanaJSON.latestBlockhash(result)
                #expect(Self.bounded(lastValid))
            } else {
                let height = try SolanaJSON.height(result, "getSlot")
                #expect(Self.bounded(height) && result.uint64Value == height)
            }
        }
        #expect(decoded > Self.count / 20)
    }

    @Test("getMultipleAccounts and getAccountInfo: one entry per key, account data read with Settle's token layout and Token-2022 extensions")
    func accounts() throws {
        let names = ["getMultipleAccounts", "getAccountInfo", "getAccountInfo_null", "getAccountInfo_token2022_mint", "getAccountInfo_token2022_account"]
        let decoded = Self.run(try Self.seeds(names), seed: 202) { (result) throws(RPCError) in
            let accounts: [SolanaAccount?]
            if case .array? = result["value"] {
                accounts = try SolanaJSON.accounts(result, count: 3)
                #expect(accounts.count == 3)
            } else {
                accounts = [try SolanaJSON.optionalAccount(result)]
            }
            for case let account? in accounts {
                _ = try? TokenAccount(data: account.data)  // typed SolanaError or a layout, never a trap
                for type: UInt8 in [1, 2] {
                    guard let extensions = try? TokenExtensions(data: account.data, accountType: type) else { continue }
                    _ = (extensions.transferFeeBasisPoints, extensions.transferFeeMaximum, extensions.transferHookProgram)
                }
            }
        }
        #expect(decoded > Self.count / 20)
    }

    @Test("getTokenAccountsByOwner and getTokenAccountsByDelegate")
    func tokenAccounts() throws {
        let decoded = Self.run(try Self.seeds(["getTokenAccountsByOwner", "getTokenAccountsByDelegate"]), seed: 203) { (result) throws(RPCError) in
            for (_, account) in try SolanaJSON.tokenAccounts(result, method: "getTokenAccountsByOwner") {
                _ = try? TokenAccount(data: account.data)
            }
        }
        #expect(decoded > Self.count / 20)
    }

    @Test("getSignaturesForAddress: slots and block times bounded")
    func signatures() throws {
        let decoded = Self.run(try Self.seeds(["getSignaturesForAddress"]), seed: 204) { (result) throws(RPCError) in
            for info in try SolanaJSON.signatures(result) {
                #expect(Self.bounded(info.slot) && Self.bounded(info.blockTime))
            }
        }
        #expect(decoded > Self.count / 20)
    }

    @Test("getSignatureStatuses: one entry per signature asked, slots bounded")
    func statuses() throws {
        let decoded = Self.run(try Self.seeds(["getSignatureStatuses"]), seed: 205) { (result) throws(RPCError) in
            let statuses = try SolanaJSON.statuses(result, count: 3)
            #expect(statuses.count == 3)
            for case let status? in statuses { #expect(Self.bounded(status.slot)) }
        }
        #expect(decoded > Self.count / 20)
    }

    @Test("simulateTransaction and sendTransaction")
    func simulateAndSend() throws {
        var seeds = try Self.seeds(["simulateTransaction"])
        let signature = try #require(try Fixtures.json("solana", "getSignaturesForAddress")["result"]?.arrayValue?.first?["signature"])
        seeds.append(["jsonrpc": "2.0", "result": signature, "id": 1])
        let decoded = Self.run(seeds, seed: 206) { (result) throws(RPCError) in
            if case .string = result {
                _ = try SolanaJSON.signature(result, "sendTransaction")
            } else {
                _ = try SolanaJSON.simulation(result)
            }
        }
        #expect(decoded > Self.count / 20)
    }

    @Test("getTransaction (legacy, v0 with loaded addresses, inner instructions) and the token events read from it")
    func transactions() throws {
        let names = ["getTransaction_approve", "getTransaction_pull", "getTransaction_v0", "getTransaction_inner"]
        let seeds = try Self.seeds(names)
        // Each answer's own signature (the decoder checks the transaction is the one asked for).
        var signatures: [SolanaSignature] = []
        for seed in seeds {
            let wire = try #require(Data(base64Encoded: seed["result"]?["transaction"]?.arrayValue?.first?.stringValue ?? ""))
            signatures.append(try #require(try SolanaTransaction(wireBytes: Array(wire)).signatures.first))
            _ = try SolanaJSON.transaction(try #require(seed["result"]), signature: signatures.last!)  // the real answers decode
        }
        var decoded = 0
        var events = 0
        for (i, input) in JSONFuzzInputs(count: Self.count, seeds: seeds, seed: 207).enumerated() {
            guard let response = try? input.json(), let result = try? JSONRPCClient.result(of: response, id: 1) else { continue }
            // Asked for one of the four (not always the one the answer came from: a node answering another one).
            guard let transaction = try? SolanaJSON.transaction(result, signature: signatures[i % signatures.count]) else { continue }
            decoded += 1
            #expect(Self.bounded(transaction.slot) && Self.bounded(transaction.blockTime))
            for instruction in transaction.instructions {
                #expect(transaction.accountKeys.contains(instruction.programID))
                #expect(instruction.accounts.allSatisfy(transaction.accountKeys.contains))
            }
            events += TokenEvent.decode(transaction).count
        }
        #expect(decoded > Self.count / 50)
        #expect(events > 0)
    }
}
