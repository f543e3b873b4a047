import EVM
import SettleCore
import Testing
import TestSupport

@Suite("Keccak-256")
struct KeccakTests {
    @Test("published known answers")
    func knownAnswers() {
        #expect(keccak256([UInt8]()).hex == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
        #expect(keccak256(Array("abc".utf8)).hex == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")
    }

    @Test("matches eth_utils.keccak on 1,000+ random inputs, one-shot and incremental")
    func conformance() throws {
        let vectors = try Vectors.load("evm_keccak", as: [KeccakVector].self)
        #expect(vectors.count >= 1000)
        var rng = SeededGenerator(seed: 55)
        for vector in vectors {
            let input = [UInt8](hex: vector.input)
            #expect(keccak256(input).hex == vector.hash, "length \(input.count)")
            #expect(input.withUnsafeBytes { keccak256($0) }.hex == vector.hash)
            // Incremental, in random chunks that straddle block boundaries.
            var hasher = Keccak256()
            var rest = input[...]
            while !rest.isEmpty {
                let take = Int(rng.next() % 150) + 1
                hasher.update(rest.prefix(take))
                rest = rest.dropFirst(take)
            }
            #expect(hasher.finalize().hex == vector.hash, "incremental, length \(input.count)")
        }
    }

    @Test("non-contiguous sequences hash like arrays")
    func sequences() {
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 * 7) }
        #expect(Keccak256.hash(bytes.lazy.map { $0 }) == keccak256(bytes))
        #expect(Hash32.keccak(bytes).bytes32 == keccak256(bytes))
    }
}
