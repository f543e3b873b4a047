import EVM
import SettleCore
import Testing
import TestSupport

@Suite("RLP")
struct RLPTests {
    @Test("encodes like pyrlp and decodes back, on 1,000+ random nested items")
    func conformance() throws {
        let vectors = try Vectors.load("evm_rlp", as: [RLPVector].self)
        #expect(vectors.count >= 1000)
        for vector in vectors {
            let item = try vector.item.rlpItem()
            let encoded = item.encoded()
            #expect(encoded.hex == vector.encoded)
            #expect(item.encodedLength == encoded.count)
            #expect(try RLPItem(decoding: [UInt8](hex: vector.encoded)) == item)
        }
    }

    @Test("integers are minimal big-endian")
    func integers() throws {
        #expect(RLPItem.uint(0 as UInt64).encoded() == [0x80])
        #expect(RLPItem.uint(0x7f as UInt64).encoded() == [0x7f])
        #expect(RLPItem.uint(0x80 as UInt64).encoded() == [0x81, 0x80])
        #expect(RLPItem.uint(UInt256.max).encoded().count == 33)
        #expect(try RLPItem(decoding: [0x82, 0x04, 0x00]).uint64Value() == 1024)
        #expect { try RLPItem(decoding: [0x82, 0x00, 0x04]).uint64Value() } throws: {
            ($0 as? EVMError)?.code == .rlpNonCanonical
        }
        #expect { try RLPItem.bytes([UInt8](repeating: 1, count: 33)).uint256Value() } throws: {
            ($0 as? EVMError)?.code == .rlpUnexpectedShape
        }
        #expect { try RLPItem.list([]).bytesValue() } throws: { ($0 as? EVMError)?.code == .rlpUnexpectedShape }
        #expect { try RLPItem.bytes([]).listValue() } throws: { ($0 as? EVMError)?.code == .rlpUnexpectedShape }
    }

    @Test("malformed, truncated and non-canonical input", arguments: [
        ("", EVMError.Code.rlpTruncated),
        ("81", .rlpTruncated),                      // string header, no payload
        ("83aabb", .rlpTruncated),                  // payload one byte short
        ("b8", .rlpTruncated),                      // long string, no length byte
        ("b90100", .rlpTruncated),                  // 256-byte string, no payload
        ("c3aabb", .rlpTruncated),                  // list payload runs past input
        ("8100", .rlpNonCanonical),                 // single byte below 0x80 wrapped
        ("817f", .rlpNonCanonical),
        ("b80100", .rlpNonCanonical),               // long form for length 1
        ("b837" + String(repeating: "00", count: 55), .rlpNonCanonical),  // long form for 55
        ("b90038" + String(repeating: "00", count: 56), .rlpNonCanonical), // leading zero in length
        ("f800", .rlpNonCanonical),                 // long list form for an empty list
        ("f90038" + String(repeating: "80", count: 56), .rlpNonCanonical),
        ("c38105c0", .rlpNonCanonical),             // error inside a list
        ("8080", .rlpTrailingBytes),
        ("c000", .rlpTrailingBytes),
        ("c2c3808080", .rlpOversizedLength),        // inner list runs past its parent
        ("c28281aa", .rlpOversizedLength),          // inner string runs past its parent
        ("bfffffffffffffffff", .rlpOversizedLength), // 2^64−1 bytes declared
        ("bb7fffffff", .rlpTruncated),              // 2^31−1 bytes declared, none present
        ("ff0100000000000000", .rlpOversizedLength),
    ])
    func malformed(hex: String, code: EVMError.Code) {
        #expect { try RLPItem(decoding: [UInt8](hex: hex)) } throws: { error in
            guard let error = error as? EVMError else { return false }
            if error.code != code { Issue.record("\(hex): got \(error)") }
            return error.code == code
        }
    }

    @Test("nesting is limited")
    func depthLimit() throws {
        var nested: [UInt8] = [0xc0]
        for _ in 0..<40 { nested = [0xc0 + UInt8(nested.count)] + nested }
        #expect { try RLPItem(decoding: nested) } throws: { ($0 as? EVMError)?.code == .rlpTooDeep }
        _ = try RLPItem(decoding: nested, maxDepth: 64)
        // 10,000 levels are rejected at the limit, without deep recursion.
        var reversed: [UInt8] = [0xc0]
        for _ in 0..<10_000 {
            let length = reversed.count
            if length < 56 {
                reversed.append(0xc0 + UInt8(length))
            } else {
                let lengthBytes = withUnsafeBytes(of: UInt64(length).bigEndian) { Array($0.drop { $0 == 0 }) }
                reversed.append(contentsOf: lengthBytes.reversed())
                reversed.append(0xf7 + UInt8(lengthBytes.count))
            }
        }
        let deep = Array(reversed.reversed())
        #expect { try RLPItem(decoding: deep) } throws: { ($0 as? EVMError)?.code == .rlpTooDeep }
    }
}
