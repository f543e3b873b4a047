import Solana
import Testing
import TestSupport

@Suite("Compact-u16")
struct CompactU16Tests {
    @Test("encodings match solders' serialized lengths")
    func conformance() throws {
        let cases = try Vectors.load("solana_compact_u16", as: [CompactU16Case].self)
        #expect(cases.count >= 1000)
        for c in cases {
            let expected = [UInt8](hex: c.hex)
            #expect(CompactU16.encode(c.value) == expected, "\(c.value)")
            let decoded = try CompactU16.decode(expected)
            #expect(decoded.value == c.value && decoded.count == expected.count)
        }
    }

    @Test("every value 0...65535 round-trips in the fewest bytes")
    func allValues() throws {
        for value in 0...65535 {
            let bytes = CompactU16.encode(value)
            #expect(bytes.count == (value < 128 ? 1 : value < 16384 ? 2 : 3))
            #expect(bytes.count == CompactU16.encodedCount(value))
            let decoded = try CompactU16.decode(bytes + [0xaa])
            if decoded.value != value || decoded.count != bytes.count {
                Issue.record("value \(value) decoded as \(decoded)")
                return
            }
        }
    }

    @Test("non-minimal forms are refused", arguments: [[0x80, 0x00], [0xff, 0x00], [0x80, 0x80, 0x00], [0x81, 0x80, 0x00]])
    func nonMinimal(bytes: [UInt8]) {
        #expect { try CompactU16.decode(bytes) } throws: { ($0 as? SolanaError)?.code == .nonCanonicalCompactU16 }
    }

    @Test("values past 65535 and fourth bytes are refused",
          arguments: [[0xff, 0xff, 0x04], [0x80, 0x80, 0x04], [0xff, 0xff, 0x7f], [0xff, 0xff, 0x83, 0x01], [0x80, 0x80, 0x80, 0x01]])
    func overflow(bytes: [UInt8]) {
        #expect { try CompactU16.decode(bytes) } throws: { ($0 as? SolanaError)?.code == .compactU16Overflow }
    }

    @Test("truncated input is refused", arguments: [[], [0x80], [0xff, 0xff]])
    func truncated(bytes: [UInt8]) {
        #expect { try CompactU16.decode(bytes) } throws: { ($0 as? SolanaError)?.code == .truncated }
    }

    @Test("the largest value is ff ff 03")
    func maximum() throws {
        #expect(CompactU16.encode(65535) == [0xff, 0xff, 0x03])
        #expect(try CompactU16.decode([0xff, 0xff, 0x03]).value == 65535)
    }
}
