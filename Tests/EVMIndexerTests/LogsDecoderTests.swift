@testable import EVMIndexer
import EVM
import SettleCore
import TestSupport
import Testing
import Transport

@Suite("Streaming eth_getLogs decoder")
struct LogsDecoderTests {
    static let sample = #"""
    {"jsonrpc":"2.0","id":7,"result":[
      {"address":"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48","topics":["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef","0x0000000000000000000000001111111111111111111111111111111111111111","0x0000000000000000000000002222222222222222222222222222222222222222"],"data":"0x00000000000000000000000000000000000000000000000000000000017d7840","blockNumber":"0x10","transactionHash":"0x1111111111111111111111111111111111111111111111111111111111111111","transactionIndex":"0x0","blockHash":"0xabababababababababababababababababababababababababababababababab","logIndex":"0x3","removed":false,"blockTimestamp":"0x65"},
      {"removed":true,"logIndex":"0x4","blockHash":"0xABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB","extra":{"nested":[1,2,{"x":null}]},"blockNumber":"0x10","address":"0xA0B86991C6218B36C1D19D4A2E9EB0CE3606EB48","topics":[],"data":"0x","transactionHash":"0x2222222222222222222222222222222222222222222222222222222222222222"}
    ]}
    """#

    @Test("agrees with the general JSON decoder, whatever the member order, case or extra members")
    func agreesWithGeneralDecoder() throws {
        let body = Array(Self.sample.utf8)
        let fast = try LogsDecoder.decode(body, id: 7)
        let general = try (JSONRPCClient.result(of: JSONRPCClient.parse(body), id: 7).arrayValue ?? []).map { try NodeJSON.log($0) }
        #expect(fast == general)
        #expect(fast.count == 2)
        #expect(fast[0].blockTimestamp == 0x65)
        #expect(fast[1].removed)
        #expect(fast[0].value(asERC20: true) == 25_000_000)
    }

    @Test("a member given twice is malformed: the general decoder would read the first, this one the last", arguments: [
        #"{"jsonrpc":"2.0","id":7,"result":[],"result":[{}]}"#,
        #"{"jsonrpc":"2.0","id":7,"id":8,"result":[]}"#,
    ] + ["removed", "blockNumber", "logIndex", "blockHash", "blockTimestamp", "topics", "data", "address"].map { key in
        // The sample's first log with `key` repeated (its own value again) at the end.
        let body = Self.sample.replacingOccurrences(of: #""blockTimestamp":"0x65"}"#, with: #""blockTimestamp":"0x65","\#(key)":\#(Self.firstLogValue(key))}"#)
        return body
    })
    func duplicateMembers(body: String) throws {
        let error = #expect(throws: RPCError.self) { try LogsDecoder.decode(Array(body.utf8), id: 7) }
        guard case .malformedResponse? = error else { Issue.record("\(String(describing: error))"); return }
    }

    /// The JSON text of `key`'s value in the sample's first log.
    static func firstLogValue(_ key: String) -> String {
        let first = (try? JSON(parsing: sample))?["result"]?.arrayValue?.first
        return first?[key].map(\.text) ?? "null"
    }

    @Test("error responses, wrong ids and malformed logs are typed errors", arguments: [
        (#"{"jsonrpc":"2.0","id":7,"error":{"code":-32005,"message":"query returned more than 10000 results"}}"#, "server"),
        (#"{"jsonrpc":"2.0","id":8,"result":[]}"#, "malformed"),
        (#"{"jsonrpc":"2.0","id":7,"result":[{"address":"0x12"}]}"#, "malformed"),
        (#"{"jsonrpc":"2.0","id":7,"result":[{}]}"#, "malformed"),
        (#"{"jsonrpc":"2.0","id":7,"result":[1]}"#, "malformed"),
        (#"{"jsonrpc":"2.0","id":7}"#, "malformed"),
        (#"{"jsonrpc":"2.0","id":7,"result":[]} x"#, "malformed"),
    ])
    func failures(body: String, kind: String) {
        let error = #expect(throws: RPCError.self) { try LogsDecoder.decode(Array(body.utf8), id: 7) }
        switch (kind, error) {
        case ("server", .server(let code, _, _)?): #expect(code == -32005)
        case ("malformed", .malformedResponse?): break
        default: Issue.record("expected \(kind), got \(String(describing: error))")
        }
    }

    @Test("survives 100,000 random and mutated responses, and agrees with the general decoder when both accept")
    func fuzz() throws {
        let seed = Array(Self.sample.utf8)
        var accepted = 0
        for input in FuzzInputs(count: 100_000, seeds: [seed], maxLength: 400, seed: 77) {
            guard let fast = try? LogsDecoder.decode(input, id: 7) else { continue }
            accepted += 1
            let general = try? (JSONRPCClient.result(of: JSONRPCClient.parse(input), id: 7).arrayValue ?? []).map { try NodeJSON.log($0) }
            // The fast path may accept whitespace the general parser also accepts; both must then agree.
            if let general { #expect(general == fast) }
        }
        #expect(accepted > 0)
    }
}

extension EVMLog {
    /// The value word of an ERC-20 event log (test convenience).
    func value(asERC20: Bool) -> UInt256? {
        (try? ERC20Event(topics: topics, data: data))?.value
    }
}
