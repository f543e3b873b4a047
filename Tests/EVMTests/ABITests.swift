import EVM
import SettleCore
import Testing
import TestSupport

@Suite("ABI")
struct ABITests {
    @Test("encodes like eth_abi.encode and decodes like eth_abi.decode, on 1,000 random type tuples")
    func conformance() throws {
        let vectors = try Vectors.load("evm_abi", as: [ABIVector].self)
        #expect(vectors.count >= 1000)
        for vector in vectors {
            let types = try vector.types.map { try ABIType(parsing: $0) }
            #expect(types.map(\.description) == vector.types)
            let values = try zip(vector.values, types).map { try $0.abiValue($1) }
            let encoded = try ABI.encode(values, as: types)
            #expect(encoded.hex == vector.encoded, "\(vector.types)")
            #expect(try ABI.decode(types, from: [UInt8](hex: vector.encoded)) == values, "\(vector.types)")
        }
    }

    @Test("type names parse and print canonically")
    func typeNames() throws {
        #expect(try ABIType(parsing: "uint") == .uint256)
        #expect(try ABIType(parsing: "int").description == "int256")
        #expect(try ABIType(parsing: "(address,uint256)[2][]").description == "(address,uint256)[2][]")
        #expect(try ABIType.parseList("address,bytes32[],string") == [.address, .array(.bytes32), .string])
        #expect(try ABIType.parseList("") == [])
        for bad in ["uint7", "uint264", "uint0", "uint08", "bytes0", "bytes33", "int", "foo", "(uint256", "uint256[",
                    "uint256[x]", "address,", "(,)", "uint256 ", "bool8", "uint256[999999][999999][999999][999999]",
                    "uint256[1000000]"] where bad != "int" {
            #expect(throws: EVMError.self, "\(bad)") { try ABIType(parsing: bad) }
        }
        #expect { try ABIType(parsing: "uint7") } throws: { ($0 as? EVMError)?.code == .abiInvalidType }
    }

    @Test("encoding rejects values that do not fit their type")
    func encodingMismatch() {
        let cases: [(ABIValue, ABIType)] = [
            (.uint(UInt256(256 as UInt64)), .uint(bits: 8)),
            (.int(UInt256(128 as UInt64)), .int(bits: 8)),
            (.signed(-129), .int(bits: 8)),
            (.fixedBytes([1, 2, 3]), .fixedBytes(count: 4)),
            (.bool(true), .uint256),
            (.array([.uint(.one)]), .fixedArray(.uint256, count: 2)),
        ]
        for (value, type) in cases {
            #expect { try ABI.encode([value], as: [type]) } throws: { ($0 as? EVMError)?.code == .abiTypeMismatch }
        }
        #expect(throws: Never.self) { try ABI.encode([.signed(-128)], as: [.int(bits: 8)]) }
        #expect { try ABI.encode([], as: [.uint256]) } throws: { ($0 as? EVMError)?.code == .abiTypeMismatch }
        #expect { try ABI.encode([.uint(.one)], as: [.uint(bits: 7)]) } throws: {
            ($0 as? EVMError)?.code == .abiInvalidType
        }
    }

    /// A 32-byte word with `value` in its last byte(s).
    private func word(_ value: UInt64) -> [UInt8] {
        UInt256(value).bigEndianBytes
    }

    @Test("strict decoding: padding, bool, sign extension")
    func strictWords() {
        var dirtyAddress = word(1)
        dirtyAddress[0] = 1
        expect(.abiNonZeroPadding, [.address], dirtyAddress)
        expect(.abiNonZeroPadding, [.uint(bits: 8)], word(256))
        expect(.abiNonZeroPadding, [.int(bits: 8)], word(128))
        expect(.abiInvalidValue, [.bool], word(2))
        var dirtyBytes4 = word(0)
        dirtyBytes4[4] = 1
        expect(.abiNonZeroPadding, [.fixedBytes(count: 4)], dirtyBytes4)
        expect(.abiTruncated, [.uint256], [UInt8](repeating: 0, count: 31))
        expect(.abiTruncated, [.uint256, .uint256], word(1))
    }

    @Test("strict decoding: offsets and lengths")
    func strictOffsets() throws {
        // bytes: offset, length, data
        let valid = word(32) + word(3) + [1, 2, 3] + [UInt8](repeating: 0, count: 29)
        #expect(try ABI.decode([.bytes], from: valid) == [.bytes([1, 2, 3])])
        expect(.abiInvalidOffset, [.bytes], word(33) + Array(valid.dropFirst(32)))            // not aligned
        expect(.abiInvalidOffset, [.bytes], word(0) + Array(valid.dropFirst(32)))             // into the head
        expect(.abiInvalidOffset, [.bytes], word(96) + Array(valid.dropFirst(32)))            // past the data
        expect(.abiInvalidOffset, [.bytes], [UInt8](repeating: 0xff, count: 32) + Array(valid.dropFirst(32)))
        expect(.abiInvalidOffset, [.bytes], word(32) + word(100) + Array(valid.dropFirst(64))) // length too long
        expect(.abiTruncated, [.bytes], Array(valid.dropLast(1)))                              // padding cut
        var dirty = valid
        dirty[95] = 1
        expect(.abiNonZeroPadding, [.bytes], dirty)
        // string: invalid UTF-8
        let badText = word(32) + word(2) + [0xc3, 0x28] + [UInt8](repeating: 0, count: 30)
        expect(.abiInvalidUTF8, [.string], badText)
        // uint256[] declaring 2^40 elements
        expect(.abiInvalidOffset, [.array(.uint256)], word(32) + word(1 << 40) + word(0))
        expect(.abiTruncated, [.bytes], [])
        // uint256[][] whose three elements alias one inner array: more words decoded than the data holds.
        let aliased = word(32) + word(3) + word(96) + word(96) + word(96) + word(1) + word(7)
        expect(.abiInvalidOffset, [.array(.array(.uint256))], aliased)
        let distinct = word(32) + word(2) + word(64) + word(128) + word(1) + word(7) + word(1) + word(8)
        #expect(try ABI.decode([.array(.array(.uint256))], from: distinct)
            == [.array([.array([.uint(UInt256(7 as UInt64))]), .array([.uint(UInt256(8 as UInt64))])])])
    }

    private func expect(_ code: EVMError.Code, _ types: [ABIType], _ data: [UInt8],
                        sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) { try ABI.decode(types, from: data) } throws: { error in
            guard let error = error as? EVMError else { return false }
            if error.code != code { Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation) }
            return error.code == code
        }
    }
}
