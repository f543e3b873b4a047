import EVM
import SettleCore
import Testing
import TestSupport

@Suite("EVMAddress and Hash32")
struct AddressTests {
    @Test("EIP-55 matches eth_utils.to_checksum_address on 1,000 random addresses")
    func checksumConformance() throws {
        let vectors = try Vectors.load("evm_eip55", as: [EIP55Vector].self)
        #expect(vectors.count >= 1000)
        for vector in vectors {
            let address = try EVMAddress(bytes: [UInt8](hex: vector.lower))
            #expect(address.description == vector.checksum)
            #expect(try EVMAddress(hex: vector.checksum) == address)
            #expect(try EVMAddress(hex: vector.lower) == address)
            #expect(try EVMAddress(hex: "0x" + vector.lower.uppercased()) == address)
            #expect(address.lowercaseHex == vector.lower)
        }
    }

    @Test("from bytes: an array, a slice not starting at 0 and a non-contiguous collection give the same value; other counts throw")
    func fromBytes() throws {
        // The contiguous path copies at once; anything else goes byte by byte. Both must agree, for every layout.
        let source = (0..<40).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for (start, count) in [(0, 20), (7, 20), (20, 20), (0, 32), (5, 32), (8, 32)] {
            let array = Array(source[start..<(start + count)])
            let slice = source[start..<(start + count)]
            let reversedTwice = array.reversed().reversed()  // a ReversedCollection: no contiguous storage
            let lazy = array.lazy.map { $0 }
            #expect(lazy.withContiguousStorageIfAvailable { _ in true } == nil)
            if count == 20 {
                let expected = try EVMAddress(bytes: array)
                #expect(expected.bytes == array)
                #expect(try EVMAddress(bytes: slice) == expected)
                #expect(try EVMAddress(bytes: lazy) == expected)
                #expect(try EVMAddress(bytes: Array(reversedTwice)) == expected)
            } else {
                let expected = try Hash32(bytes: array)
                #expect(expected.bytes == array)
                #expect(try Hash32(bytes: slice) == expected)
                #expect(try Hash32(bytes: lazy) == expected)
                #expect(try Bytes32(slice).bytes == array)
                #expect(try Bytes32(lazy).bytes == array)
            }
        }
        for count in [0, 19, 21, 31, 33] {
            #expect(throws: EVMError.self) { try EVMAddress(bytes: source.prefix(count)) }
            #expect(throws: EVMError.self) { try Hash32(bytes: source.prefix(count)) }
            #expect(throws: CoreError.self) { try Bytes32(source.prefix(count)) }
        }
    }

    @Test("published EIP-55 examples")
    func published() throws {
        for text in ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                     "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"] {
            #expect(try EVMAddress(hex: text).description == text)
        }
    }

    @Test("a mixed-case address with one letter flipped fails the checksum")
    func badChecksum() {
        #expect(throws: EVMError.self) { try EVMAddress(hex: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD") }
        do {
            _ = try EVMAddress(hex: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD")
        } catch {
            #expect(error.code == .invalidChecksum)
            #expect(error.offset == 41)
        }
    }

    @Test("malformed address text", arguments: [
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA", EVMError.Code.invalidLength),
        ("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed00", .invalidLength),
        ("", .invalidLength),
        ("0x", .invalidLength),
        ("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg", .invalidHex),
        ("0x 5aaeb6053f3e94c9b9a09f33669435e7ef1beae", .invalidHex),
        ("5aaeb6053f3e94c9b9a09f33669435e7ef1beaé", .invalidHex),
    ])
    func malformed(text: String, code: EVMError.Code) {
        #expect { try EVMAddress(hex: text) } throws: { ($0 as? EVMError)?.code == code }
    }

    @Test("wrong byte counts")
    func wrongLength() {
        #expect { try EVMAddress(bytes: [UInt8](repeating: 1, count: 19)) } throws: {
            ($0 as? EVMError)?.code == .invalidLength
        }
        #expect { try Hash32(bytes: [UInt8](repeating: 1, count: 33)) } throws: {
            ($0 as? EVMError)?.code == .invalidLength
        }
        #expect { try Hash32(hex: "0x12") } throws: { ($0 as? EVMError)?.code == .invalidLength }
        #expect { try Hash32(hex: "0x123") } throws: { ($0 as? EVMError)?.code == .invalidHex }
        #expect { try Hash32(hex: String(repeating: "zz", count: 32)) } throws: {
            ($0 as? EVMError)?.code == .invalidHex && ($0 as? EVMError)?.offset == 0
        }
    }

    @Test("Hash32 round-trips hex and orders bytewise")
    func hash32() throws {
        let text = "0x" + String(repeating: "ab", count: 31) + "cd"
        let hash = try Hash32(hex: text)
        #expect(hash.description == text)
        #expect(Hash32.zero < hash)
        #expect(try EVMAddress(hex: "0x" + String(repeating: "00", count: 19) + "01") > EVMAddress.zero)
    }
}
