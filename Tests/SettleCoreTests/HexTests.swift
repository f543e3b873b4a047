import SettleCore
import TestSupport
import Testing

@Suite("Hex")
struct HexTests {
    @Test("round trip and prefix handling")
    func roundTrip() throws {
        var rng = SeededGenerator(seed: 11)
        for length in 0..<200 {
            let bytes = rng.bytes(length)
            #expect(try Hex.decode(Hex.encode(bytes)) == bytes)
            #expect(try Hex.decode(Hex.encode(bytes, prefix: true)) == bytes)
            #expect(try Hex.decode(Hex.encode(bytes).uppercased()) == bytes)
        }
        #expect(Hex.encode([0x00, 0xab, 0xff], prefix: true) == "0x00abff")
    }

    @Test("every path writes the same digits: raw buffers, arrays, slices and sequences that are not contiguous")
    func paths() {
        var rng = SeededGenerator(seed: 12)
        for length in 0..<70 {
            let bytes = rng.bytes(length)
            // Written out byte by byte, the reference.
            let expected = bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
            for prefix in [false, true] {
                let want = (prefix ? "0x" : "") + expected
                #expect(Hex.encode(bytes, prefix: prefix) == want)
                #expect(bytes.withUnsafeBytes { Hex.encode($0, prefix: prefix) } == want)
                #expect(Hex.encode(([0xee] + bytes).dropFirst(), prefix: prefix) == want)
                #expect(Hex.encode(bytes.lazy.map { $0 }, prefix: prefix) == want)
            }
        }
    }

    @Test("malformed hex gets a typed error with the offset", arguments: [
        ("0x1", CoreError.Code.oddHexLength, nil), ("abc", .oddHexLength, nil),
        ("0xzz", .invalidHexCharacter, 2), ("12 4", .invalidHexCharacter, 2), ("0x0g", .invalidHexCharacter, 3),
        ("x0", .invalidHexCharacter, 0), ("０１", .invalidHexCharacter, 0),
    ] as [(String, CoreError.Code, Int?)])
    func malformed(input: String, code: CoreError.Code, offset: Int?) {
        let error = #expect(throws: CoreError.self) { try Hex.decode(input) }
        #expect(error?.code == code)
        if let offset { #expect(error?.offset == offset) }
    }

    @Test("fixed-length decoding refuses other lengths")
    func fixedLength() {
        #expect(throws: CoreError.self) { try Hex.decode("0x0011", count: 3) }
        #expect((try? Hex.decode("0x001122", count: 3)) == [0, 0x11, 0x22])
    }

    @Test("hex decoder survives 100,000 random and mutated inputs")
    func fuzz() {
        let seeds = [Array("0x00ff10ab".utf8), Array("deadbeef".utf8)]
        var ok = 0
        for input in FuzzInputs(count: 100_000, seeds: seeds, maxLength: 64, seed: 3) {
            let text = String(decoding: input, as: UTF8.self)
            if let bytes = try? Hex.decode(text) {
                ok += 1
                #expect((try? Hex.decode(Hex.encode(bytes))) == bytes)
            }
        }
        #expect(ok > 0)
    }
}
