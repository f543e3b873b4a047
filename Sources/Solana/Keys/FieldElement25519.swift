/// An element of GF(2^255 − 19) in four little-endian 64-bit limbs, for the on-curve test of public keys.
///
/// Limbs hold any value below 2^256 (not necessarily reduced); operations keep results below 2^256 by folding
/// the carry with 2^256 ≡ 38 (mod p). `isZero`/`isOne` compare the canonical (fully reduced) value. Not
/// constant-time: it only ever sees public data (addresses).
struct FieldElement25519: Sendable {
    var l0: UInt64, l1: UInt64, l2: UInt64, l3: UInt64

    static let zero = FieldElement25519(l0: 0, l1: 0, l2: 0, l3: 0)
    static let one = FieldElement25519(l0: 1, l1: 0, l2: 0, l3: 0)
    /// Edwards d = −121665 / 121666.
    static let d = FieldElement25519(
        l0: 0x75eb_4dca_1359_78a3, l1: 0x0070_0a4d_4141_d8ab, l2: 0x8cc7_4079_7779_e898, l3: 0x5203_6cee_2b6f_fe73)
    /// p = 2^255 − 19.
    static let p = FieldElement25519(
        l0: 0xffff_ffff_ffff_ffed, l1: 0xffff_ffff_ffff_ffff, l2: 0xffff_ffff_ffff_ffff, l3: 0x7fff_ffff_ffff_ffff)

    init(l0: UInt64, l1: UInt64, l2: UInt64, l3: UInt64) {
        self.l0 = l0; self.l1 = l1; self.l2 = l2; self.l3 = l3
    }

    /// The 255 low bits of 32 little-endian bytes (the top bit is dropped, as curve25519-dalek's
    /// `FieldElement::from_bytes` does); values from p to 2^255 − 1 are kept and act as their residue.
    init(littleEndian bytes: UnsafeRawBufferPointer) {
        l0 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        l1 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        l2 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        l3 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)) & 0x7fff_ffff_ffff_ffff
    }

    /// Adds `value` to the limbs, folding a carry out of the top limb back in as 38.
    @inline(__always)
    private static func fold(_ r: inout FieldElement25519, _ value: UInt64) {
        var carry: Bool
        (r.l0, carry) = r.l0.addingReportingOverflow(value)
        if carry { (r.l1, carry) = r.l1.addingReportingOverflow(1) }
        if carry { (r.l2, carry) = r.l2.addingReportingOverflow(1) }
        if carry { (r.l3, carry) = r.l3.addingReportingOverflow(1) }
        // A carry out means every limb wrapped: l0 is now below `value`, so adding 38 cannot overflow.
        if carry { r.l0 &+= 38 }
    }

    static func + (a: FieldElement25519, b: FieldElement25519) -> FieldElement25519 {
        var r = zero
        var c1: Bool, c2: Bool
        (r.l0, c1) = a.l0.addingReportingOverflow(b.l0)
        (r.l1, c2) = a.l1.addingReportingOverflow(b.l1)
        if c1 { (r.l1, c1) = r.l1.addingReportingOverflow(1) }
        c1 = c1 || c2
        (r.l2, c2) = a.l2.addingReportingOverflow(b.l2)
        if c1 { (r.l2, c1) = r.l2.addingReportingOverflow(1) }
        c1 = c1 || c2
        (r.l3, c2) = a.l3.addingReportingOverflow(b.l3)
        if c1 { (r.l3, c1) = r.l3.addingReportingOverflow(1) }
        if c1 || c2 { fold(&r, 38) }
        return r
    }

    static func - (a: FieldElement25519, b: FieldElement25519) -> FieldElement25519 {
        var r = subtractWithBorrow(a, b)
        // A borrow means the limbs hold a − b + 2^256 ≡ a − b + 38: take 38 away (at most twice).
        if r.borrow {
            r = subtractWithBorrow(r.value, FieldElement25519(l0: 38, l1: 0, l2: 0, l3: 0))
            if r.borrow { r = subtractWithBorrow(r.value, FieldElement25519(l0: 38, l1: 0, l2: 0, l3: 0)) }
        }
        return r.value
    }

    private static func subtractWithBorrow(_ a: FieldElement25519, _ b: FieldElement25519)
        -> (value: FieldElement25519, borrow: Bool)
    {
        var r = zero
        var b1: Bool, b2: Bool
        (r.l0, b1) = a.l0.subtractingReportingOverflow(b.l0)
        (r.l1, b2) = a.l1.subtractingReportingOverflow(b.l1)
        if b1 { (r.l1, b1) = r.l1.subtractingReportingOverflow(1) }
        b1 = b1 || b2
        (r.l2, b2) = a.l2.subtractingReportingOverflow(b.l2)
        if b1 { (r.l2, b1) = r.l2.subtractingReportingOverflow(1) }
        b1 = b1 || b2
        (r.l3, b2) = a.l3.subtractingReportingOverflow(b.l3)
        if b1 { (r.l3, b1) = r.l3.subtractingReportingOverflow(1) }
        return (r, b1 || b2)
    }

    /// t + a·b + carry, returning the low word and leaving the high word in `carry` (never overflows).
    @inline(__always)
    private static func mac(_ t: UInt64, _ a: UInt64, _ b: UInt64, _ carry: inout UInt64) -> UInt64 {
        let (high, low) = a.multipliedFullWidth(by: b)
        let (s1, o1) = low.addingReportingOverflow(t)
        let (s2, o2) = s1.addingReportingOverflow(carry)
        carry = high &+ (o1 ? 1 : 0) &+ (o2 ? 1 : 0)
        return s2
    }

    static func * (a: FieldElement25519, b: FieldElement25519) -> FieldElement25519 {
        var c: UInt64 = 0
        let r0 = mac(0, a.l0, b.l0, &c)
        var r1 = mac(0, a.l0, b.l1, &c)
        var r2 = mac(0, a.l0, b.l2, &c)
        var r3 = mac(0, a.l0, b.l3, &c)
        var r4 = c
        c = 0
        r1 = mac(r1, a.l1, b.l0, &c)
        r2 = mac(r2, a.l1, b.l1, &c)
        r3 = mac(r3, a.l1, b.l2, &c)
        r4 = mac(r4, a.l1, b.l3, &c)
        var r5 = c
        c = 0
        r2 = mac(r2, a.l2, b.l0, &c)
        r3 = mac(r3, a.l2, b.l1, &c)
        r4 = mac(r4, a.l2, b.l2, &c)
        r5 = mac(r5, a.l2, b.l3, &c)
        var r6 = c
        c = 0
        r3 = mac(r3, a.l3, b.l0, &c)
        r4 = mac(r4, a.l3, b.l1, &c)
        r5 = mac(r5, a.l3, b.l2, &c)
        r6 = mac(r6, a.l3, b.l3, &c)
        let r7 = c
        // low + 38·high, then fold the small top word back in.
        c = 0
        var r = zero
        r.l0 = mac(r0, r4, 38, &c)
        r.l1 = mac(r1, r5, 38, &c)
        r.l2 = mac(r2, r6, 38, &c)
        r.l3 = mac(r3, r7, 38, &c)
        fold(&r, c &* 38)
        return r
    }

    /// self^(2^n).
    func squared(times n: Int) -> FieldElement25519 {
        var r = self
        for _ in 0..<n { r = r * r }
        return r
    }

    /// The canonical representative in 0..<p.
    var reduced: FieldElement25519 {
        var r = self
        for _ in 0..<2 {
            let (candidate, borrow) = Self.subtractWithBorrow(r, Self.p)
            if !borrow { r = candidate }
        }
        return r
    }

    /// True when the canonical value equals `other`'s canonical value.
    func isEqual(to other: FieldElement25519) -> Bool {
        let a = reduced, b = other.reduced
        return a.l0 == b.l0 && a.l1 == b.l1 && a.l2 == b.l2 && a.l3 == b.l3
    }

    /// self^((p − 1) / 2) = self^(2^254 − 10): 1 for a non-zero square, 0 for zero, p − 1 otherwise.
    var legendre: FieldElement25519 {
        let z2 = self * self
        let z8 = z2.squared(times: 2)
        let z9 = self * z8
        let z11 = z2 * z9
        let z_5_0 = z9 * (z11 * z11)                       // 2^5 − 1
        let z_10_0 = z_5_0.squared(times: 5) * z_5_0       // 2^10 − 1
        let z_20_0 = z_10_0.squared(times: 10) * z_10_0    // 2^20 − 1
        let z_40_0 = z_20_0.squared(times: 20) * z_20_0    // 2^40 − 1
        let z_50_0 = z_40_0.squared(times: 10) * z_10_0    // 2^50 − 1
        let z_100_0 = z_50_0.squared(times: 50) * z_50_0   // 2^100 − 1
        let z_200_0 = z_100_0.squared(times: 100) * z_100_0  // 2^200 − 1
        let z_250_0 = z_200_0.squared(times: 50) * z_50_0  // 2^250 − 1
        let z4 = z2 * z2
        return z_250_0.squared(times: 4) * (z4 * z2)       // 2^254 − 16 + 6
    }
}
