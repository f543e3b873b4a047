import Solana
import Testing
import TestSupport

@Suite("On-curve check")
struct CurveTests {
    @Test("matches solders Pubkey.is_on_curve on random, real, PDA and edge values")
    func conformance() throws {
        let cases = try Vectors.load("solana_on_curve", as: [OnCurveCase].self)
        #expect(cases.count >= 3000)
        var mismatches: [String] = []
        for c in cases {
            let key = try SolanaPublicKey(bytes: [UInt8](hex: c.hex))
            if key.isOnCurve != c.on_curve { mismatches.append(c.hex) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test("edge values: y ≥ p reduces, sign bit with x = 0 is accepted, small-order points are on the curve")
    func edges() throws {
        func onCurve(_ hex: String) throws -> Bool { try SolanaPublicKey(bytes: [UInt8](hex: hex)).isOnCurve }
        // y = 1 (identity), with and without the sign bit: x = 0 either way.
        #expect(try onCurve("0100000000000000000000000000000000000000000000000000000000000000"))
        #expect(try onCurve("0100000000000000000000000000000000000000000000000000000000000080"))
        // y = p + 1 ≡ 1.
        #expect(try onCurve("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"))
        // y = −1 (order-2 point) and y = 0 (order-4 points): no subgroup check.
        #expect(try onCurve("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"))
        #expect(try onCurve("0000000000000000000000000000000000000000000000000000000000000000"))
        // y = 2 is not on the curve.
        #expect(try !onCurve("0200000000000000000000000000000000000000000000000000000000000000"))
    }
}
