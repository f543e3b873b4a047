import SettleCore
import Signing
import TestSupport
import Testing

struct Ed25519Vector: Decodable, Sendable {
    let seed: String
    let publicKey: String
    let message: String
    let signature: String
}

@Suite("ed25519 (libsodium) against RFC 8032 and PyNaCl")
struct Ed25519Tests {
    /// RFC 8032 §7.1, TEST 1–3 (published vectors).
    static let rfc8032: [(seed: String, publicKey: String, message: String, signature: String)] = [
        ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
         "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
         "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ]

    @Test("RFC 8032 test vectors", arguments: 0..<3)
    func rfc8032Vector(index: Int) throws {
        let vector = Self.rfc8032[index]
        let key = try Ed25519PrivateKey(seed: [UInt8](hex: vector.seed))
        #expect(key.publicKey.rawValue.hex == vector.publicKey)
        let signature = key.sign([UInt8](hex: vector.message))
        #expect(signature.rawValue.hex == vector.signature)
        #expect(key.publicKey.isValidSignature(signature, for: [UInt8](hex: vector.message)))
    }

    @Test("PyNaCl: public keys and signatures byte for byte")
    func pynacl() throws {
        let vectors = try Vectors.load("ed25519", as: [Ed25519Vector].self)
        #expect(vectors.count >= 1000)
        for vector in vectors {
            let key = try Ed25519PrivateKey(seed: [UInt8](hex: vector.seed))
            let message = [UInt8](hex: vector.message)
            #expect(key.publicKey.rawValue.hex == vector.publicKey)
            let signature = key.sign(message)
            #expect(signature.rawValue.hex == vector.signature, "seed \(vector.seed)")
            #expect(key.publicKey.isValidSignature(signature, for: message))
            var tampered = message
            tampered.append(0)
            #expect(!key.publicKey.isValidSignature(signature, for: tampered))
        }
    }

    @Test("a keypair whose public half is not its own is refused")
    func keypairMismatch() throws {
        var bytes = [UInt8](hex: Self.rfc8032[0].seed) + [UInt8](hex: Self.rfc8032[1].publicKey)
        #expect(throws: SigningError.self) { try Ed25519PrivateKey(keypairBytes: bytes) }
        bytes = [UInt8](hex: Self.rfc8032[0].seed) + [UInt8](hex: Self.rfc8032[0].publicKey)
        #expect(try Ed25519PrivateKey(keypairBytes: bytes).publicKey.rawValue.hex == Self.rfc8032[0].publicKey)
    }

    @Test("SHA-256 known answers")
    func sha256() {
        #expect(SHA256.hash([]).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
