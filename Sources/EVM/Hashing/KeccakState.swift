import SettleCore

/// The Keccak-f[1600] state: 25 little-endian 64-bit lanes stored inline, lane `x + 5y` at index `x + 5y`.
///
/// A homogeneous tuple is laid out contiguously, so the state can be read as 200 bytes in lane order.
@usableFromInline
struct KeccakState: Sendable {
    @usableFromInline
    var lanes: (
        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64
    ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    @usableFromInline
    init() {}

    /// The 24 round constants of ι.
    private static let roundConstants: [UInt64] = [
        0x0000_0000_0000_0001, 0x0000_0000_0000_8082, 0x8000_0000_0000_808A, 0x8000_0000_8000_8000,
        0x0000_0000_0000_808B, 0x0000_0000_8000_0001, 0x8000_0000_8000_8081, 0x8000_0000_0000_8009,
        0x0000_0000_0000_008A, 0x0000_0000_0000_0088, 0x0000_0000_8000_8009, 0x0000_0000_8000_000A,
        0x0000_0000_8000_808B, 0x8000_0000_0000_008B, 0x8000_0000_0000_8089, 0x8000_0000_0000_8003,
        0x8000_0000_0000_8002, 0x8000_0000_0000_0080, 0x0000_0000_0000_800A, 0x8000_0000_8000_000A,
        0x8000_0000_8000_8081, 0x8000_0000_0000_8080, 0x0000_0000_8000_0001, 0x8000_0000_8000_8008,
    ]


    /// XORs one 136-byte block (17 lanes, little-endian) into the rate and applies Keccak-f[1600].
    ///
    /// The caller guarantees `block` holds at least 136 bytes.
    @usableFromInline
    mutating func absorb(block: UnsafeRawBufferPointer) {
        precondition(block.count >= 136, "a Keccak-256 block is 136 bytes")
        @inline(__always) func lane(_ i: Int) -> UInt64 {
            UInt64(littleEndian: block.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self))
        }
        lanes.0 ^= lane(0); lanes.1 ^= lane(1); lanes.2 ^= lane(2); lanes.3 ^= lane(3)
        lanes.4 ^= lane(4); lanes.5 ^= lane(5); lanes.6 ^= lane(6); lanes.7 ^= lane(7)
        lanes.8 ^= lane(8); lanes.9 ^= lane(9); lanes.10 ^= lane(10); lanes.11 ^= lane(11)
        lanes.12 ^= lane(12); lanes.13 ^= lane(13); lanes.14 ^= lane(14); lanes.15 ^= lane(15)
        lanes.16 ^= lane(16)
        permute()
    }

    /// Keccak-f[1600]: 24 rounds (θ, ρ, π, χ, ι) over the lanes held in locals (no allocation, no indexing).
    @usableFromInline
    mutating func permute() {
        var (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12) =
            (lanes.0, lanes.1, lanes.2, lanes.3, lanes.4, lanes.5, lanes.6, lanes.7, lanes.8, lanes.9, lanes.10,
             lanes.11, lanes.12)
        var (a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24) =
            (lanes.13, lanes.14, lanes.15, lanes.16, lanes.17, lanes.18, lanes.19, lanes.20, lanes.21, lanes.22,
             lanes.23, lanes.24)
        @inline(__always) func rotl(_ value: UInt64, _ count: UInt64) -> UInt64 {
            value &<< count | value &>> (64 &- count)
        }
        // Rounds alternate between the lanes a… and e…: each output plane of five lanes is computed from five
        // rotated input lanes and written at once, which keeps few values live (fewer register spills).
        var e0: UInt64 = 0, e1: UInt64 = 0, e2: UInt64 = 0, e3: UInt64 = 0, e4: UInt64 = 0
        var e5: UInt64 = 0, e6: UInt64 = 0, e7: UInt64 = 0, e8: UInt64 = 0, e9: UInt64 = 0
        var e10: UInt64 = 0, e11: UInt64 = 0, e12: UInt64 = 0, e13: UInt64 = 0, e14: UInt64 = 0
        var e15: UInt64 = 0, e16: UInt64 = 0, e17: UInt64 = 0, e18: UInt64 = 0, e19: UInt64 = 0
        var e20: UInt64 = 0, e21: UInt64 = 0, e22: UInt64 = 0, e23: UInt64 = 0, e24: UInt64 = 0
        for round in stride(from: 0, to: 24, by: 2) {
            do {
                let c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20
                let c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21
                let c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22
                let c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23
                let c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24
                let d0 = c4 ^ rotl(c1, 1)
                let d1 = c0 ^ rotl(c2, 1)
                let d2 = c1 ^ rotl(c3, 1)
                let d3 = c2 ^ rotl(c4, 1)
                let d4 = c3 ^ rotl(c0, 1)
                let b0_0 = a0 ^ d0
                let b1_0 = rotl((a6 ^ d1), 44)
                let b2_0 = rotl((a12 ^ d2), 43)
                let b3_0 = rotl((a18 ^ d3), 21)
                let b4_0 = rotl((a24 ^ d4), 14)
                e0 = b0_0 ^ (~b1_0 & b2_0)
                e1 = b1_0 ^ (~b2_0 & b3_0)
                e2 = b2_0 ^ (~b3_0 & b4_0)
                e3 = b3_0 ^ (~b4_0 & b0_0)
                e4 = b4_0 ^ (~b0_0 & b1_0)
                let b0_1 = rotl((a3 ^ d3), 28)
                let b1_1 = rotl((a9 ^ d4), 20)
                let b2_1 = rotl((a10 ^ d0), 3)
                let b3_1 = rotl((a16 ^ d1), 45)
                let b4_1 = rotl((a22 ^ d2), 61)
                e5 = b0_1 ^ (~b1_1 & b2_1)
                e6 = b1_1 ^ (~b2_1 & b3_1)
                e7 = b2_1 ^ (~b3_1 & b4_1)
                e8 = b3_1 ^ (~b4_1 & b0_1)
                e9 = b4_1 ^ (~b0_1 & b1_1)
                let b0_2 = rotl((a1 ^ d1), 1)
                let b1_2 = rotl((a7 ^ d2), 6)
                let b2_2 = rotl((a13 ^ d3), 25)
                let b3_2 = rotl((a19 ^ d4), 8)
                let b4_2 = rotl((a20 ^ d0), 18)
                e10 = b0_2 ^ (~b1_2 & b2_2)
                e11 = b1_2 ^ (~b2_2 & b3_2)
                e12 = b2_2 ^ (~b3_2 & b4_2)
                e13 = b3_2 ^ (~b4_2 & b0_2)
                e14 = b4_2 ^ (~b0_2 & b1_2)
                let b0_3 = rotl((a4 ^ d4), 27)
                let b1_3 = rotl((a5 ^ d0), 36)
                let b2_3 = rotl((a11 ^ d1), 10)
                let b3_3 = rotl((a17 ^ d2), 15)
                let b4_3 = rotl((a23 ^ d3), 56)
                e15 = b0_3 ^ (~b1_3 & b2_3)
                e16 = b1_3 ^ (~b2_3 & b3_3)
                e17 = b2_3 ^ (~b3_3 & b4_3)
                e18 = b3_3 ^ (~b4_3 & b0_3)
                e19 = b4_3 ^ (~b0_3 & b1_3)
                let b0_4 = rotl((a2 ^ d2), 62)
                let b1_4 = rotl((a8 ^ d3), 55)
                let b2_4 = rotl((a14 ^ d4), 39)
                let b3_4 = rotl((a15 ^ d0), 41)
                let b4_4 = rotl((a21 ^ d1), 2)
                e20 = b0_4 ^ (~b1_4 & b2_4)
                e21 = b1_4 ^ (~b2_4 & b3_4)
                e22 = b2_4 ^ (~b3_4 & b4_4)
                e23 = b3_4 ^ (~b4_4 & b0_4)
                e24 = b4_4 ^ (~b0_4 & b1_4)
                e0 ^= Self.roundConstants[round]
            }
            do {
                let c0 = e0 ^ e5 ^ e10 ^ e15 ^ e20
                let c1 = e1 ^ e6 ^ e11 ^ e16 ^ e21
                let c2 = e2 ^ e7 ^ e12 ^ e17 ^ e22
                let c3 = e3 ^ e8 ^ e13 ^ e18 ^ e23
                let c4 = e4 ^ e9 ^ e14 ^ e19 ^ e24
                let d0 = c4 ^ rotl(c1, 1)
                let d1 = c0 ^ rotl(c2, 1)
                let d2 = c1 ^ rotl(c3, 1)
                let d3 = c2 ^ rotl(c4, 1)
                let d4 = c3 ^ rotl(c0, 1)
                let b0_0 = e0 ^ d0
                let b1_0 = rotl((e6 ^ d1), 44)
                let b2_0 = rotl((e12 ^ d2), 43)
                let b3_0 = rotl((e18 ^ d3), 21)
                let b4_0 = rotl((e24 ^ d4), 14)
                a0 = b0_0 ^ (~b1_0 & b2_0)
                a1 = b1_0 ^ (~b2_0 & b3_0)
                a2 = b2_0 ^ (~b3_0 & b4_0)
                a3 = b3_0 ^ (~b4_0 & b0_0)
                a4 = b4_0 ^ (~b0_0 & b1_0)
                let b0_1 = rotl((e3 ^ d3), 28)
                let b1_1 = rotl((e9 ^ d4), 20)
                let b2_1 = rotl((e10 ^ d0), 3)
                let b3_1 = rotl((e16 ^ d1), 45)
                let b4_1 = rotl((e22 ^ d2), 61)
                a5 = b0_1 ^ (~b1_1 & b2_1)
                a6 = b1_1 ^ (~b2_1 & b3_1)
                a7 = b2_1 ^ (~b3_1 & b4_1)
                a8 = b3_1 ^ (~b4_1 & b0_1)
                a9 = b4_1 ^ (~b0_1 & b1_1)
                let b0_2 = rotl((e1 ^ d1), 1)
                let b1_2 = rotl((e7 ^ d2), 6)
                let b2_2 = rotl((e13 ^ d3), 25)
                let b3_2 = rotl((e19 ^ d4), 8)
                let b4_2 = rotl((e20 ^ d0), 18)
                a10 = b0_2 ^ (~b1_2 & b2_2)
                a11 = b1_2 ^ (~b2_2 & b3_2)
                a12 = b2_2 ^ (~b3_2 & b4_2)
                a13 = b3_2 ^ (~b4_2 & b0_2)
                a14 = b4_2 ^ (~b0_2 & b1_2)
                let b0_3 = rotl((e4 ^ d4), 27)
                let b1_3 = rotl((e5 ^ d0), 36)
                let b2_3 = rotl((e11 ^ d1), 10)
                let b3_3 = rotl((e17 ^ d2), 15)
                let b4_3 = rotl((e23 ^ d3), 56)
                a15 = b0_3 ^ (~b1_3 & b2_3)
                a16 = b1_3 ^ (~b2_3 & b3_3)
                a17 = b2_3 ^ (~b3_3 & b4_3)
                a18 = b3_3 ^ (~b4_3 & b0_3)
                a19 = b4_3 ^ (~b0_3 & b1_3)
                let b0_4 = rotl((e2 ^ d2), 62)
                let b1_4 = rotl((e8 ^ d3), 55)
                let b2_4 = rotl((e14 ^ d4), 39)
                let b3_4 = rotl((e15 ^ d0), 41)
                let b4_4 = rotl((e21 ^ d1), 2)
                a20 = b0_4 ^ (~b1_4 & b2_4)
                a21 = b1_4 ^ (~b2_4 & b3_4)
                a22 = b2_4 ^ (~b3_4 & b4_4)
                a23 = b3_4 ^ (~b4_4 & b0_4)
                a24 = b4_4 ^ (~b0_4 & b1_4)
                a0 ^= Self.roundConstants[round + 1]
            }
        }
        lanes = (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20,
                 a21, a22, a23, a24)
    }

    /// The first 32 bytes of the state (lanes 0...3, little-endian): the Keccak-256 digest after the last block.
    @usableFromInline
    var digest: Bytes32 {
        var out = Bytes32.zero
        out.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: lanes.0.littleEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: lanes.1.littleEndian, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: lanes.2.littleEndian, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: lanes.3.littleEndian, toByteOffset: 24, as: UInt64.self)
        }
        return out
    }
}
