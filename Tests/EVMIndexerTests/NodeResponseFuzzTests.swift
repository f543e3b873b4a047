@testable import EVMIndexer
import EVM
import SettleCore
import TestSupport
import Testing
@testable import Transport

/// Issue 14: every decoder of an Ethereum node's JSON-RPC answers sees 100,000 random and mutated answers (seeds: the
/// devnet's real ones in `Tests/Fixtures/evm`, mutated by `JSONFuzzInputs`), through the client's own steps (parse,
/// the envelope's id, result or error, then the typed decoder). The only outcomes allowed are a value or an
/// `RPCError` (typed throws: nothing else can escape); a trap fails the whole run. What decodes must hold the
/// decoder's invariants: numbers Settle stores at most `NodeNumbers.maximum`, 32-byte words, at most 4 topics.
@Suite("Fuzz: EVM node answers")
struct NodeResponseFuzzTests {
    static let count = 100_000

    /// Seeds: the named fixtures (whole JSON-RPC responses, id 1).
    static func seeds(_ names: [String]) throws -> [JSON] {
        try names.map { try Fixtures.json("evm", $0) }
    }

    /// Feeds `count` inputs through parse → envelope (id 1) → `decode`; returns how many decoded.
    static func run(_ names: [String], seed: UInt64, _ decode: (JSON) throws(RPCError) -> Void) throws -> Int {
        var decoded = 0
        for input in JSONFuzzInputs(count: count, seeds: try seeds(names), seed: seed) {
            do throws(RPCError) {
                let response = switch input {
                case .tree(let json): json
                case .bytes(let bytes): try JSONRPCClient.parse(bytes)
                }
                try decode(try JSONRPCClient.result(of: response, id: 1))
                decoded += 1
            } catch {
                continue  // RPCError, by the types: the answer is refused with a reason
            }
        }
        return decoded
    }

    static func bounded(_ value: UInt64) -> Bool { value <= NodeNumbers.maximum }

    static func expectBounded(_ log: EVMLog) {
        #expect(bounded(log.blockNumber) && bounded(log.logIndex) && bounded(log.blockTimestamp ?? 0) && log.topics.count <= 4)
    }

    @Test("quantities: eth_blockNumber, eth_getTransactionCount (heights); eth_chainId, eth_estimateGas (64-bit)")
    func quantities() throws {
        let decoded = try Self.run(["eth_blockNumber", "eth_getTransactionCount", "eth_chainId", "eth_estimateGas"], seed: 101) { (result) throws(RPCError) in
            let text = result.stringValue ?? ""
            if let height = try? NodeJSON.height(result, "height") {
                #expect(Self.bounded(height))
                #expect((try? UInt256(hex: text)) == UInt256(height))  // exactly the number sent
            }
            let value = try NodeJSON.quantity(result, "quantity")
            #expect((try? UInt256(hex: text)) == UInt256(value))
        }
        #expect(decoded > Self.count / 20)
    }

    @Test("blocks: eth_getBlockByNumber / eth_getBlockByHash headers (or null)")
    func headers() throws {
        let decoded = try Self.run(["eth_getBlockByNumber", "eth_getBlockByHash", "eth_getBlockByNumber_full", "eth_getBlockByNumber_null"],
                                   seed: 102) { (result) throws(RPCError) in
            guard let header = try NodeJSON.optionalHeader(result) else { return }
            #expect(Self.bounded(header.number) && Self.bounded(header.timestamp))
            #expect(try NodeJSON.optionalHeader(result) == header)  // deterministic
        }
        #expect(decoded > Self.count / 20)
    }

    @Test("block bodies: transaction hashes, and the transaction at a nonce among full transactions")
    func blockBodies() throws {
        let full = try Fixtures.json("evm", "eth_getBlockByNumber_full")["result"]
        let first = full?["transactions"]?.arrayValue?.first
        let from = try EVMAddress(hex: first?["from"]?.stringValue ?? "")
        let nonce = UInt64((first?["nonce"]?.stringValue ?? "0x0").dropFirst(2), radix: 16) ?? 0
        #expect(try NodeJSON.transaction(from: from, nonce: nonce, inBlock: full ?? .null) != nil)  // the seed holds it
        let decoded = try Self.run(["eth_getBlockByNumber", "eth_getBlockByNumber_full", "eth_getBlockByNumber_null"], seed: 103) { (result) throws(RPCError) in
            if let hashes = try? NodeJSON.transactionHashes(inBlock: result) {
                #expect(hashes.count == result["transactions"]?.arrayValue?.count)
            }
            _ = try NodeJSON.transaction(from: from, nonce: nonce, inBlock: result)
        }
        #expect(decoded > Self.count / 20)
    }

    @Test("receipts: eth_getTransactionReceipt (or null) and eth_getBlockReceipts")
    func receipts() throws {
        let decoded = try Self.run(["eth_getTransactionReceipt", "eth_getTransactionReceipt_null", "eth_getBlockReceipts"], seed: 104) { (result) throws(RPCError) in
            let receipts: [EVMReceipt]
            if case .array = result { receipts = try NodeJSON.blockReceipts(result) ?? [] } else { receipts = try NodeJSON.optionalReceipt(result).map { [$0] } ?? [] }
            for receipt in receipts {
                #expect(Self.bounded(receipt.blockNumber) && Self.bounded(receipt.gasUsed))
                receipt.logs.forEach(Self.expectBounded)
            }
        }
        #expect(decoded > Self.count / 20)
    }

    /// `response` with its `result` array cut into answers of one element each (the same real elements, in smaller
    /// answers: a fuzz input costs what its size costs).
    static func split(_ response: JSON) -> [JSON] {
        guard case .object(let members) = response, let items = response["result"]?.arrayValue else { return [response] }
        return items.map { item in .object(members.map { $0.key == "result" ? (key: $0.key, value: .array([item])) : $0 }) }
    }

    @Test("logs: the streaming eth_getLogs decoder on the devnet's real answer, and the general one agreeing")
    func logs() throws {
        let seeds = Self.split(try Fixtures.json("evm", "eth_getLogs")) + [try Fixtures.json("evm", "eth_getLogs")]
        var decoded = 0
        for input in JSONFuzzInputs(count: Self.count, seeds: seeds, seed: 105) {
            let bytes = input.bytes
            guard let fast = try? LogsDecoder.decode(bytes, id: 1) else { continue }
            decoded += 1
            fast.forEach(Self.expectBounded)
            if let general = try? (JSONRPCClient.result(of: JSONRPCClient.parse(bytes), id: 1).arrayValue ?? []).map({ try NodeJSON.log($0) }) {
                #expect(general == fast)
            }
        }
        #expect(decoded > Self.count / 50)
    }

    @Test("eth_call results: hex data, and a 32-byte word for balanceOf / allowance")
    func calls() throws {
        let decoded = try Self.run(["eth_call"], seed: 106) { (result) throws(RPCError) in
            let data = try NodeJSON.data(result, "eth_call")
            if let word = try? EVMNode.word(data, "balanceOf") {
                #expect(data.count == 32 && word.bigEndianBytes == data)
            }
        }
        #expect(decoded > Self.count / 20)
    }

    @Test("batches: per-call results in call order, a missing answer an error of its own")
    func batches() throws {
        var decoded = 0
        // The devnet's batch answer to three calls (a block, an early block, one it does not have), cut to the first
        // and the last answer: each input costs what its size costs.
        let batch = try #require(try Fixtures.json("evm", "batch_eth_getBlockByNumber").arrayValue)
        let seed: JSON = .array([batch[0], batch[2]].map { answer in
            guard case .object(let members) = answer else { return answer }
            return .object(members.map { $0.key == "id" ? (key: "id", value: $0.value == 3 ? 2 : $0.value) : $0 })
        })
        for input in JSONFuzzInputs(count: Self.count, seeds: [seed], seed: 107) {
            guard let response = try? input.json(),
                  let results = try? JSONRPCClient.batchResults(of: response, firstID: 1, methods: ["a", "b"]) else { continue }
            decoded += 1
            #expect(results.count == 2)
            for result in results {
                if case .success(let json) = result, let header = try? NodeJSON.optionalHeader(json) {
                    #expect(Self.bounded(header.number) && Self.bounded(header.timestamp))
                }
            }
        }
        #expect(decoded > Self.count / 20)
    }

    @Test("errors: JSON-RPC error objects and the range a provider suggests in one")
    func errors() throws {
        var seeds = try Self.seeds(["eth_estimateGas_revert"])
        seeds.append(try JSON(parsing: #"{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"query returned more than 10000 results. Try with this block range [0x10, 0xffffffffffffffff]."}}"#))
        var servers = 0
        for input in JSONFuzzInputs(count: Self.count, seeds: seeds, seed: 108) {
            do throws(RPCError) {
                let response = switch input {
                case .tree(let json): json
                case .bytes(let bytes): try JSONRPCClient.parse(bytes)
                }
                _ = try JSONRPCClient.result(of: response, id: 1)
            } catch {
                if case .server = error { servers += 1 }
                if case .suggested(let from, let to) = LogRangeAdvice(error) { #expect(from <= to) }
            }
        }
        #expect(servers > Self.count / 20)
    }
}
