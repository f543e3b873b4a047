import SettleCore
import Signing
import TestSupport
import Testing

struct Secp256k1Vector: Decodable, Sendable {
    let privateKey: String
    let publicKey: String
    let compressed: String
    let digest: String
    let r: String
    let s: String
    let v: UInt8
}

@Suite("secp256k1 (libsecp256k1) against eth-keys")
struct Secp256k1Tests {
    @Test("public keys, RFC 6979 signatures, low-s and recovery byte for byte")
    func ethKeys() throws {
        let vectors = try Vectors.load("secp256k1_sign", as: [Secp256k1Vector].self)
        #expect(vectors.count >= 1000)
        for vector in vectors {
            let key = try Secp256k1PrivateKey(bytes: [UInt8](hex: vector.privateKey))
            #expect(key.publicKey.uncompressed.hex == vector.publicKey)
            #expect(key.publicKey.compressed.hex == vector.compressed)
            let digest = try Bytes32([UInt8](hex: vector.digest))
            let signature = key.signRecoverable(digest: digest)
            #expect(signature.r.hex == vector.r)
            #expect(signature.s.hex == vector.s)
            #expect(signature.recoveryID == vector.v)
            #expect(signature.isLowS)
            #expect(try signature.recoverPublicKey(digest: digest) == key.publicKey)
            let parsed = try Secp256k1PublicKey(bytes: [UInt8](hex: vector.compressed))
            #expect(parsed == key.publicKey)
        }
    }

    @Test("invalid private keys are refused", arguments: [
        String(repeating: "00", count: 32),
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",  // n
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "01",
    ])
    func invalidPrivateKey(hex: String) {
        #expect(throws: SigningError.self) { try Secp256k1PrivateKey(bytes: [UInt8](hex: hex)) }
    }

    @Test("out-of-range signatures are refused")
    func invalidSignature() throws {
        let n = try Bytes32([UInt8](hex: "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"))
        let one = try Bytes32([UInt8](repeating: 0, count: 31) + [1])
        #expect(throws: SigningError.self) { try RecoverableSignature(r: n, s: one, recoveryID: 0) }
        #expect(throws: SigningError.self) { try RecoverableSignature(r: one, s: .zero, recoveryID: 0) }
        #expect(throws: SigningError.self) { try RecoverableSignature(r: one, s: one, recoveryID: 2) }
    }

    @Test("a tampered digest recovers a different key")
    func tamperedDigest() throws {
        let key = Secp256k1PrivateKey.generate()
        let digest = try Bytes32([UInt8](repeating: 7, count: 32))
        let signature = key.signRecoverable(digest: digest)
        let other = try Bytes32([UInt8](repeating: 8, count: 32))
        #expect((try? signature.recoverPublicKey(digest: other)) != key.publicKey)
    }
}
