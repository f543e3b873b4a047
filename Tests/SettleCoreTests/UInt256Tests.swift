import SettleCore
import TestSupport
import Testing

struct UInt256Vector: Decodable, Sendable {
    let a: String
    let b: String
    let aHex: String
    let sum: String?
    let difference: String?
    let product: String?
    let productLow: String
    let quotient: String?
    let remainder: String?
    let aBytes: String
}

@Suite("UInt256 against Python integers")
struct UInt256Tests {
    @Test("arithmetic, overflow, decimal, hex and bytes")
    func vectors() throws {
        let vectors = try Vectors.load("uint256", as: [UInt256Vector].self)
        #expect(vectors.count >= 1000)
        for v in vectors {
            let a = try UInt256(decimal: v.a)
            let b = try UInt256(decimal: v.b)
            #expect(a.description == v.a)
            #expect(try UInt256(hex: v.aHex) == a)
            #expect(a.hexQuantity == v.aHex)
            #expect(a.bigEndianBytes.hex == v.aBytes)
            #expect(try UInt256(bigEndian: [UInt8](hex: v.aBytes)) == a)
            let sum = a.addingReportingOverflow(b)
            #expect(sum.overflow == (v.sum == nil))
            if let s = v.sum { #expect(sum.partialValue.description == s) }
            let difference = a.subtractingReportingOverflow(b)
            #expect(difference.overflow == (v.difference == nil))
            if let d = v.difference { #expect(difference.partialValue.description == d) }
            let product = a.multipliedReportingOverflow(by: b)
            #expect(product.overflow == (v.product == nil), "\(v.a) * \(v.b)")
            #expect(product.partialValue.description == v.productLow)
            if let q = v.quotient, let r = v.remainder {
                let qr = a.quotientAndRemainder(dividingBy: b)
                #expect(qr.quotient.description == q)
                #expect(qr.remainder.description == r)
                if let small = b.exactUInt64 {
                    let fast = a.quotientAndRemainder(dividingBy: small)
                    #expect(fast.quotient.description == q)
                    #expect(String(fast.remainder) == r)
                }
            }
        }
    }

    @Test("overflowing and malformed text is a typed error")
    func malformed() throws {
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        #expect((try? UInt256(decimal: max)) == UInt256.max)
        #expect(#expect(throws: CoreError.self) { try UInt256(decimal: max.dropLast() + "6") }?.code == .overflow)
        #expect(#expect(throws: CoreError.self) { try UInt256(decimal: max + "0") }?.code == .overflow)
        #expect(#expect(throws: CoreError.self) { try UInt256(decimal: "") }?.code == .invalidDecimal)
        #expect(#expect(throws: CoreError.self) { try UInt256(decimal: "-1") }?.code == .invalidDecimal)
        #expect(#expect(throws: CoreError.self) { try UInt256(decimal: "1e5") }?.code == .invalidDecimal)
        #expect(#expect(throws: CoreError.self) { try UInt256(hex: "0x1" + String(repeating: "0", count: 64)) }?.code == .overflow)
        #expect(#expect(throws: CoreError.self) { try UInt256(hex: "0x") }?.code == .invalidDecimal)
        #expect(#expect(throws: CoreError.self) { try UInt256(hex: "0xg") }?.code == .invalidHexCharacter)
        #expect(#expect(throws: CoreError.self) { try UInt256(bigEndian: [UInt8](repeating: 1, count: 33)) }?.code == .overflow)
        #expect(#expect(throws: CoreError.self) { try UInt256.powerOfTen(78) }?.code == .overflow)
        #expect(try UInt256.powerOfTen(77).description == "1" + String(repeating: "0", count: 77))
        #expect(#expect(throws: CoreError.self) { try UInt256.max.checkedAdding(.one) }?.code == .overflow)
        #expect(#expect(throws: CoreError.self) { try UInt256.zero.checkedSubtracting(.one) }?.code == .overflow)
    }

    @Test("Bytes32 orders lexicographically, as Solana sorts keys")
    func bytes32Order() throws {
        var rng = SeededGenerator(seed: 5)
        for _ in 0..<2000 {
            let a = rng.bytes(32), b = rng.bytes(32)
            #expect((try Bytes32(a) < Bytes32(b)) == a.lexicographicallyPrecedes(b))
        }
    }
}
