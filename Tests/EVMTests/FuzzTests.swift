import EVM
import SettleCore
import Testing
import TestSupport

/// Every decoder of outside input sees 100,000 random and mutated inputs and must only succeed or throw
/// `EVMError` (a trap fails the whole run).
@Suite("Fuzz")
struct FuzzTests {
    static let count = 100_000

    @Test("RLP decoding")
    func rlp() throws {
        let seeds = try Vectors.load("evm_rlp", as: [RLPVector].self).prefix(300).map { [UInt8](hex: $0.encoded) }
        var decoded = 0
        for input in FuzzInputs(count: Self.count, seeds: seeds, maxLength: 200, seed: 1) {
            if let item = try? RLPItem(decoding: input) {
                decoded += 1
                // Canonical: whatever decodes re-encodes to the same bytes.
                #expect(item.encoded() == input)
            }
        }
        #expect(decoded > 0)
    }

    @Test("ABI decoding of several type tuples")
    func abi() throws {
        let tuples: [[ABIType]] = [
            [.address, .uint256],
            [.address, .address, .uint256],
            [.bytes, .string],
            [.array(.uint256), .array(.address)],
            [.array(.string), .bool, .fixedBytes(count: 4)],
            [.array(.array(.uint256)), .int(bits: 64), .fixedArray(.string, count: 2)],
        ]
        var seeds: [[UInt8]] = try Vectors.load("evm_abi", as: [ABIVector].self).prefix(300).map {
            [UInt8](hex: $0.encoded)
        }
        seeds.append(try ABI.encode([.array([.string("hi"), .string("")]), .bool(true), .fixedBytes([1, 2, 3, 4])],
                                    as: tuples[4]))
        var decoded = 0
        for (i, input) in FuzzInputs(count: Self.count, seeds: seeds, maxLength: 400, seed: 2).enumerated() {
            let types = tuples[i % tuples.count]
            guard let values = try? ABI.decode(types, from: input) else { continue }
            decoded += 1
            // Whatever decodes strictly re-encodes canonically and decodes to the same values.
            let again = try ABI.encode(values, as: types)
            #expect(try ABI.decode(types, from: again) == values)
        }
        #expect(decoded > 0)
    }

    @Test("raw transaction decoding and sender recovery")
    func transactions() throws {
        var seeds = try Vectors.load("evm_eip1559_tx", as: [TransactionVector].self).prefix(150).map {
            [UInt8](hex: $0.raw)
        }
        seeds += try Vectors.load("evm_legacy_tx", as: [TransactionVector].self).prefix(150).map {
            [UInt8](hex: $0.raw)
        }
        var recovered = 0
        for input in FuzzInputs(count: Self.count, seeds: seeds, maxLength: 300, seed: 3) {
            guard let tx = try? SignedTransaction(raw: input) else { continue }
            #expect(tx.rawBytes == input)
            if (try? tx.recoverSender()) != nil { recovered += 1 }
        }
        #expect(recovered > 0)
    }

    @Test("address and hash parsing")
    func addresses() throws {
        let seeds = try Vectors.load("evm_eip55", as: [EIP55Vector].self).prefix(300).map { Array($0.checksum.utf8) }
        var parsed = 0
        for input in FuzzInputs(count: Self.count, seeds: seeds, maxLength: 60, seed: 4) {
            let text = String(decoding: input, as: UTF8.self)
            if let address = try? EVMAddress(hex: text) {
                parsed += 1
                #expect(try EVMAddress(hex: address.description) == address)
            }
            _ = try? Hash32(hex: text)
            _ = try? EVMAddress(bytes: input)
        }
        #expect(parsed > 0)
    }
}
