import Foundation
import SettleCore
import TestSupport
import Testing

@Suite("JSON parser")
struct JSONTests {
    @Test("parses RFC 8259 values exactly, including integers beyond Double")
    func parse() throws {
        let json = try JSON(parsing: #" {"a": [1, -2.5e3, true, false, null, "x\n\u00e9\ud83d\ude00"], "big": 18446744073709551615} "#)
        #expect(json["a"] == [1, .number("-2.5e3"), true, false, nil, "x\né😀"])
        #expect(json["big"]?.uint64Value == UInt64.max)
        #expect(try JSON(parsing: json.serialized) == json)
    }

    @Test("rejects malformed JSON with the offset", arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\x\"", "\"\u{01}\"", "[1] x", "tru", "\"\\ud800\"", "{\"a\":}", "+1", "NaN",
    ])
    func malformed(text: String) {
        let error = #expect(throws: CoreError.self) { try JSON(parsing: text) }
        #expect(error?.code == .invalidJSON)
    }

    @Test("deep nesting is refused, not recursed into")
    func depth() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: CoreError.self) { try JSON(parsing: deep) }
    }

    @Test("agrees with Foundation on valid input; survives 100,000 random and mutated inputs")
    func fuzz() throws {
        let seeds = [
            Array(#"{"jsonrpc":"2.0","id":1,"result":{"logs":[{"a":"0x1","b":[1,2,3]}],"n":null}}"#.utf8),
            Array(#"[{"id":1,"error":{"code":-32000,"message":"x\"y"}}, 1e10, "\u0041"]"#.utf8),
        ]
        var agreed = 0
        for input in FuzzInputs(count: 100_000, seeds: seeds, maxLength: 120, seed: 9) {
            let ours = try? JSON(parsing: input)
            let foundation = try? JSONSerialization.jsonObject(with: Data(input), options: [.fragmentsAllowed])
            if ours != nil && foundation != nil { agreed += 1 }
            if let ours { #expect(try JSON(parsing: ours.serialized) == ours) }
        }
        #expect(agreed > 100)
    }
}
