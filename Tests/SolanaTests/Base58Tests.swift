import Solana
import Testing
import TestSupport

@Suite("Base58")
struct Base58Tests {
    @Test("encode and decode match the base58 library")
    func conformance() throws {
        let cases = try Vectors.load("solana_base58", as: [Base58Case].self)
        #expect(cases.count >= 1000)
        for c in cases {
            let bytes = [UInt8](hex: c.hex)
            #expect(Base58.encode(bytes) == c.base58, "\(c.hex)")
            #expect(try Base58.decode(c.base58) == bytes, "\(c.base58)")
        }
    }

    @Test("leading zero bytes are leading ones")
    func leadingZeros() throws {
        #expect(Base58.encode([]) == "")
        #expect(Base58.encode([0, 0, 0]) == "111")
        #expect(Base58.encode([0, 0, 1]) == "112")
        #expect(try Base58.decode("") == [])
        #expect(try Base58.decode("111") == [0, 0, 0])
        #expect(try Base58.decode("1112") == [0, 0, 0, 1])
        #expect(try Base58.decode("z") == [57])
        #expect(try Base58.decode("21") == [58])
    }

    @Test("characters outside the alphabet are refused with their offset",
          arguments: [("0abc", 0), ("abcO", 3), ("abIc", 2), ("ablc", 2), ("ab c", 2), ("abc\n", 3), ("11é", 2),
                      ("1+", 1)])
    func invalidCharacters(text: String, offset: Int) {
        #expect {
            try Base58.decode(text)
        } throws: { error in
            let error = error as? SolanaError
            return error?.code == .invalidBase58Character && error?.offset == offset
        }
    }
}
